// Test OTLP/HTTP trace receiver for the todo test suite.
//
//   node tests/otlp/receiver.mjs --port N [--exit-with-stdin]
//
// Listens on 127.0.0.1:N (N = 0 picks a free port) and prints
// "listening on 127.0.0.1:N" as its first line once it accepts connections.
// Every later log line starts with an ISO 8601 time. With --exit-with-stdin
// it stops when its standard input closes, so a test that spawns it with a
// stdin pipe leaves no receiver behind even when the test is killed.
// README.md beside this file lists the endpoints.

import http from 'node:http';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

import { describeType, ExportTraceServiceRequest, ExportTraceServiceResponse } from './schema.mjs';
import { decodeJsonRequest, decodeProtobufRequest, InvalidRequestError } from './validate.mjs';

const HOST = '127.0.0.1';

// Largest export body accepted, before and after gzip decompression. The
// OTLP specification recommends 20 MiB as the default limit.
const MAX_BODY_BYTES = 20 * 1024 * 1024;

const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';

const state = {
  spans: [],
  errors: [],
  requests: 0,
  byStatus: {},
  mode: { mode: 'ok' },
  // Sockets of export requests held open by the blackhole mode.
  heldSockets: new Set(),
};

function log(message) {
  console.log(`${new Date().toISOString()} ${message}`);
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function sendJson(response, status, body, headers = {}) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

// Reads the whole request body, gunzipping it when the client sent
// Content-Encoding: gzip. Throws HttpError 400 for invalid gzip data, 413
// for a body over MAX_BODY_BYTES and 415 for another encoding.
async function readBody(request) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') {
    return body;
  }
  if (encoding === 'gzip') {
    try {
      return zlib.gunzipSync(body, { maxOutputLength: MAX_BODY_BYTES });
    } catch (error) {
      if (error.code === 'ERR_BUFFER_TOO_LARGE') {
        throw new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes after gzip decompression`);
      }
      throw new HttpError(400, `request body: invalid gzip data: ${error.message}`);
    }
  }
  throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: expected gzip or none`);
}

function mediaType(request) {
  return (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function hexOfBase64(base64) {
  return Buffer.from(base64, 'base64').toString('hex');
}

// Converts a toObject() AnyValue to a plain JSON value. Integers outside
// the safe range of a JSON number stay decimal strings, and bytes stay
// base64.
function plainValue(anyValue) {
  if (anyValue === null || anyValue === undefined) {
    return null;
  }
  if ('stringValue' in anyValue) {
    return anyValue.stringValue;
  }
  if ('boolValue' in anyValue) {
    return anyValue.boolValue;
  }
  if ('intValue' in anyValue) {
    const number = Number(anyValue.intValue);
    return Number.isSafeInteger(number) ? number : anyValue.intValue;
  }
  if ('doubleValue' in anyValue) {
    return anyValue.doubleValue;
  }
  if ('arrayValue' in anyValue) {
    return (anyValue.arrayValue.values ?? []).map(plainValue);
  }
  if ('kvlistValue' in anyValue) {
    return plainAttributes(anyValue.kvlistValue.values ?? []);
  }
  if ('bytesValue' in anyValue) {
    return anyValue.bytesValue;
  }
  return null;
}

function plainAttributes(keyValues) {
  const attributes = {};
  for (const keyValue of keyValues) {
    attributes[keyValue.key] = plainValue(keyValue.value);
  }
  return attributes;
}

/**
 * Flattens an ExportTraceServiceRequest message into one object per span,
 * with hex ids, decimal-string times and attributes as {key: value}.
 */
function normalizeSpans(message) {
  const request = ExportTraceServiceRequest.toObject(message, {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: true,
    arrays: true,
  });
  const spans = [];
  for (const resourceSpans of request.resourceSpans) {
    const resource = plainAttributes(resourceSpans.resource?.attributes ?? []);
    for (const scopeSpans of resourceSpans.scopeSpans) {
      const scope = { name: scopeSpans.scope?.name ?? '', version: scopeSpans.scope?.version ?? '' };
      for (const span of scopeSpans.spans) {
        spans.push({
          traceId: hexOfBase64(span.traceId),
          spanId: hexOfBase64(span.spanId),
          parentSpanId: hexOfBase64(span.parentSpanId),
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: span.startTimeUnixNano,
          endTimeUnixNano: span.endTimeUnixNano,
          attributes: plainAttributes(span.attributes),
          events: span.events.map((event) => ({
            name: event.name,
            timeUnixNano: event.timeUnixNano,
            attributes: plainAttributes(event.attributes),
          })),
          links: span.links.map((link) => ({
            traceId: hexOfBase64(link.traceId),
            spanId: hexOfBase64(link.spanId),
            traceState: link.traceState,
            attributes: plainAttributes(link.attributes),
          })),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
          traceState: span.traceState,
          flags: span.flags,
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}

function countStatus(status) {
  state.byStatus[status] = (state.byStatus[status] ?? 0) + 1;
}

// Counts one export handled by the status or blackhole mode and returns to
// the ok mode after the last one that the mode's count allows.
function useModeOnce() {
  const { mode } = state;
  if (mode.remaining === undefined) {
    return;
  }
  mode.remaining -= 1;
  if (mode.remaining === 0) {
    log(`mode ${mode.mode} used ${mode.count} times; back to mode ok`);
    state.mode = { mode: 'ok' };
  }
}

// Sends an error status for an export and records the message for
// GET /errors. The body is {"error": message} for both encodings.
// NOTE: OTLP specifies a google.rpc.Status body for 4xx and 5xx responses,
// but the generated root has no Status type, so clients get this JSON.
function rejectExport(response, status, message) {
  state.errors.push(message);
  log(`rejected export with ${status}: ${message}`);
  countStatus(status);
  sendJson(response, status, { error: message });
}

async function handleExport(request, response) {
  state.requests += 1;
  const requestType = mediaType(request);

  let body;
  try {
    body = await readBody(request);
  } catch (error) {
    if (!(error instanceof HttpError)) {
      throw error;
    }
    rejectExport(response, error.status, error.message);
    return;
  }

  const { mode } = state;
  if (mode.mode === 'blackhole') {
    useModeOnce();
    state.heldSockets.add(request.socket);
    request.socket.once('close', () => state.heldSockets.delete(request.socket));
    log(`holding export request of ${body.length} bytes without a response (mode blackhole)`);
    return;
  }
  if (mode.mode === 'status') {
    useModeOnce();
    countStatus(mode.status);
    log(`responded to export request of ${body.length} bytes with ${mode.status} (mode status)`);
    const headers = mode.retryAfter === undefined ? {} : { 'retry-after': mode.retryAfter };
    sendJson(response, mode.status, { error: `the receiver is in mode status ${mode.status}` }, headers);
    return;
  }

  let message;
  try {
    if (requestType === JSON_TYPE) {
      message = decodeJsonRequest(body.toString('utf8'));
    } else if (requestType === PROTOBUF_TYPE) {
      message = decodeProtobufRequest(body);
    } else {
      rejectExport(response, 415, `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}: expected ${JSON_TYPE} or ${PROTOBUF_TYPE}`);
      return;
    }
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) {
      throw error;
    }
    rejectExport(response, 400, error.message);
    return;
  }

  const spans = normalizeSpans(message);
  state.spans.push(...spans);
  countStatus(200);
  log(`accepted ${spans.length} spans (${requestType})`);
  if (requestType === PROTOBUF_TYPE) {
    const bytes = ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create()).finish();
    response.writeHead(200, { 'content-type': PROTOBUF_TYPE, 'content-length': bytes.length });
    response.end(bytes);
  } else {
    sendJson(response, 200, {});
  }
}

// Parses the body of POST /mode. Throws HttpError 400 for an invalid mode.
function parseMode(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `invalid JSON: ${error.message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'expected a JSON object such as {"mode":"ok"}');
  }
  const known = new Set(['mode', 'status', 'retryAfter', 'count']);
  const unknown = Object.keys(body).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new HttpError(400, `unknown keys ${unknown.join(', ')}: expected mode, status, retryAfter, count`);
  }

  const { mode, status, retryAfter, count } = body;
  if (!['ok', 'status', 'blackhole'].includes(mode)) {
    throw new HttpError(400, `invalid mode ${JSON.stringify(mode)}: expected "ok", "status" or "blackhole"`);
  }
  if (mode === 'status' && !(Number.isInteger(status) && status >= 200 && status <= 599)) {
    throw new HttpError(400, `invalid status ${JSON.stringify(status)}: mode status needs an integer HTTP status from 200 to 599`);
  }
  if (mode !== 'status' && (status !== undefined || retryAfter !== undefined)) {
    throw new HttpError(400, 'status and retryAfter apply to mode status only');
  }
  if (retryAfter !== undefined && typeof retryAfter !== 'string') {
    throw new HttpError(400, `invalid retryAfter ${JSON.stringify(retryAfter)}: expected the Retry-After header value as a string, e.g. "2"`);
  }
  if (count !== undefined && (mode === 'ok' || !Number.isInteger(count) || count < 1)) {
    throw new HttpError(400, `invalid count ${JSON.stringify(count)}: expected a positive integer, for mode status or blackhole`);
  }

  const parsed = { mode };
  if (mode === 'status') {
    parsed.status = status;
    if (retryAfter !== undefined) {
      parsed.retryAfter = retryAfter;
    }
  }
  if (count !== undefined) {
    parsed.count = count;
    parsed.remaining = count;
  }
  return parsed;
}

function clearRecords() {
  state.spans = [];
  state.errors = [];
  state.requests = 0;
  state.byStatus = {};
}

async function route(request, response) {
  const url = new URL(request.url, `http://${HOST}`);
  const key = `${request.method} ${url.pathname}`;
  switch (key) {
    case 'POST /v1/traces':
      await handleExport(request, response);
      return;
    case 'GET /spans': {
      const traceId = url.searchParams.get('traceId');
      const spans = traceId === null ? state.spans : state.spans.filter((span) => span.traceId === traceId.toLowerCase());
      sendJson(response, 200, spans);
      return;
    }
    case 'DELETE /spans':
      clearRecords();
      log('cleared spans, errors and request counters');
      sendJson(response, 200, {});
      return;
    case 'GET /errors':
      sendJson(response, 200, state.errors);
      return;
    case 'GET /stats':
      sendJson(response, 200, { requests: state.requests, byStatus: state.byStatus, spans: state.spans.length });
      return;
    case 'GET /mode':
      sendJson(response, 200, state.mode);
      return;
    case 'POST /mode': {
      const text = (await readBody(request)).toString('utf8');
      state.mode = parseMode(text);
      log(`mode set to ${JSON.stringify(state.mode)}`);
      sendJson(response, 200, state.mode);
      return;
    }
    default: {
      const allowed = {
        '/v1/traces': 'POST',
        '/spans': 'GET, DELETE',
        '/errors': 'GET',
        '/stats': 'GET',
        '/mode': 'GET, POST',
      }[url.pathname];
      if (allowed) {
        sendJson(response, 405, { error: `method ${request.method} not allowed on ${url.pathname}` }, { allow: allowed });
      } else {
        sendJson(response, 404, { error: `not found: ${url.pathname}` });
      }
    }
  }
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, 'exit-with-stdin': { type: 'boolean', default: false } },
  });
  const port = Number(values.port);
  if (values.port === undefined || values.port === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid or missing --port ${JSON.stringify(values.port ?? null)}: expected a TCP port from 0 to 65535`);
  }
  return { port, exitWithStdin: values['exit-with-stdin'] };
}

function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`error: ${error.message}`);
    console.error('usage: node receiver.mjs --port N [--exit-with-stdin]');
    process.exit(2);
  }
  const { port } = options;

  // Derive the field descriptions before listening, so that a package
  // whose generated types no longer fit fails here and not on the first
  // export.
  describeType(ExportTraceServiceRequest);

  const server = http.createServer((request, response) => {
    route(request, response).catch((error) => {
      const status = error instanceof HttpError ? error.status : 500;
      const detail = status === 500 ? error.stack : error.message;
      log(`request ${request.method} ${request.url} failed with ${status}: ${detail}`);
      if (!response.headersSent) {
        sendJson(response, status, { error: error.message });
      }
    });
  });

  server.on('error', (error) => {
    console.error(`error: cannot listen on ${HOST}:${port}: ${error.message}`);
    process.exit(1);
  });

  server.listen(port, HOST, () => {
    console.log(`listening on ${HOST}:${server.address().port}`);
  });

  const stop = (reason) => {
    log(`stopping on ${reason}; ${state.spans.length} spans received, ${state.heldSockets.size} held requests dropped`);
    for (const socket of state.heldSockets) {
      socket.destroy();
    }
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (options.exitWithStdin) {
    process.stdin.on('end', () => stop('end of standard input'));
    process.stdin.resume();
  }
}

main();
