/**
 * The three serializers' encode and decode paths as they were at commit fa4eb7c, before the walker
 * read once, on the reference walker beside this file. The carries are today's (the pre-walker
 * walker ignores the fields added since); superjson's registered-class hook refuses every instance,
 * which the measured sessions never reach. Only for bench/studies/walker.ts.
 */

import { Buffer } from 'node:buffer';
import { Packr, Unpackr } from 'msgpackr';
import { SuperJSON } from 'superjson';
import { JSON_CARRIES } from '../../../serializers/json.js';
import { MSGPACK_CARRIES } from '../../../serializers/msgpack.js';
import { SUPERJSON_CARRIES } from '../../../serializers/superjson.js';
import type { Serializer } from '../../../src/serializer.js';
import { compileCarries, MAX_DEPTH } from '../../../src/strict/carries.js';
import { assertCarries, assertDecoded } from './walker.js';

export function preWalkerJson(): Serializer {
  const carries = compileCarries(JSON_CARRIES);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    name: 'json',
    serialize(value: unknown): Uint8Array {
      assertCarries(value, carries, MAX_DEPTH);
      return Buffer.from(JSON.stringify(value), 'utf8');
    },
    deserialize(bytes: Uint8Array): unknown {
      const value: unknown = JSON.parse(decoder.decode(bytes));
      assertDecoded(value, carries, MAX_DEPTH, 'jsonSerializer');
      return value;
    },
  };
}

export function preWalkerSuperjson(): Serializer {
  const instance = new SuperJSON();
  const carries = compileCarries({ ...SUPERJSON_CARRIES, instance: () => undefined });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    name: 'superjson',
    serialize(value: unknown): Uint8Array {
      assertCarries(value, carries, MAX_DEPTH);
      return encoder.encode(JSON.stringify(instance.serialize(value as Parameters<SuperJSON['serialize']>[0])));
    },
    deserialize(bytes: Uint8Array): unknown {
      const payload = JSON.parse(decoder.decode(bytes)) as Parameters<SuperJSON['deserialize']>[0];
      const value = instance.deserialize(payload);
      assertDecoded(value, carries, MAX_DEPTH, 'superjsonSerializer');
      return value;
    },
  };
}

const PACKR_OPTIONS = { structuredClone: true, useBigIntExtension: true, useRecords: true, mapsAsObjects: false };
const REPLACEMENT_CHARACTER = Buffer.from([0xef, 0xbf, 0xbd]);

function mayHoldLoneSurrogate(packed: Buffer): boolean {
  for (let at = packed.indexOf(0xed); at !== -1; at = packed.indexOf(0xed, at + 1)) {
    const next = packed[at + 1];
    if (next !== undefined && next >= 0xa0 && next <= 0xbf) return true;
  }
  return packed.indexOf(REPLACEMENT_CHARACTER) !== -1;
}

export function preWalkerMsgpack(): Serializer {
  const encoding = compileCarries(MSGPACK_CARRIES);
  const skimming = compileCarries({ ...MSGPACK_CARRIES, loneSurrogates: true });
  const decoded = compileCarries({ ...MSGPACK_CARRIES, typedArrayBase: undefined });
  const packr = new Packr(PACKR_OPTIONS);
  const unpackr = new Unpackr(PACKR_OPTIONS);
  return {
    name: 'msgpack',
    serialize(value: unknown): Uint8Array {
      assertCarries(value, skimming, MAX_DEPTH);
      const packed = packr.pack(value);
      if (mayHoldLoneSurrogate(packed)) assertCarries(value, encoding, MAX_DEPTH);
      return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
    },
    deserialize(bytes: Uint8Array): unknown {
      const value: unknown = unpackr.unpack(bytes);
      assertDecoded(value, decoded, MAX_DEPTH, 'msgpackSerializer');
      return value;
    },
  };
}
