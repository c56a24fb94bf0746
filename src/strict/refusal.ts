/** Refusals: what was refused and where, the path text, and which serializer to suggest instead. */

import { SerializationError } from '../errors.js';

/** Which serializer to suggest for a type the current one refuses (first one that is not the current). */
const CARRIERS: Readonly<Record<string, readonly string[]>> = {
  Date: ['superjson', 'msgpack'],
  'Invalid Date': ['msgpack'],
  Map: ['superjson', 'msgpack'],
  Set: ['superjson', 'msgpack'],
  bigint: ['superjson', 'msgpack'],
  RegExp: ['superjson', 'msgpack'],
  Error: ['msgpack', 'superjson'],
  EvalError: ['msgpack'],
  RangeError: ['msgpack'],
  ReferenceError: ['msgpack'],
  SyntaxError: ['msgpack'],
  TypeError: ['msgpack'],
  URIError: ['msgpack'],
  ArrayBuffer: ['msgpack'],
  DataView: ['msgpack'],
  NaN: ['superjson', 'msgpack'],
  Infinity: ['superjson', 'msgpack'],
  '-Infinity': ['superjson', 'msgpack'],
  undefined: ['superjson', 'msgpack'],
  cycle: ['superjson', 'msgpack'],
  'lone surrogate': ['json', 'superjson'],
  'typed array': ['msgpack', 'superjson'],
};

const FACTORIES: Readonly<Record<string, string>> = {
  json: 'jsonSerializer()',
  superjson: 'superjsonSerializer()',
  msgpack: 'msgpackSerializer()',
};

function suggest(family: string, current: string): string | undefined {
  if (family === 'class instance') {
    return current === 'superjson'
      ? 'a SuperJSON instance with the class registered (superjsonSerializer({ instance }))'
      : 'superjsonSerializer({ instance }) with the class registered on that instance';
  }
  const name = CARRIERS[family]?.find((candidate) => candidate !== current);
  return name === undefined ? undefined : FACTORIES[name];
}
/** A refusal found deep in the walk; the path segments are collected on the way back up (error path only). */
export interface Refusal {
  type: string;
  /** The key into CARRIERS when it differs from `type` (class instances, typed arrays). */
  family?: string;
  reason: string | undefined;
  segments: string[];
}

export function refuse(type: string, reason?: string): Refusal {
  return { type, reason, segments: [] };
}
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function propertySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function joinPath(segments: readonly string[]): string {
  let path = '';
  for (let i = segments.length - 1; i >= 0; i--) path += segments[i];
  return path.startsWith('.') ? path.slice(1) : path;
}

const { propertyIsEnumerable } = Object.prototype;

const BOXES = new Set<object>([String, Number, Boolean, BigInt, Symbol].map((ctor) => ctor.prototype as object));

/**
 * More own names than for-in keys (inherited ones are refused as they come): a non-enumerable own
 * property, which serializers skip.
 */
export function hiddenKey(value: object, names: readonly string[]): Refusal {
  const hidden = names.find((name) => !propertyIsEnumerable.call(value, name)) ?? '';
  const refusal = refuse('non-enumerable property', 'is a non-enumerable property, which serializers skip');
  refusal.segments.push(propertySegment(hidden));
  return refusal;
}

/** A key for-in gives that is not an own property: an enumerable one on a (polluted) prototype. */
export function refuseInherited(): Refusal {
  return refuse('inherited property', 'is an enumerable property inherited from a prototype, which serializers skip');
}

export function refuseInstance(proto: object, serializer: string): Refusal {
  const ctor = (proto as { constructor?: unknown }).constructor;
  const name = typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'anonymous class';
  if (BOXES.has(proto)) {
    return refuse(`boxed ${name}`, `is a boxed ${name} (new ${name}(...)), which comes back unboxed or empty`);
  }
  const refusal = refuse(name, `is an instance of ${name}, which the ${serializer} serializer brings back as a plain object or not at all`);
  refusal.family = 'class instance';
  return refusal;
}

export function refuseLoneSurrogate(where: 'a string' | 'a key'): Refusal {
  const what = where === 'a string' ? 'is a string with' : 'is under a key with';
  return refuse('lone surrogate', `${what} a lone surrogate, which does not survive UTF-8`);
}

export function refuseNonFinite(value: number, serializer: string): Refusal {
  const type = Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return refuse(type, `is ${value}, which the ${serializer} serializer turns into null`);
}

export function refuseUndefined(serializer: string): Refusal {
  return refuse('undefined', `is \`undefined\` outside an object property, which the ${serializer} serializer turns into null`);
}

export function refuseSymbolKey(key: symbol): Refusal {
  const refusal = refuse('symbol key', 'is under a symbol key, which no serializer keeps');
  refusal.segments.push(`[${String(key)}]`);
  return refusal;
}

export function refuseReservedKey(key: string, serializer: string): Refusal {
  return refuse(
    `${key} key`,
    `is under a \`${key}\` key, which the ${serializer} serializer refuses (the library mangles it, and it is a prototype-pollution risk)`,
  );
}

/** The error for a refusal, with the path built now (the walk itself never builds one). */
export function toSerializationError(refusal: Refusal, serializer: string): SerializationError {
  return new SerializationError({
    path: joinPath(refusal.segments),
    type: refusal.type,
    serializer,
    suggestion: suggest(refusal.family ?? refusal.type, serializer),
    reason: refusal.reason,
  });
}
