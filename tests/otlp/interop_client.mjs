// Interop client built on the official OpenTelemetry JS SDK.
//
//   node tests/otlp/interop_client.mjs <url> <otlp-endpoint>
//
// Starts a CLIENT span named "GET", sends GET <url> with the span's W3C
// traceparent header, ends the span and exports it as OTLP/HTTP JSON to
// <otlp-endpoint>/v1/traces. On success it prints one JSON line
//   {"traceId": ..., "spanId": ..., "status": <HTTP status of the GET>,
//    "traceparent": <traceparent header of the response, or null>}
// and exits 0, whatever the HTTP status of the GET. It exits 1 when the GET
// or the export fails and 2 on a usage error, with the error on stderr.

import {
  context,
  defaultTextMapSetter,
  diag,
  DiagConsoleLogger,
  DiagLogLevel,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_SERVICE_NAME, ATTR_URL_FULL } from '@opentelemetry/semantic-conventions';

const SERVICE_NAME = 'interop-client';
const REQUEST_TIMEOUT_MS = 10_000;

function parseArguments(argv) {
  if (argv.length !== 2) {
    throw new Error(`expected 2 arguments, got ${argv.length}`);
  }
  const [target, endpoint] = argv;
  for (const [name, value] of [['url', target], ['otlp-endpoint', endpoint]]) {
    let parsed;
    try {
      parsed = new URL(value);
    } catch {
      throw new Error(`invalid ${name} ${JSON.stringify(value)}: expected an absolute http URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`invalid ${name} ${JSON.stringify(value)}: expected an http or https URL`);
    }
  }
  return { target, tracesUrl: `${endpoint.replace(/\/+$/, '')}/v1/traces` };
}

async function main() {
  let target;
  let tracesUrl;
  try {
    ({ target, tracesUrl } = parseArguments(process.argv.slice(2)));
  } catch (error) {
    console.error(`error: ${error.message}`);
    console.error('usage: node interop_client.mjs <url> <otlp-endpoint>');
    process.exit(2);
  }

  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
  // SimpleSpanProcessor reports a failed export to the global error handler
  // and nowhere else, so the handler is the only way to see it.
  const exportErrors = [];
  setGlobalErrorHandler((error) => exportErrors.push(error));

  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: SERVICE_NAME }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: tracesUrl }))],
  });
  const propagator = new W3CTraceContextPropagator();
  const tracer = provider.getTracer('todo-interop-client', '1.0.0');

  // NOTE: the OTLP JSON serializer of @opentelemetry/otlp-transformer 0.216.0
  // writes integer attributes as JSON numbers, which the strict test
  // receiver rejects, so this span carries string attributes only.
  const span = tracer.startSpan('GET', {
    kind: SpanKind.CLIENT,
    attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'GET', [ATTR_URL_FULL]: target },
  });
  const headers = {};
  propagator.inject(trace.setSpan(context.active(), span), headers, defaultTextMapSetter);

  let response;
  let requestError;
  try {
    response = await fetch(target, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await response.arrayBuffer();
    if (response.status >= 400) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
    }
  } catch (error) {
    requestError = error;
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();

  await provider.forceFlush();
  await provider.shutdown();

  if (requestError) {
    console.error(`error: GET ${target} failed: ${requestError.cause?.message ?? requestError.message}`);
    process.exit(1);
  }
  if (exportErrors.length > 0) {
    console.error(`error: export to ${tracesUrl} failed: ${exportErrors.map((error) => error.message ?? error).join('; ')}`);
    process.exit(1);
  }

  const { traceId, spanId } = span.spanContext();
  console.log(JSON.stringify({
    traceId,
    spanId,
    status: response.status,
    traceparent: response.headers.get('traceparent'),
  }));
}

main().catch((error) => {
  console.error(`error: ${error.stack ?? error}`);
  process.exit(1);
});
