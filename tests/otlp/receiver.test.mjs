// Self-test of the OTLP receiver and the interop client:
//   node --test tests/otlp/
// Starts receiver.mjs on a free port of 127.0.0.1 and sends it bodies made
// by the official OpenTelemetry JS serializers and by hand.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { after, before, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { ExportTraceServiceRequest } from './schema.mjs';

const RECEIVER = fileURLToPath(new URL('./receiver.mjs', import.meta.url));
const INTEROP_CLIENT = fileURLToPath(new URL('./interop_client.mjs', import.meta.url));
const execFileAsync = promisify(execFile);

const REMOTE_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const REMOTE_SPAN_ID = '00f067aa0ba902b7';

let receiver;
let baseUrl;

// Starts the receiver with --port 0 and reads the port from its first line.
// The receiver exits when this process ends and its stdin pipe closes.
async function startReceiver() {
  const child = spawn(process.execPath, [RECEIVER, '--port', '0', '--exit-with-stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const firstLine = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`receiver exited with code ${code} before listening`)));
  });
  const match = /^listening on 127\.0\.0\.1:(\d+)$/.exec(firstLine);
  assert.ok(match, `unexpected first receiver line: ${firstLine}`);
  // Keep reading so that the receiver never blocks on a full pipe.
  lines.on('line', () => {});
  return { child, url: `http://127.0.0.1:${match[1]}` };
}

before(async () => {
  receiver = await startReceiver();
  baseUrl = receiver.url;
});

after(() => {
  receiver.child.kill('SIGTERM');
});

beforeEach(async () => {
  await setMode({ mode: 'ok' });
  const response = await fetch(`${baseUrl}/spans`, { method: 'DELETE' });
  assert.equal(response.status, 200);
});

async function setMode(mode) {
  const response = await fetch(`${baseUrl}/mode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(mode),
  });
  return { status: response.status, body: await response.json() };
}

async function postExport(body, contentType = 'application/json', headers = {}) {
  const response = await fetch(`${baseUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body,
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes };
}

async function getJson(path) {
  const response = await fetch(`${baseUrl}${path}`);
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

// Records spans with the official SDK: a SERVER span under a remote parent
// with a tracestate, and an INTERNAL child with an event and an error
// status. Times are fixed so that the expected nanoseconds are exact.
function recordSdkSpans(serverAttributes) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'receiver-self-test' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('self-test-scope', '2.3.4');
  const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: REMOTE_TRACE_ID,
    spanId: REMOTE_SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('todo=1'),
  });

  const server = tracer.startSpan('GET /todos', {
    kind: SpanKind.SERVER,
    startTime: [1700000000, 123456789],
    attributes: serverAttributes,
  }, remoteParent);
  const child = tracer.startSpan('load todos', {
    kind: SpanKind.INTERNAL,
    startTime: [1700000000, 200000000],
  }, trace.setSpan(remoteParent, server));
  child.addEvent('cache.miss', { 'cache.key': 'todos:1' }, [1700000000, 250000000]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'database timeout' });
  child.end([1700000000, 300000000]);
  server.end([1700000000, 400000001]);

  return { spans: exporter.getFinishedSpans(), server, child };
}

// A valid hand-made body with two spans, for the rejection cases to break.
function validBody() {
  const span = (spanId, parentSpanId, name) => ({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId,
    parentSpanId,
    name,
    kind: 2,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000100000000',
    attributes: [
      { key: 'http.request.method', value: { stringValue: 'GET' } },
      { key: 'http.response.status_code', value: { intValue: '200' } },
    ],
    status: { code: 0 },
  });
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'todo' } }] },
      scopeSpans: [{
        scope: { name: 'todo', version: '0.1.0' },
        spans: [
          span('b7ad6b7169203331', '', 'GET /todos'),
          span('c8be7c827a314442', 'b7ad6b7169203331', 'SELECT todos'),
        ],
      }],
    }],
  };
}

const SPAN_1 = 'resourceSpans[0].scopeSpans[0].spans[1]';

