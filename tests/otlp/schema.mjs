// Field descriptions of the OTLP protobuf messages, derived from the
// protobufjs static module that @opentelemetry/otlp-transformer generates
// from the official opentelemetry-proto files.
//
// A static module has no reflection API, so describeType() learns each
// field by calling the generated functions: verify() error texts give the
// scalar kind, a decode(encode(-1)) round trip gives the signedness, and
// fromObject() gives the message type of nested fields. The field list of
// every type therefore comes from the package and nowhere else.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The trace messages were generated into this root up to
// @opentelemetry/otlp-transformer 0.216.0. From 0.218.0 on, the package
// encodes traces by hand and the root no longer contains them, which is why
// package.json pins 0.216.0.
export const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');

export const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

// Scalar kinds, keyed by the text that a generated verify() returns for a
// value of the wrong type ("name: string expected"). Repeated fields get
// "[]" after the kind, which classifyScalar() strips.
const KIND_BY_VERIFY_TEXT = new Map([
  ['string expected', 'string'],
  ['boolean expected', 'bool'],
  ['buffer expected', 'bytes'],
  ['number expected', 'double'],
  ['enum value expected', 'enum'],
  ['integer expected', 'int32'],
  ['integer|Long expected', 'int64'],
]);

const descriptions = new Map();
let enumsByFullName = null;

// Returns the full protobuf name of a generated message type,
// e.g. "opentelemetry.proto.trace.v1.Span".
export function typeName(type) {
  return type.getTypeUrl('').replace(/^\//, '');
}

// Collects every enum object of the generated root with its full name. A
// generated enum is an object whose own values are numbers and whose
// prototype maps each number back to its name.
function collectEnums(node, prefix, found) {
  for (const [key, value] of Object.entries(node)) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
      continue;
    }
    const fullName = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'object' && isGeneratedEnum(value)) {
      found.set(fullName, value);
    } else {
      collectEnums(value, fullName, found);
    }
  }
  return found;
}

function isGeneratedEnum(candidate) {
  const entries = Object.entries(candidate);
  if (entries.length === 0) {
    return false;
  }
  const names = Object.getPrototypeOf(candidate);
  return entries.every(([name, number]) => typeof number === 'number' && names[number] === name);
}

// Wraps a sample value in an array for repeated fields, so that one probe
// works for both.
function sample(field, value) {
  return field.repeated ? [value] : value;
}

function unwrap(field, value) {
  return field.repeated ? value[0] : value;
}

// Encodes a message with only this field set to the sample value, decodes
// it again and returns the decoded field as a string. Unsigned types come
// back as 2^32 - 1 or 2^64 - 1 for a sample of -1.
function roundTrip(type, field, value) {
  const message = type.fromObject({ [field.name]: sample(field, value) });
  const decoded = type.decode(type.encode(message).finish());
  const object = type.toObject(decoded, { longs: String });
  return String(unwrap(field, object[field.name]));
}

// Encodes a message with only this field set and returns the wire type and
// the length of the encoded value. Returns null for packed repeated fields,
// whose wire type does not tell the scalar type.
function encodedShape(type, field, value) {
  const bytes = type.encode(type.fromObject({ [field.name]: sample(field, value) })).finish();
  let offset = 0;
  while (bytes[offset] & 0x80) {
    offset += 1;
  }
  const wireType = bytes[0] & 7;
  return wireType === 2 ? null : { wireType, valueLength: bytes.length - offset - 1 };
}

// Names the protobuf scalar type of a numeric field, e.g. fixed64 or sint32,
// for error messages. JSON treats all types of one kind alike.
function protoTypeOf(type, field, kind) {
  const signed = kind === 'int32' || kind === 'int64';
  const bits = kind.endsWith('32') ? '32' : '64';
  const shape = encodedShape(type, field, signed ? -1 : 1);
  if (kind === 'double') {
    if (shape === null) {
      return 'double';
    }
    return shape.wireType === 5 ? 'float' : 'double';
  }
  if (shape === null) {
    return kind;
  }
  if (shape.wireType === 1 || shape.wireType === 5) {
    return `${signed ? 'sfixed' : 'fixed'}${bits}`;
  }
  // Zigzag encoding writes -1 as the single byte 1; plain int types take
  // ten bytes for it.
  if (signed && shape.valueLength === 1) {
    return `sint${bits}`;
  }
  return kind;
}

