// Example service "frontend": answers GET / by calling greeter through the sidecar's outbound listener.
import { Agent, createServer, request } from 'node:http';

const port = Number(process.env.PORT ?? 8081);
const outbound = new URL(process.env.WEFT_OUTBOUND ?? 'http://127.0.0.1:15001');
const name = process.env.INSTANCE ?? `frontend-${process.pid}`;

// One pool of connections to the sidecar, reused across requests.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

// The trace context of the request being served; copied onto the calls it makes, so the sidecars' spans join one trace.
const TRACE_HEADERS = ['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags'];

function traceHeadersOf(incoming) {
  const headers = {};
  for (const name of TRACE_HEADERS) if (incoming[name] !== undefined) headers[name] = incoming[name];
  return headers;
}

/** GET a path of the greeter service on behalf of a request; the sidecar picks the instance from the Host header. */
function callGreeter(path, incoming) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: outbound.hostname, port: outbound.port, path, method: 'GET', agent, headers: { host: 'greeter', ...traceHeadersOf(incoming) }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('error', reject);
        res.on('end', () => {
          let parsed;
          try {
            parsed = JSON.parse(body);
          } catch {
            parsed = { body };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('greeter did not answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

function reply(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') return reply(res, 200, { status: 'ok' });
  if (req.method !== 'GET' || url.pathname !== '/') return reply(res, 404, { error: 'not found', path: url.pathname });

  const who = url.searchParams.get('name') ?? 'world';
  try {
    const greeter = await callGreeter(`/hello?name=${encodeURIComponent(who)}`, req.headers);
    if (greeter.status !== 200) return reply(res, 502, { frontend: name, error: 'greeter failed', status: greeter.status, greeter: greeter.body });
    reply(res, 200, { frontend: name, greeter: greeter.body });
  } catch (error) {
    reply(res, 502, { frontend: name, error: 'greeter unreachable', message: error.message, code: error.code });
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`frontend ${name} listening on http://127.0.0.1:${port} (greeter via ${outbound.origin})`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    agent.destroy();
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