test('SDK JSON body is accepted', async () => {
  const { spans, server, child } = recordSdkSpans({
    'http.request.method': 'GET',
    'http.route': '/todos',
    'server.duration.ratio': 0.25,
    'todo.cached': false,
  });
  const body = JsonTraceSerializer.serializeRequest(spans);

  const response = await postExport(body);
  assert.equal(response.status, 200, response.bytes.toString());
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(response.bytes.toString()), {});

  const received = await getJson(`/spans?traceId=${REMOTE_TRACE_ID}`);
  assert.equal(received.length, 2);
  const serverSpan = received.find((span) => span.name === 'GET /todos');
  const childSpan = received.find((span) => span.name === 'load todos');
  assert.ok(serverSpan, 'server span missing');
  assert.ok(childSpan, 'child span missing');

  assert.equal(serverSpan.traceId, REMOTE_TRACE_ID);
  assert.equal(serverSpan.spanId, server.spanContext().spanId);
  assert.equal(serverSpan.parentSpanId, REMOTE_SPAN_ID);
  assert.equal(serverSpan.kind, 2);
  assert.equal(serverSpan.startTimeUnixNano, '1700000000123456789');
  assert.equal(serverSpan.endTimeUnixNano, '1700000000400000001');
  assert.deepEqual(serverSpan.attributes, {
    'http.request.method': 'GET',
    'http.route': '/todos',
    'server.duration.ratio': 0.25,
    'todo.cached': false,
  });
  assert.equal(serverSpan.traceState, 'todo=1');
  assert.deepEqual(serverSpan.status, { code: 0, message: '' });
  assert.deepEqual(serverSpan.resource, { 'service.name': 'receiver-self-test' });
  assert.deepEqual(serverSpan.scope, { name: 'self-test-scope', version: '2.3.4' });

  assert.equal(childSpan.spanId, child.spanContext().spanId);
  assert.equal(childSpan.parentSpanId, serverSpan.spanId);
  assert.equal(childSpan.kind, 1);
  assert.deepEqual(childSpan.events, [
    { name: 'cache.miss', timeUnixNano: '1700000000250000000', attributes: { 'cache.key': 'todos:1' } },
  ]);
  assert.deepEqual(childSpan.status, { code: 2, message: 'database timeout' });

  assert.deepEqual(await getJson('/errors'), []);
  assert.deepEqual(await getJson('/stats'), { requests: 1, byStatus: { 200: 1 }, spans: 2 });
});

test('SDK JSON integer attribute is rejected', async () => {
  // The JS serializer writes intValue as a JSON number. The OTLP
  // specification lets receivers accept that, but this receiver checks our
  // encoder, which must write the decimal string.
  const { spans } = recordSdkSpans({ 'http.response.status_code': 200 });
  const response = await postExport(JsonTraceSerializer.serializeRequest(spans));

  assert.equal(response.status, 400);
  const { error } = JSON.parse(response.bytes.toString());
  assert.match(error, /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[\d\]\.attributes\[0\]\.value\.intValue: invalid int64 value number 200: /);
  assert.deepEqual(await getJson('/spans'), []);
});

test('SDK protobuf body is accepted', async () => {
  const { spans, server } = recordSdkSpans({ 'http.response.status_code': 200 });
  const response = await postExport(ProtobufTraceSerializer.serializeRequest(spans), 'application/x-protobuf');

  assert.equal(response.status, 200, response.bytes.toString());
  assert.equal(response.headers.get('content-type'), 'application/x-protobuf');
  assert.equal(response.bytes.length, 0);

  const received = await getJson(`/spans?traceId=${REMOTE_TRACE_ID}`);
  const serverSpan = received.find((span) => span.spanId === server.spanContext().spanId);
  assert.ok(serverSpan, 'server span missing');
  assert.equal(serverSpan.startTimeUnixNano, '1700000000123456789');
  assert.equal(serverSpan.parentSpanId, REMOTE_SPAN_ID);
  assert.deepEqual(serverSpan.attributes, { 'http.response.status_code': 200 });
});

