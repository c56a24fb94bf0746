/** FileStore's on-disk format: a fixed 32-byte header, the owner, then the data bytes exactly as given. */

import { MAX_OWNER_BYTES } from '../../src/option-checks.js';

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
 * | 28-29 | owner length in bytes, uint16, at most {@link MAX_OWNER_BYTES} (format 2; 0 for none) |
 * | 30-31 | reserved, zero |
 *
 * Then the owner (UTF-8, format 2 only), then the data. Format 1, written before owners, is
 * format 2 with bytes 28-31 zero: it is still read, as a session without an owner.
 *
 * Expiry, version and owner sit before the data so `get` of an expired file, `prune()` and a
 * writer's check read at most 287 bytes and never the data; the lengths let a reader tell a whole
 * file from a torn one.
 */
export const HEADER_BYTES = 32;

/** The format this release writes. A later release bumps it and keeps reading this one. */
export const FORMAT_VERSION = 2;
/** The oldest format this release reads. */
const OLDEST_FORMAT = 1;

/** An owner is a user id: room for any, not for data smuggled in as one (the middleware checks the same). */
export { MAX_OWNER_BYTES };

/** Where the expiry sits, so `touch` can rewrite those 8 bytes in place. */
export const EXPIRES_OFFSET = 8;

/** The data length field is a uint32. */
export const MAX_DATA_BYTES = 0xffff_ffff;

const MAGIC = Buffer.from('KSKF', 'latin1');
const FORMAT_OFFSET = 4;
const VERSION_OFFSET = 16;
const LENGTH_OFFSET = 24;
const OWNER_LENGTH_OFFSET = 28;

/** A header that parsed: what the store needs without touching the data. */
export interface FileHeader {
  readonly expires: number;
  readonly version: number;
  /** Data bytes that follow the header and the owner. */
  readonly length: number;
  /** Where the data starts: after the header and the owner's bytes. */
  readonly dataOffset: number;
  /** Whose session it is; undefined for none (and in format 1). */
  readonly owner: string | undefined;
}

/**
 * What 32 bytes at the start of a file turned out to be: a header, a file written by a newer
 * release (left alone: a rolling deploy may run both), or something this store never wrote whole.
 */
export type HeaderRead =
  | { readonly kind: 'header'; readonly header: FileHeader }
  | { readonly kind: 'newer'; readonly format: number }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** The 32 header bytes for a record, whose owner takes `ownerBytes` bytes after them. */
export function encodeHeader(expires: number, version: number, length: number, ownerBytes = 0): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[FORMAT_OFFSET] = FORMAT_VERSION;
  header.writeDoubleLE(expires, EXPIRES_OFFSET);
  header.writeDoubleLE(version, VERSION_OFFSET);
  header.writeUInt32LE(length, LENGTH_OFFSET);
  header.writeUInt16LE(ownerBytes, OWNER_LENGTH_OFFSET);
  return header;
}

/** The 8 bytes `touch` writes at {@link EXPIRES_OFFSET}. */
export function encodeExpires(expires: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(expires, 0);
  return bytes;
}

/**
 * Reads a header, and the owner after it, from the first `filled` bytes of `bytes` (give it at
 * least {@link HEADER_BYTES} + {@link MAX_OWNER_BYTES} when the file has them); never throws.
 */
export function parseHeader(bytes: Buffer, filled: number): HeaderRead {
  if (filled < HEADER_BYTES) return { kind: 'corrupt', reason: `${filled}-byte file, shorter than the header` };
  if (!bytes.subarray(0, 4).equals(MAGIC)) return { kind: 'corrupt', reason: 'no KSKF magic' };
  const format = bytes[FORMAT_OFFSET] ?? 0;
  if (format > FORMAT_VERSION) return { kind: 'newer', format };
  if (format < OLDEST_FORMAT) return { kind: 'corrupt', reason: `format ${format}` };
  const ownerBytes = format === 1 ? 0 : bytes.readUInt16LE(OWNER_LENGTH_OFFSET);
  const reservedClear =
    bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0 && bytes.readUInt16LE(30) === 0 && (format !== 1 || bytes.readUInt16LE(28) === 0);
  const expires = bytes.readDoubleLE(EXPIRES_OFFSET);
  const version = bytes.readDoubleLE(VERSION_OFFSET);
  if (!reservedClear || !Number.isFinite(expires) || !Number.isSafeInteger(version) || version < 1 || ownerBytes > MAX_OWNER_BYTES) {
    return { kind: 'corrupt', reason: 'header fields out of range' };
  }
  const dataOffset = HEADER_BYTES + ownerBytes;
  if (filled < dataOffset) return { kind: 'corrupt', reason: `${filled}-byte file, shorter than its header and owner` };
  const owner = ownerBytes === 0 ? undefined : bytes.toString('utf8', HEADER_BYTES, dataOffset);
  return { kind: 'header', header: { expires, version, length: bytes.readUInt32LE(LENGTH_OFFSET), dataOffset, owner } };
}

/** A header of a session that is still live at `now`. */
export function isLive(read: HeaderRead | undefined, now: number): read is { kind: 'header'; header: FileHeader } {
  return read?.kind === 'header' && read.header.expires > now;
}

/** A file prune may remove: expired, or not a whole file of a format this release knows (a newer one is left alone). */
export function isPrunable(read: HeaderRead | undefined, now: number): boolean {
  if (read === undefined || read.kind === 'newer') return false;
  return read.kind === 'corrupt' || read.header.expires <= now;
}
