// Example service "greeter": says hello as JSON, tells which instance answered, and closes gracefully on SIGTERM.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const instance = process.env.INSTANCE ?? String(process.pid);

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') {
    return reply(res, 200, { status: 'ok', instance });
  }
  if (req.method === 'GET' && url.pathname === '/hello') {
    const name = url.searchParams.get('name') ?? 'world';
    return reply(res, 200, { message: `hello, ${name}`, instance, port });
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