test('gzip JSON body is accepted', async () => {
  const body = zlib.gzipSync(JSON.stringify(validBody()));
  const response = await postExport(body, 'application/json', { 'content-encoding': 'gzip' });

  assert.equal(response.status, 200, response.bytes.toString());
  const received = await getJson('/spans');
  assert.deepEqual(received.map((span) => span.name), ['GET /todos', 'SELECT todos']);
  assert.equal(received[0].parentSpanId, '');
  assert.equal(received[1].parentSpanId, 'b7ad6b7169203331');
  assert.deepEqual(received[0].attributes, { 'http.request.method': 'GET', 'http.response.status_code': 200 });
});

test('spans filter by traceId', async () => {
  const { spans } = recordSdkSpans({});
  assert.equal((await postExport(JsonTraceSerializer.serializeRequest(spans))).status, 200);
  assert.equal((await postExport(JSON.stringify(validBody()))).status, 200);

  const all = await getJson('/spans');
  assert.deepEqual(all.map((span) => span.traceId), [
    REMOTE_TRACE_ID,
    REMOTE_TRACE_ID,
    '0af7651916cd43dd8448eb211c80319c',
    '0af7651916cd43dd8448eb211c80319c',
  ]);
  const filtered = await getJson('/spans?traceId=0af7651916cd43dd8448eb211c80319c');
  assert.deepEqual(filtered.map((span) => span.name), ['GET /todos', 'SELECT todos']);
  assert.deepEqual(await getJson('/spans?traceId=ffffffffffffffffffffffffffffffff'), []);
});

// Each case breaks the valid body in one place; `path` is where the
// receiver must report it.
const REJECTION_CASES = [
  {
    name: 'unknown key',
    path: `${SPAN_1}.colour`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].colour = 'red'; },
  },
  {
    name: 'kind as enum name',
    path: `${SPAN_1}.kind`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].kind = 'SPAN_KIND_SERVER'; },
  },
  {
    name: 'kind outside the enum',
    path: `${SPAN_1}.kind`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].kind = 9; },
  },
  {
    name: 'startTimeUnixNano as number',
    path: `${SPAN_1}.startTimeUnixNano`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano = 1700000000000000000; },
  },
  {
    name: 'startTimeUnixNano with exponent',
    path: `${SPAN_1}.startTimeUnixNano`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano = '1.7e18'; },
  },
  {
    name: 'startTimeUnixNano negative',
    path: `${SPAN_1}.startTimeUnixNano`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano = '-1'; },
  },
  {
    name: 'intValue as number',
    path: `${SPAN_1}.attributes[1].value.intValue`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].attributes[1].value.intValue = 200; },
  },
  {
    name: 'traceId in base64',
    path: `${SPAN_1}.traceId`,
    change: (body) => {
      body.resourceSpans[0].scopeSpans[0].spans[1].traceId = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64');
    },
  },
  {
    name: 'traceId in uppercase hex',
    path: `${SPAN_1}.traceId`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].traceId = '0AF7651916CD43DD8448EB211C80319C'; },
  },
  {
    name: 'spanId of wrong length',
    path: `${SPAN_1}.spanId`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].spanId = 'c8be7c827a3144'; },
  },
  {
    name: 'parentSpanId all zero',
    path: `${SPAN_1}.parentSpanId`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].parentSpanId = '0000000000000000'; },
  },
  {
    name: 'missing traceId',
    path: `${SPAN_1}.traceId`,
    change: (body) => { delete body.resourceSpans[0].scopeSpans[0].spans[1].traceId; },
  },
  {
    name: 'empty span name',
    path: `${SPAN_1}.name`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].name = ''; },
  },
  {
    name: 'end before start',
    path: `${SPAN_1}.endTimeUnixNano`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].endTimeUnixNano = '1699999999999999999'; },
  },
  {
    name: 'empty ScopeSpans',
    path: 'resourceSpans[0].scopeSpans[0].spans',
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans = []; },
  },
  {
    name: 'duplicate attribute key',
    path: `${SPAN_1}.attributes[1].key`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].attributes[1].key = 'http.request.method'; },
  },
  {
    name: 'two AnyValue members',
    path: `${SPAN_1}.attributes[0].value.boolValue`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].attributes[0].value.boolValue = true; },
  },
  {
    name: 'status code as string',
    path: `${SPAN_1}.status.code`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].status.code = '2'; },
  },
  {
    name: 'name as null',
    path: `${SPAN_1}.name`,
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans[1].name = null; },
  },
  {
    name: 'unknown resource key',
    path: 'resourceSpans[0].resource.labels',
    change: (body) => { body.resourceSpans[0].resource.labels = {}; },
  },
  {
    name: 'spans as object',
    path: 'resourceSpans[0].scopeSpans[0].spans',
    change: (body) => { body.resourceSpans[0].scopeSpans[0].spans = {}; },
  },
];

