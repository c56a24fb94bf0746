/** The stored envelope: session metadata kept apart from user data, tagged with the serializer's name. */

/**
 * Layout, all integers big-endian:
 *   u8  format version (1)
 *   u8  n, the serializer name's length; then n bytes of ASCII name
 *   f64 created, ms since the epoch
 *   f64 maxAge in ms set on this session, or -1 when it follows the app's `maxAge`
 *   ... the serializer's bytes for the user data, untouched
 * Metadata outside the user data means a user key named `created` is just data, and the name tag
 * means a record written by another serializer is recognised instead of misread.
 */
export const ENVELOPE_VERSION = 1;

const FOLLOW_APP_MAX_AGE = -1;

/** Eight bytes from a store's Uint8Array (not always a Buffer) through one shared scratch view, with no allocation. */
const scratch = new DataView(new ArrayBuffer(8));
function readDoubleBE(bytes: Uint8Array, offset: number): number {
  for (let i = 0; i < 8; i++) scratch.setUint8(i, bytes[offset + i] as number);
  return scratch.getFloat64(0);
}

/** An envelope taken apart. `payload` is a view into the stored bytes, not a copy. */
export interface Envelope {
  created: number;
  /** The per-session maxAge in ms, or undefined when the session follows the app's. */
  maxAge: number | undefined;
  payload: Uint8Array;
}

/** Builds and reads envelopes for one serializer; the header prefix is computed once. */
export class EnvelopeCodec {
  readonly #prefix: Uint8Array;

  constructor(serializerName: string) {
    const name = Buffer.from(serializerName, 'ascii');
    if (name.length === 0 || name.length > 255 || !/^[\x21-\x7e]+$/.test(serializerName)) {
      throw new TypeError(
        `koa-session-kit: serializer \`name\` must be 1-255 printable ASCII characters (received ${JSON.stringify(serializerName)})`,
      );
    }
    this.#prefix = new Uint8Array(2 + name.length);
    this.#prefix[0] = ENVELOPE_VERSION;
    this.#prefix[1] = name.length;
    this.#prefix.set(name, 2);
  }

  encode(created: number, maxAge: number | undefined, payload: Uint8Array): Uint8Array {
    const prefix = this.#prefix;
    // From Node's Buffer pool: an envelope is handed to a store, which copies or sends it, so a
    // pooled slice costs no ArrayBuffer of its own. Every byte is written below.
    const out = Buffer.allocUnsafe(prefix.length + 16 + payload.length);
    out.set(prefix, 0);
    out.writeDoubleBE(created, prefix.length);
    out.writeDoubleBE(maxAge ?? FOLLOW_APP_MAX_AGE, prefix.length + 8);
    out.set(payload, prefix.length + 16);
    return out;
  }

  /** `undefined` for bytes of another format version or serializer, or of the wrong shape. */
  decode(bytes: Uint8Array): Envelope | undefined {
    const prefix = this.#prefix;
    if (bytes.length < prefix.length + 16) return undefined;
    for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return undefined;
    const created = readDoubleBE(bytes, prefix.length);
    const maxAge = readDoubleBE(bytes, prefix.length + 8);
    if (!Number.isFinite(created) || created < 0) return undefined;
    if (maxAge !== FOLLOW_APP_MAX_AGE && !(maxAge > 0 && Number.isFinite(maxAge))) return undefined;
    return {
      created,
      maxAge: maxAge === FOLLOW_APP_MAX_AGE ? undefined : maxAge,
      payload: bytes.subarray(prefix.length + 16),
    };
  }
}
