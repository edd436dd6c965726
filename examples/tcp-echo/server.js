// Example service "echo" over raw TCP: greets first (as SMTP, MySQL or Redis replicas do), then echoes every line back in capitals until the client shuts its side.
import net from 'node:net';

const port = Number(process.env.PORT ?? 7000);
const instance = process.env.INSTANCE ?? String(process.pid);
const sockets = new Set();

// allowHalfOpen: a client that shuts its side after its last line still reads the answers and the goodbye.
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
  socket.setEncoding('utf8');
  // The server speaks first: a client may wait for this line before it sends anything.
  socket.write(`hello from echo ${instance}\n`);
  let pending = '';
  let lines = 0;
  socket.on('data', (text) => {
    pending += text;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
      lines++;
      socket.write(`${pending.slice(0, newline).toUpperCase()}\n`);
      pending = pending.slice(newline + 1);
    }
  });
  socket.on('end', () => socket.end(`bye after ${lines} line(s) from echo ${instance}\n`));
});

server.listen(port, '127.0.0.1', () => console.log(`echo ${instance} listening on 127.0.0.1:${port}`));

function stop() {
  // Open connections get a FIN; the process exits once they are closed, or after 2 s.
  server.close(() => process.exit(0));
  for (const socket of sockets) socket.end();
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
