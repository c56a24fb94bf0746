/**
 * Internal entry for the benchmark, NOT public: not in package.json `exports`, no semver promise.
 *
 * The bench's floor (bench/floor.ts) does a session's mandatory work by hand with the package's own
 * signer, envelope and cookie formatting, so its crypto and encoding cost the same as the kit's;
 * the MemoryStore scale study builds records with the same envelope. Everything else the bench
 * uses goes through the public entry points. The bench loads this file as the sibling of the
 * built main entry (`dist/src/internal.js`), so moving these modules only means editing this list.
 */

export { formatCookie, readCookie, resolveCookie } from './cookie.js';
export type { ResolvedCookie } from './cookie.js';
export { EnvelopeCodec } from './envelope.js';
export { IdSigner } from './signature.js';
