// Example service "hello": a gRPC greeter (@grpc/grpc-js) with the standard health service, behind its sidecar.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const port = Number(process.env.PORT ?? 50051);
const instance = process.env.INSTANCE ?? String(process.pid);
const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(new URL(file, import.meta.url).pathname, { keepCase: true, enums: String }));
const hello = load('./hello.proto').hello;
const health = load('./health.proto').grpc.health.v1;

const server = new grpc.Server();
server.addService(hello.Greeter.service, {
  SayHello: (call, callback) => {
    if (!call.request.name) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'a name is needed' });
      return;
    }
    callback(null, { message: `hello, ${call.request.name}`, instance });
  },
  SayHellos: (call) => {
    const count = Math.min(Math.max(call.request.count, 1), 100);
    for (let i = 1; i <= count; i++) call.write({ message: `hello #${i}, ${call.request.name}`, instance });
    call.end();
  },
});
// The whole server ('') and the greeter serve; anything else is unknown, as the health protocol says.
server.addService(health.Health.service, {
  Check: (call, callback) => {
    // An empty request (the whole server) decodes without the field.
    const service = call.request.service ?? '';
    if (service === '' || service === 'hello.Greeter') callback(null, { status: 'SERVING' });
    else callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
  },
});

server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  console.log(`hello ${instance} serving gRPC on 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
