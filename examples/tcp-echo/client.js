// Example client of "echo" over raw TCP: connects to a local port, waits for the greeting, sends its lines, shuts its side and prints everything until the server closes.
// Usage: node client.js [HOST:]PORT [LINE...]   (the port of the sidecar's upstream for echo, e.g. weft run --upstream echo:7100)
import net from 'node:net';

const [target = process.env.ECHO_ADDRESS ?? '127.0.0.1:7100', ...lines] = process.argv.slice(2);
const colon = target.lastIndexOf(':');
const host = colon > 0 ? target.slice(0, colon) : '127.0.0.1';
const port = Number(colon >= 0 ? target.slice(colon + 1) : target);
const words = lines.length > 0 ? lines : ['hello', 'tcp through the mesh'];

const socket = net.connect({ host, port, allowHalfOpen: true });
socket.setEncoding('utf8');
const timer = setTimeout(() => {
  console.error(`no complete answer from ${host}:${port} within 5 s`);
  process.exit(1);
}, 5_000);
let greeted = false;
socket.on('data', (text) => {
  process.stdout.write(text);
  if (greeted) return;
  // Nothing is sent before the greeting: the server speaks first.
  greeted = true;
  socket.end(words.map((line) => `${line}\n`).join(''));
});
socket.on('end', () => {
  clearTimeout(timer);
  process.exit(greeted ? 0 : 1);
});
socket.on('error', (error) => {
  console.error(`echo at ${host}:${port}: ${error.message}`);
  process.exit(1);
});
