/** FileStore's on-disk format: a fixed 32-byte header, then the data bytes exactly as given. */

/**
 * Layout, all numbers little-endian:
 *
 * | bytes | field |
 * | --- | --- |
 * | 0-3 | magic `KSKF` (koa-session-kit file), so a foreign file in `dir` is never read as a session |
 * | 4 | format version, {@link FORMAT_VERSION} |
 * | 5-7 | reserved, zero |
 * | 8-15 | expiry, float64 ms since the Unix epoch |
 * | 16-23 | record version, float64 holding an integer (exact up to 2^53) |
 * | 24-27 | data length in bytes, uint32 |
 * | 28-31 | reserved, zero |
 *
 * Expiry and version sit before the data so `get` of an expired file and `prune()` read 32 bytes
 * and never the data; the length lets a reader tell a whole file from a torn one.
 */
export const HEADER_BYTES = 32;

/** The format this release writes. A later release bumps it and keeps reading this one. */
export const FORMAT_VERSION = 1;

/** Where the expiry sits, so `touch` can rewrite those 8 bytes in place. */
export const EXPIRES_OFFSET = 8;

/** The data length field is a uint32. */
export const MAX_DATA_BYTES = 0xffff_ffff;

const MAGIC = Buffer.from('KSKF', 'latin1');
const FORMAT_OFFSET = 4;
const VERSION_OFFSET = 16;
const LENGTH_OFFSET = 24;

/** A header that parsed: what the store needs without touching the data. */
export interface FileHeader {
  readonly expires: number;
  readonly version: number;
  /** Data bytes that follow the header. */
  readonly length: number;
}

/**
 * What 32 bytes at the start of a file turned out to be: a header, a file written by a newer
 * release (left alone: a rolling deploy may run both), or something this store never wrote whole.
 */
export type HeaderRead =
  | { readonly kind: 'header'; readonly header: FileHeader }
  | { readonly kind: 'newer'; readonly format: number }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** The 32 header bytes for a record. */
export function encodeHeader(expires: number, version: number, length: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[FORMAT_OFFSET] = FORMAT_VERSION;
  header.writeDoubleLE(expires, EXPIRES_OFFSET);
  header.writeDoubleLE(version, VERSION_OFFSET);
  header.writeUInt32LE(length, LENGTH_OFFSET);
  return header;
}

/** The 8 bytes `touch` writes at {@link EXPIRES_OFFSET}. */
export function encodeExpires(expires: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(expires, 0);
  return bytes;
}

/** Reads a header from the first `filled` bytes of `bytes`; never throws. */
export function parseHeader(bytes: Buffer, filled: number): HeaderRead {
  if (filled < HEADER_BYTES) return { kind: 'corrupt', reason: `${filled}-byte file, shorter than the header` };
  if (!bytes.subarray(0, 4).equals(MAGIC)) return { kind: 'corrupt', reason: 'no KSKF magic' };
  const format = bytes[FORMAT_OFFSET] ?? 0;
  if (format > FORMAT_VERSION) return { kind: 'newer', format };
  if (format !== FORMAT_VERSION) return { kind: 'corrupt', reason: `format ${format}` };
  const reservedClear = bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0 && bytes.readUInt32LE(28) === 0;
  const expires = bytes.readDoubleLE(EXPIRES_OFFSET);
  const version = bytes.readDoubleLE(VERSION_OFFSET);
  if (!reservedClear || !Number.isFinite(expires) || !Number.isSafeInteger(version) || version < 1) {
    return { kind: 'corrupt', reason: 'header fields out of range' };
  }
  return { kind: 'header', header: { expires, version, length: bytes.readUInt32LE(LENGTH_OFFSET) } };
}
