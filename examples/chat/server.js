// Example service "chat": a WebSocket chat room (the `ws` package) behind its sidecar; every message goes to everyone in the room.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3000);
const instance = process.env.INSTANCE ?? String(process.pid);

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', instance, members: room.clients.size }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'not found' }));
});

// The sidecar carries the upgrade and the frames unchanged; this server sees an ordinary WebSocket client.
const room = new WebSocketServer({ server, path: '/room' });
room.on('connection', (socket, req) => {
  const name = new URL(req.url ?? '/', 'http://chat').searchParams.get('name') ?? 'someone';
  socket.send(JSON.stringify({ from: 'chat', instance, text: `welcome, ${name}` }));
  socket.on('message', (data) => {
    const line = JSON.stringify({ from: name, instance, text: data.toString() });
    for (const member of room.clients) member.send(line);
  });
});

server.listen(port, '127.0.0.1', () => console.log(`chat ${instance} listening on 127.0.0.1:${port}`));

function stop() {
  // Members are told the room is closing (1001 going away), then the process exits.
  for (const member of room.clients) member.close(1001, 'chat is stopping');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
