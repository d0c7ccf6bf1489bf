// Strict decoding of OTLP/HTTP trace export requests in both encodings.
//
// The JSON check walks the body against the field descriptions that
// schema.mjs derives from the generated OTLP types. It is stricter than the
// OTLP specification (docs/specification.md of opentelemetry-proto), which
// lets receivers accept numbers for 64-bit integers and uppercase hex ids
// and requires them to ignore unknown fields. This receiver checks our own
// encoder, so it rejects all three.

import { describeType, ExportTraceServiceRequest } from './schema.mjs';

// Maximum number of problems listed in one rejection message.
const MAX_PROBLEMS = 10;

const KEY_VALUE_TYPE = 'opentelemetry.proto.common.v1.KeyValue';
const RESOURCE_SPANS_TYPE = 'opentelemetry.proto.trace.v1.ResourceSpans';
const SCOPE_SPANS_TYPE = 'opentelemetry.proto.trace.v1.ScopeSpans';
const SPAN_TYPE = 'opentelemetry.proto.trace.v1.Span';
const EVENT_TYPE = 'opentelemetry.proto.trace.v1.Span.Event';

// OTLP JSON writes these bytes fields as hex, with the length in bytes,
// instead of the base64 of the proto3 JSON mapping. parentSpanId may also be
// empty, which marks a root span.
const HEX_ID_BYTES = new Map([
  ['traceId', 16],
  ['spanId', 8],
  ['parentSpanId', 8],
]);

const INT32_RANGE = [-(2 ** 31), 2 ** 31 - 1];
const UINT32_RANGE = [0, 2 ** 32 - 1];
const INT64_RANGE = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT64_RANGE = [0n, 2n ** 64n - 1n];

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SIGNED_DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;
const UNSIGNED_DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const DOUBLE_STRINGS = new Set(['NaN', 'Infinity', '-Infinity']);

/** Error for a request that the receiver rejects with HTTP 400. */
export class InvalidRequestError extends Error {
  constructor(problems) {
    const listed = problems.slice(0, MAX_PROBLEMS);
    const hidden = problems.length - listed.length;
    super(listed.join('; ') + (hidden > 0 ? `; and ${hidden} more problems` : ''));
    this.name = 'InvalidRequestError';
    this.problems = problems;
  }
}

function joinPath(path, key) {
  return path === '' ? key : `${path}.${key}`;
}

function where(path) {
  return path === '' ? 'request body' : path;
}

// Describes a JSON value for an error message, e.g. `number 1700000000`.
function describeJson(value) {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (typeof value === 'object') {
    return 'an object';
  }
  if (typeof value === 'string') {
    const excerpt = value.length > 60 ? `${value.slice(0, 60)}...` : value;
    return `string ${JSON.stringify(excerpt)}`;
  }
  return `${typeof value} ${String(value)}`;
}

function isJsonObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkHexId(field, value, path, problems) {
  const byteLength = HEX_ID_BYTES.get(field.name);
  if (typeof value !== 'string') {
    problems.push(`${path}: invalid ${field.name} ${describeJson(value)}: expected a string of ${byteLength * 2} lowercase hex characters`);
    return undefined;
  }
  if (value === '' && field.name === 'parentSpanId') {
    return Buffer.alloc(0);
  }
  if (value.length !== byteLength * 2 || !/^[0-9a-f]*$/.test(value)) {
    problems.push(`${path}: invalid ${field.name} ${describeJson(value)}: expected ${byteLength * 2} lowercase hex characters`);
    return undefined;
  }
  if (/^0+$/.test(value)) {
    const hint = field.name === 'parentSpanId' ? ' (a root span has an empty parentSpanId)' : '';
    problems.push(`${path}: invalid ${field.name} ${describeJson(value)}: an all-zero id is invalid${hint}`);
    return undefined;
  }
  return Buffer.from(value, 'hex');
}

function checkInteger32(field, value, path, problems) {
  const [min, max] = field.kind === 'int32' ? INT32_RANGE : UINT32_RANGE;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    problems.push(`${path}: invalid ${field.protoType} value ${describeJson(value)}: expected a JSON integer number`);
    return undefined;
  }
  if (value < min || value > max) {
    problems.push(`${path}: ${field.protoType} value ${value} is out of range [${min}, ${max}]`);
    return undefined;
  }
  return value;
}

