// Runs the test OTLP receiver (tests/otlp/receiver.mjs) in a container, on
// the ports of Jaeger's all-in-one image:
//
//   4318   OTLP/HTTP, where Jaeger's collector listens;
//   16686  the receiver's query endpoints (GET /spans and the others),
//          where Jaeger serves its UI;
//   14269  GET / returns 200 once the receiver listens and 503 before, as
//          Jaeger's admin port does for health checks.
//
// The receiver listens on 127.0.0.1 only, so 4318 and 16686 forward each
// TCP connection to it. SIGTERM and SIGINT are passed on to the receiver,
// and this process exits when the receiver does.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RECEIVER_PORT = 4319;
const FORWARDED_PORTS = [4318, 16686];
const HEALTH_PORT = 14269;

const folder = path.dirname(fileURLToPath(import.meta.url));
const receiver = spawn(process.execPath, [path.join(folder, 'otlp', 'receiver.mjs'), '--port', String(RECEIVER_PORT)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

let ready = false;
let firstOutput = '';
receiver.stdout.setEncoding('utf8');
receiver.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (!ready) {
    firstOutput += chunk;
    ready = firstOutput.includes(`listening on 127.0.0.1:${RECEIVER_PORT}`);
  }
});
receiver.on('exit', (code, signal) => {
  console.log(`receiver exited with ${signal ?? code}`);
  process.exit(code ?? 1);
});

for (const port of FORWARDED_PORTS) {
  net
    .createServer((client) => {
      const upstream = net.connect(RECEIVER_PORT, '127.0.0.1');
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    })
    .listen(port, '0.0.0.0');
}

http
  .createServer((request, response) => {
    if (new URL(request.url, 'http://localhost').pathname !== '/') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"error":"not found"}');
      return;
    }
    response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: ready ? 'Server available' : 'Server not available' }));
  })
  .listen(HEALTH_PORT, '0.0.0.0');

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => receiver.kill(signal));
}
