// Example service "greeter": says hello as JSON, tells which instance answered, and closes gracefully on SIGTERM.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const instance = process.env.INSTANCE ?? String(process.pid);
// Knobs for trying the mesh's resilience features; unset, greeter behaves as a plain healthy service.
const version = process.env.VERSION;
const delayMs = Number(process.env.DELAY_MS ?? 0);
const failStatus = Number(process.env.FAIL_STATUS ?? 0);

let hits = 0;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') {
    return reply(res, 200, { status: 'ok', instance });
  }
  if (req.method === 'GET' && url.pathname === '/stats') {
    return reply(res, 200, { instance, hits });
  }
  if (req.method === 'GET' && url.pathname === '/hello') {
    hits++;
    const name = url.searchParams.get('name') ?? 'world';
    const answer = () => {
      if (failStatus > 0) return reply(res, failStatus, { error: 'failing on purpose (FAIL_STATUS)', instance });
      const body = { message: `hello, ${name}`, instance, port };
      reply(res, 200, version === undefined ? body : { ...body, version });
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
    return;
  }
  reply(res, 404, { error: 'not found', path: url.pathname });
});

function reply(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

server.listen(port, '127.0.0.1', () => {
  console.log(`greeter ${instance} listening on http://127.0.0.1:${port}`);
});

// Finish the requests in flight, then exit; idle keep-alive connections would otherwise hold close() open.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`greeter ${instance} closing on ${signal}`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