function checkInteger64(field, value, path, problems) {
  const [min, max] = field.kind === 'int64' ? INT64_RANGE : UINT64_RANGE;
  const pattern = field.kind === 'int64' ? SIGNED_DECIMAL : UNSIGNED_DECIMAL;
  if (typeof value !== 'string') {
    problems.push(`${path}: invalid ${field.protoType} value ${describeJson(value)}: OTLP JSON requires 64-bit integers as decimal strings, e.g. "1700000000000000000"`);
    return undefined;
  }
  if (!pattern.test(value)) {
    problems.push(`${path}: invalid ${field.protoType} value ${describeJson(value)}: expected a decimal string without sign, exponent or leading zeros${field.kind === 'int64' ? ' (a minus sign is allowed)' : ''}`);
    return undefined;
  }
  const number = BigInt(value);
  if (number < min || number > max) {
    problems.push(`${path}: ${field.protoType} value ${value} is out of range [${min}, ${max}]`);
    return undefined;
  }
  return value;
}

function checkEnum(field, value, path, problems) {
  const allowed = [...field.enumValues.keys()].join(', ');
  if (typeof value === 'string') {
    const named = [...field.enumValues].find(([, name]) => name === value);
    const hint = named ? `: OTLP JSON requires the integer ${named[0]} instead of the name` : '';
    problems.push(`${path}: invalid ${field.enumName} value ${describeJson(value)}${hint}; expected one of the integers ${allowed}`);
    return undefined;
  }
  if (typeof value !== 'number' || !field.enumValues.has(value)) {
    problems.push(`${path}: invalid ${field.enumName} value ${describeJson(value)}: expected one of the integers ${allowed}`);
    return undefined;
  }
  return value;
}

function checkScalar(field, value, path, problems) {
  switch (field.kind) {
    case 'string':
      if (typeof value !== 'string') {
        problems.push(`${path}: invalid string value ${describeJson(value)}: expected a JSON string`);
        return undefined;
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') {
        problems.push(`${path}: invalid bool value ${describeJson(value)}: expected true or false`);
        return undefined;
      }
      return value;
    case 'double':
      if (typeof value === 'number' || DOUBLE_STRINGS.has(value)) {
        return typeof value === 'number' ? value : Number(value);
      }
      problems.push(`${path}: invalid ${field.protoType} value ${describeJson(value)}: expected a JSON number or one of "NaN", "Infinity", "-Infinity"`);
      return undefined;
    case 'int32':
    case 'uint32':
      return checkInteger32(field, value, path, problems);
    case 'int64':
    case 'uint64':
      return checkInteger64(field, value, path, problems);
    case 'enum':
      return checkEnum(field, value, path, problems);
    case 'bytes':
      if (HEX_ID_BYTES.has(field.name)) {
        return checkHexId(field, value, path, problems);
      }
      if (typeof value !== 'string' || !BASE64.test(value)) {
        problems.push(`${path}: invalid bytes value ${describeJson(value)}: expected standard base64 with padding`);
        return undefined;
      }
      return value;
    default:
      throw new Error(`${path}: field kind ${field.kind} has no JSON check`);
  }
}

function checkFieldValue(field, value, path, problems) {
  if (value === null) {
    problems.push(`${path}: null is not allowed; omit the field instead`);
    return undefined;
  }
  if (field.kind === 'message') {
    return checkJsonMessage(field.messageType, value, path, problems);
  }
  return checkScalar(field, value, path, problems);
}

// Reports keys that occur more than once in a list of KeyValue objects.
// OTLP requires attribute keys and KeyValueList keys to be unique.
function checkUniqueKeys(keyValues, path, problems) {
  const firstIndex = new Map();
  keyValues.forEach((keyValue, index) => {
    if (!isJsonObject(keyValue) || typeof keyValue.key !== 'string') {
      return;
    }
    if (firstIndex.has(keyValue.key)) {
      problems.push(`${path}[${index}].key: duplicate key ${JSON.stringify(keyValue.key)}, first used at ${path}[${firstIndex.get(keyValue.key)}]`);
    } else {
      firstIndex.set(keyValue.key, index);
    }
  });
}