test('hand-made valid body is accepted', async () => {
  const response = await postExport(JSON.stringify(validBody()));
  assert.equal(response.status, 200, response.bytes.toString());
  assert.equal((await getJson('/spans')).length, 2);
});

for (const rejection of REJECTION_CASES) {
  test(`rejects ${rejection.name}`, async () => {
    const body = validBody();
    rejection.change(body);
    const response = await postExport(JSON.stringify(body));

    assert.equal(response.status, 400);
    const { error } = JSON.parse(response.bytes.toString());
    assert.ok(error.startsWith(`${rejection.path}: `), `error does not start with "${rejection.path}: ": ${error}`);
    assert.deepEqual(await getJson('/errors'), [error]);
    assert.deepEqual(await getJson('/spans'), []);
    assert.deepEqual(await getJson('/stats'), { requests: 1, byStatus: { 400: 1 }, spans: 0 });
  });
}

test('rejects body that is no object', async () => {
  const response = await postExport('[]');
  assert.equal(response.status, 400);
  assert.match(JSON.parse(response.bytes.toString()).error, /^request body: .*expected a JSON object/);
});

test('rejects invalid protobuf', async () => {
  const response = await postExport(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), 'application/x-protobuf');
  assert.equal(response.status, 400);
  assert.match(JSON.parse(response.bytes.toString()).error, /^request body: invalid protobuf: /);
});

test('rejects protobuf with bad span', async () => {
  const message = ExportTraceServiceRequest.fromObject({
    resourceSpans: [{
      scopeSpans: [{
        spans: [{
          traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'),
          spanId: Buffer.from('b7ad6b71', 'hex'),
          name: 'GET /todos',
          kind: 9,
          startTimeUnixNano: '1700000000000000000',
          endTimeUnixNano: '1700000000100000000',
        }],
      }],
    }],
  });
  const body = ExportTraceServiceRequest.encode(message).finish();
  const response = await postExport(body, 'application/x-protobuf');

  assert.equal(response.status, 400);
  const { error } = JSON.parse(response.bytes.toString());
  assert.match(error, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.spanId: invalid spanId of 4 bytes: expected 8 bytes/);
  assert.match(error, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.kind: invalid opentelemetry\.proto\.trace\.v1\.Span\.SpanKind value 9/);
  assert.deepEqual(await getJson('/spans'), []);
});

test('rejects unsupported content type', async () => {
  const response = await postExport(JSON.stringify(validBody()), 'text/plain');
  assert.equal(response.status, 415);
  assert.match(JSON.parse(response.bytes.toString()).error, /unsupported Content-Type "text\/plain"/);
});

test('mode status sends Retry-After', async () => {
  assert.deepEqual(await setMode({ mode: 'status', status: 503, retryAfter: '2' }), {
    status: 200,
    body: { mode: 'status', status: 503, retryAfter: '2' },
  });

  const first = await postExport(JSON.stringify(validBody()));
  assert.equal(first.status, 503);
  assert.equal(first.headers.get('retry-after'), '2');
  const second = await postExport(JSON.stringify(validBody()));
  assert.equal(second.status, 503);
  assert.deepEqual(await getJson('/stats'), { requests: 2, byStatus: { 503: 2 }, spans: 0 });

  await setMode({ mode: 'ok' });
  const third = await postExport(JSON.stringify(validBody()));
  assert.equal(third.status, 200);
  assert.deepEqual(await getJson('/stats'), { requests: 3, byStatus: { 503: 2, 200: 1 }, spans: 2 });
});