function classifyScalar(type, field) {
  const error = type.verify({ [field.name]: sample(field, {}) });
  const prefix = `${field.name}: `;
  if (typeof error !== 'string' || !error.startsWith(prefix)) {
    throw new Error(`cannot classify field ${typeName(type)}.${field.name}: verify() returned ${JSON.stringify(error)}`);
  }
  const text = error.slice(prefix.length).replace('[] expected', ' expected');
  const kind = KIND_BY_VERIFY_TEXT.get(text);
  if (kind === undefined) {
    throw new Error(`cannot classify field ${typeName(type)}.${field.name}: unknown verify() text ${JSON.stringify(error)}`);
  }
  if (kind === 'int32') {
    return roundTrip(type, field, -1) === '-1' ? 'int32' : 'uint32';
  }
  if (kind === 'int64') {
    return roundTrip(type, field, '-1') === '-1' ? 'int64' : 'uint64';
  }
  return kind;
}

// Finds the enum of an enum field: the one generated enum whose every name
// fromObject() accepts for this field and maps to the enum's number.
function findEnum(type, field) {
  enumsByFullName ??= collectEnums(root, '', new Map());
  const matches = [];
  for (const [fullName, values] of enumsByFullName) {
    const accepted = Object.entries(values).every(([name, number]) => {
      const message = type.fromObject({ [field.name]: sample(field, name) });
      return Object.hasOwn(message, field.name) && unwrap(field, message[field.name]) === number;
    });
    if (accepted) {
      matches.push({ fullName, values });
    }
  }
  if (matches.length !== 1) {
    throw new Error(`cannot find the enum of ${typeName(type)}.${field.name}: ${matches.length} enums match`);
  }
  return matches[0];
}

// Maps each oneof member to its oneof. A generated oneof is an accessor on
// the prototype whose getter returns the name of the member that is set.
function findOneofs(type, fieldNames) {
  const oneofByMember = new Map();
  const descriptors = Object.getOwnPropertyDescriptors(type.prototype);
  for (const [oneofName, descriptor] of Object.entries(descriptors)) {
    if (typeof descriptor.get !== 'function') {
      continue;
    }
    for (const fieldName of fieldNames) {
      const message = type.create();
      message[fieldName] = 1;
      if (message[oneofName] === fieldName) {
        oneofByMember.set(fieldName, oneofName);
      }
    }
  }
  return oneofByMember;
}

/**
 * Describes a generated message type and, recursively, the message types of
 * its fields. The result is cached per type:
 *   { name, fields: Map(jsonName -> field) }
 * where a field is
 *   { name, repeated, kind, protoType, oneof, messageType, enumName, enumValues }
 * where kind is the JSON class: message, enum, string, bytes, bool, double,
 * int32, uint32, int64 or uint64. The JSON mapping treats float like double
 * and fixed and sint types like the int type of the same signedness and
 * width. protoType keeps the protobuf type (fixed64, float, ...) for error
 * messages, except for packed repeated numbers, where it equals kind.
 *
 * The generated property names are protobufjs's camelCase of the proto field
 * names. For every OTLP field this equals the lowerCamelCase json_name of
 * the proto3 JSON mapping, because no OTLP field name has a digit or a
 * double underscore, the only cases where the two rules differ.
 */
export function describeType(type) {
  const cached = descriptions.get(type);
  if (cached) {
    return cached;
  }
  const description = { name: typeName(type), fields: new Map() };
  descriptions.set(type, description);

  const fieldNames = Object.keys(type.prototype).filter((key) => typeof type.prototype[key] !== 'function');
  const oneofByMember = findOneofs(type, fieldNames);

  for (const name of fieldNames) {
    const field = {
      name,
      repeated: Array.isArray(type.prototype[name]),
      kind: null,
      protoType: null,
      oneof: oneofByMember.get(name) ?? null,
      messageType: null,
      enumName: null,
      enumValues: null,
    };
    if (type.verify({ [name]: sample(field, 1) }) === `${name}.object expected`) {
      field.kind = 'message';
      const message = type.fromObject({ [name]: sample(field, {}) });
      field.messageType = unwrap(field, message[name]).constructor;
      field.protoType = 'message';
    } else {
      field.kind = classifyScalar(type, field);
      field.protoType = ['int32', 'uint32', 'int64', 'uint64', 'double'].includes(field.kind)
        ? protoTypeOf(type, field, field.kind)
        : field.kind;
    }
    if (field.kind === 'enum') {
      const found = findEnum(type, field);
      field.enumName = found.fullName;
      field.enumValues = new Map(Object.entries(found.values).map(([enumName, number]) => [number, enumName]));
    }
    description.fields.set(name, field);
  }

  for (const field of description.fields.values()) {
    if (field.messageType) {
      describeType(field.messageType);
    }
  }
  return description;
}
