// Example client of "hello": calls it through its own sidecar's outbound listener, naming the service as the call's authority.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// `weft run` tells the app where its outbound listener is; the default is the sidecar's.
const outbound = new URL(process.env.WEFT_OUTBOUND ?? 'http://127.0.0.1:15001');
const calls = Number(process.env.CALLS ?? 6);
const { hello } = grpc.loadPackageDefinition(protoLoader.loadSync(new URL('./hello.proto', import.meta.url).pathname, { keepCase: true }));
const client = new hello.Greeter(outbound.host, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'hello' });

const sayHello = (name) =>
  new Promise((resolve, reject) => client.SayHello({ name }, { deadline: Date.now() + 5_000 }, (error, reply) => (error ? reject(error) : resolve(reply))));

// The service may not be known to the sidecar yet when this starts: UNAVAILABLE is retried for a while.
async function first() {
  for (let i = 0; ; i++) {
    try {
      return await sayHello('ada');
    } catch (error) {
      if (error.code !== grpc.status.UNAVAILABLE || i >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

console.log(JSON.stringify(await first()));
for (let i = 1; i < calls; i++) console.log(JSON.stringify(await sayHello('ada')));
await new Promise((resolve, reject) => {
  const stream = client.SayHellos({ name: 'bob', count: 3 });
  stream.on('data', (reply) => console.log(JSON.stringify(reply)));
  stream.on('end', resolve);
  stream.on('error', reject);
});
try {
  await sayHello('');
} catch (error) {
  console.log(JSON.stringify({ code: error.code, details: error.details }));
}
client.close();
