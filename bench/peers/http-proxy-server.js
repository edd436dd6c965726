// Bench peer process: a reverse proxy built on the http-proxy package, the common Node.js baseline.
// Plain JavaScript run by plain `node`, like weft's compiled dist/, so no loader sits in the process.
// usage: node bench/peers/http-proxy-server.js <listen port> <upstream port>
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(upstreamPort)) {
  process.stderr.write('usage: http-proxy-server.js <listen port> <upstream port>\n');
  process.exit(2);
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent });
proxy.on('error', (error, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
  res.end(`proxy error: ${error.message}\n`);
});

const server = createServer((req, res) => proxy.web(req, res));
server.listen(listenPort, '127.0.0.1');

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  agent.destroy();
});