function checkJsonField(field, value, path, problems) {
  if (value === null) {
    problems.push(`${path}: null is not allowed; omit the field instead`);
    return undefined;
  }
  if (!field.repeated) {
    return checkFieldValue(field, value, path, problems);
  }
  if (!Array.isArray(value)) {
    problems.push(`${path}: invalid repeated field value ${describeJson(value)}: expected a JSON array`);
    return undefined;
  }
  if (field.kind === 'message' && describeType(field.messageType).name === KEY_VALUE_TYPE) {
    checkUniqueKeys(value, path, problems);
  }
  return value.map((element, index) => checkFieldValue(field, element, `${path}[${index}]`, problems));
}

/**
 * Checks one JSON object against a generated message type and returns a
 * copy that the type's fromObject() accepts, with hex ids converted to
 * bytes. Problems are appended to `problems` as "path: text".
 */
function checkJsonMessage(type, value, path, problems) {
  const description = describeType(type);
  if (!isJsonObject(value)) {
    problems.push(`${where(path)}: invalid ${description.name} value ${describeJson(value)}: expected a JSON object`);
    return undefined;
  }

  const converted = {};
  const memberByOneof = new Map();
  for (const [key, item] of Object.entries(value)) {
    const fieldPath = joinPath(path, key);
    const field = description.fields.get(key);
    if (field === undefined) {
      const known = [...description.fields.keys()].join(', ');
      problems.push(`${fieldPath}: unknown field ${JSON.stringify(key)} in ${description.name}; known fields: ${known}`);
      continue;
    }
    if (field.oneof !== null) {
      const other = memberByOneof.get(field.oneof);
      if (other !== undefined) {
        problems.push(`${fieldPath}: oneof ${field.oneof} already has the member ${JSON.stringify(other)}; set only one`);
        continue;
      }
      memberByOneof.set(field.oneof, key);
    }
    converted[key] = checkJsonField(field, item, fieldPath, problems);
  }
  return converted;
}

// Runs the checks that both encodings share on a decoded message, then
// the generated verify().
function checkMessage(message) {
  const problems = [];
  checkDecodedMessage(ExportTraceServiceRequest, message, '', problems);
  if (problems.length > 0) {
    throw new InvalidRequestError(problems);
  }
  const error = ExportTraceServiceRequest.verify(message);
  if (error) {
    throw new InvalidRequestError([`ExportTraceServiceRequest.verify() failed: ${error}`]);
  }
  return message;
}

/**
 * Decodes the text of an OTLP/HTTP JSON export request into an
 * ExportTraceServiceRequest message. Throws InvalidRequestError with every
 * problem found, each prefixed by its path in the body, such as
 * "resourceSpans[0].scopeSpans[0].spans[1].kind". The decoded message then
 * gets the checks of checkDecodedMessage().
 */
export function decodeJsonRequest(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError([`request body: invalid JSON: ${error.message}`]);
  }
  const problems = [];
  const converted = checkJsonMessage(ExportTraceServiceRequest, body, '', problems);
  if (problems.length > 0) {
    throw new InvalidRequestError(problems);
  }
  return checkMessage(ExportTraceServiceRequest.fromObject(converted));
}

function checkDecodedId(field, bytes, path, problems) {
  const byteLength = HEX_ID_BYTES.get(field.name);
  if (bytes.length === 0 && field.name === 'parentSpanId') {
    return;
  }
  if (bytes.length !== byteLength) {
    problems.push(`${path}: invalid ${field.name} of ${bytes.length} bytes: expected ${byteLength} bytes`);
  } else if (bytes.every((byte) => byte === 0)) {
    problems.push(`${path}: invalid ${field.name}: an all-zero id is invalid`);
  }
}