test('mode status count returns to ok', async () => {
  await setMode({ mode: 'status', status: 500, count: 1 });

  const first = await postExport(JSON.stringify(validBody()));
  assert.equal(first.status, 500);
  assert.equal(first.headers.get('retry-after'), null);
  assert.deepEqual(await getJson('/mode'), { mode: 'ok' });
  const second = await postExport(JSON.stringify(validBody()));
  assert.equal(second.status, 200);
});

test('mode blackhole never responds', async () => {
  await setMode({ mode: 'blackhole' });

  const started = Date.now();
  await assert.rejects(
    fetch(`${baseUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(validBody()),
      signal: AbortSignal.timeout(1000),
    }),
    { name: 'TimeoutError' },
  );
  assert.ok(Date.now() - started >= 990, 'the request ended before the 1 s timeout');
  assert.deepEqual(await getJson('/stats'), { requests: 1, byStatus: {}, spans: 0 });

  await setMode({ mode: 'ok' });
  const response = await postExport(JSON.stringify(validBody()));
  assert.equal(response.status, 200);
});

test('invalid mode is rejected', async () => {
  const unknownMode = await setMode({ mode: 'slow' });
  assert.equal(unknownMode.status, 400);
  assert.match(unknownMode.body.error, /invalid mode "slow"/);

  const missingStatus = await setMode({ mode: 'status' });
  assert.equal(missingStatus.status, 400);
  assert.match(missingStatus.body.error, /invalid status undefined/);

  assert.deepEqual(await getJson('/mode'), { mode: 'ok' });
});

// Starts an HTTP server on 127.0.0.1 that responds with 200 and copies the
// request's traceparent header into the response.
async function startEchoServer() {
  const seen = [];
  const server = http.createServer((request, response) => {
    seen.push(request.headers.traceparent ?? null);
    const headers = request.headers.traceparent ? { traceparent: request.headers.traceparent } : {};
    response.writeHead(200, headers);
    response.end('ok');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, seen, url: `http://127.0.0.1:${server.address().port}/todos` };
}

test('interop client span reaches receiver', async () => {
  const echo = await startEchoServer();
  try {
    const { stdout } = await execFileAsync(process.execPath, [INTEROP_CLIENT, echo.url, baseUrl]);
    const printed = JSON.parse(stdout);

    assert.match(printed.traceId, /^[0-9a-f]{32}$/);
    assert.match(printed.spanId, /^[0-9a-f]{16}$/);
    assert.equal(printed.status, 200);
    assert.equal(printed.traceparent, `00-${printed.traceId}-${printed.spanId}-01`);
    assert.deepEqual(echo.seen, [printed.traceparent]);

    const received = await getJson(`/spans?traceId=${printed.traceId}`);
    assert.equal(received.length, 1);
    const [span] = received;
    assert.equal(span.spanId, printed.spanId);
    assert.equal(span.parentSpanId, '');
    assert.equal(span.name, 'GET');
    assert.equal(span.kind, 3);
    assert.equal(span.resource['service.name'], 'interop-client');
    assert.equal(span.attributes['url.full'], echo.url);
    assert.equal(span.attributes['http.request.method'], 'GET');
    assert.deepEqual(await getJson('/errors'), []);
  } finally {
    echo.server.close();
  }
});

test('interop client fails on rejected export', async () => {
  const echo = await startEchoServer();
  try {
    await setMode({ mode: 'status', status: 400 });
    await assert.rejects(
      execFileAsync(process.execPath, [INTEROP_CLIENT, echo.url, baseUrl]),
      (error) => {
        assert.equal(error.code, 1);
        assert.equal(error.stdout, '');
        assert.match(error.stderr, /export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed/);
        return true;
      },
    );
    assert.deepEqual(await getJson('/stats'), { requests: 1, byStatus: { 400: 1 }, spans: 0 });
  } finally {
    echo.server.close();
  }
});
