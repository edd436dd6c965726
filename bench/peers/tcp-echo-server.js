// Bench peer process: the tcp bench's upstream, writing every byte it reads back on the same connection (plain `node`, no loader in the measured process); usage: node tcp-echo-server.js <listen port>
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: tcp-echo-server.js <listen port>\n');
  process.exit(2);
}

const sockets = new Set();
const server = createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.on('data', (chunk) => {
    // A client that stops reading holds its own echo back, not the server's memory.
    if (!socket.write(chunk)) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
});
server.listen({ port, host: '127.0.0.1', backlog: 4096 });

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  for (const socket of sockets) socket.destroy();
});