// Unsigned value of a decoded fixed64 field, which protobufjs stores as a
// number, a Long or, when the field is absent, null.
function unsigned64(value) {
  if (value === null || value === undefined) {
    return 0n;
  }
  if (typeof value === 'number') {
    return BigInt(value);
  }
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

// Checks the fields that the OTLP trace.proto comments call semantically
// required: a span has a non-empty name, non-zero start and end times and
// ends no earlier than it starts, and an event has a name and a time. It
// also rejects empty ResourceSpans and ScopeSpans, because the OTLP
// specification tells senders not to create them (SHOULD NOT).
function checkRequiredFields(typeName, message, path, problems) {
  if (typeName === RESOURCE_SPANS_TYPE && !(message.scopeSpans?.length > 0)) {
    problems.push(`${joinPath(path, 'scopeSpans')}: empty ResourceSpans: leave out a resource without spans`);
  } else if (typeName === SCOPE_SPANS_TYPE && !(message.spans?.length > 0)) {
    problems.push(`${joinPath(path, 'spans')}: empty ScopeSpans: leave out a scope without spans`);
  } else if (typeName === SPAN_TYPE) {
    const start = unsigned64(message.startTimeUnixNano);
    const end = unsigned64(message.endTimeUnixNano);
    if (!message.name) {
      problems.push(`${joinPath(path, 'name')}: missing span name: a span needs a non-empty name`);
    }
    if (start === 0n) {
      problems.push(`${joinPath(path, 'startTimeUnixNano')}: missing span start time`);
    }
    if (end === 0n) {
      problems.push(`${joinPath(path, 'endTimeUnixNano')}: missing span end time`);
    }
    if (start !== 0n && end !== 0n && end < start) {
      problems.push(`${joinPath(path, 'endTimeUnixNano')}: span ends at ${end}, before its start at ${start}`);
    }
  } else if (typeName === EVENT_TYPE) {
    if (!message.name) {
      problems.push(`${joinPath(path, 'name')}: missing event name: an event needs a non-empty name`);
    }
    if (unsigned64(message.timeUnixNano) === 0n) {
      problems.push(`${joinPath(path, 'timeUnixNano')}: missing event time`);
    }
  }
}

// Checks what the JSON walk and protobuf decoding cannot: missing ids, id
// lengths, enum values outside the enum (proto3 decoders keep them),
// duplicate attribute keys, empty envelopes and the semantically required
// span fields.
function checkDecodedMessage(type, message, path, problems) {
  const description = describeType(type);
  checkRequiredFields(description.name, message, path, problems);
  for (const field of description.fields.values()) {
    if (!Object.hasOwn(message, field.name) || message[field.name] === null) {
      if (HEX_ID_BYTES.has(field.name) && field.name !== 'parentSpanId' && field.kind === 'bytes') {
        problems.push(`${joinPath(path, field.name)}: missing ${field.name}: expected ${HEX_ID_BYTES.get(field.name)} bytes`);
      }
      continue;
    }
    const fieldPath = joinPath(path, field.name);
    const values = field.repeated ? message[field.name] : [message[field.name]];
    if (field.repeated && field.kind === 'message' && describeType(field.messageType).name === KEY_VALUE_TYPE) {
      checkUniqueKeys(values, fieldPath, problems);
    }
    values.forEach((value, index) => {
      const valuePath = field.repeated ? `${fieldPath}[${index}]` : fieldPath;
      if (field.kind === 'message') {
        checkDecodedMessage(field.messageType, value, valuePath, problems);
      } else if (field.kind === 'enum' && !field.enumValues.has(value)) {
        problems.push(`${valuePath}: invalid ${field.enumName} value ${value}`);
      } else if (field.kind === 'bytes' && HEX_ID_BYTES.has(field.name)) {
        checkDecodedId(field, value, valuePath, problems);
      }
    });
  }
}

/**
 * Decodes an OTLP/HTTP protobuf export request. Throws InvalidRequestError
 * when the bytes do not decode or the message fails the checks of
 * checkDecodedMessage().
 *
 * NOTE: the generated decoder skips unknown fields without a trace, so this
 * path cannot reject them the way the JSON path rejects unknown keys.
 */
export function decodeProtobufRequest(bytes) {
  let message;
  try {
    message = ExportTraceServiceRequest.decode(bytes);
  } catch (error) {
    throw new InvalidRequestError([`request body: invalid protobuf: ${error.message}`]);
  }
  return checkMessage(message);
}
