/**
 * The floor: the least work a session with this package's guarantees can do, written by hand as
 * one middleware. Per request it reads the cookie, verifies the id's HMAC, digests the id, looks
 * the record up in a Map, opens the envelope and decodes strict JSON; after the handler, when the
 * data changed, it runs the strict walker, serializes, builds a new envelope, stores it and sends
 * the cookie with the moved expiry. It uses this package's own signer, digest, envelope,
 * serializer and cookie formatting, so the crypto and encoding costs are the kit's.
 *
 * What it leaves out is the middleware's machinery: lazy loading, the Session object, options,
 * the per-id commit queue, version conflicts and their re-application, error wrapping, key
 * rotation. So `floor-*` against `kit-*` is what that machinery costs, and bare Koa against
 * `floor-*` is the price of the design's mandatory work, which no implementation avoids.
 */

import type Koa from 'koa';
import type { Context } from 'koa';
import { ObjectView, routes } from './handlers.js';
import { exported, loadEntry, loadInternal, type BenchApp } from './package.js';

interface Serializer {
  readonly name: string;
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}

const DAY_MS = 86_400_000;

interface Entry {
  data: string;
  expires: number;
}

/** What the middleware knows of one request's session. */
interface Slot {
  data: Record<string, unknown>;
  id: string | undefined;
  digest: string | undefined;
  /** The cookie value as received, sent back unchanged with the new expiry. */
  cookie: string | undefined;
  created: number;
  changed: boolean;
}

/** The floor app; `keys` are the same app keys the kit scenarios sign with. */
export async function floorApp(app: Koa, keys: readonly string[]): Promise<BenchApp> {
  const { EnvelopeCodec, IdSigner, formatCookie, readCookie, resolveCookie } = await loadInternal();
  const kit = await loadEntry('koa-session-kit');
  const jsonSerializer = exported<() => Serializer>(kit, 'jsonSerializer', 'koa-session-kit');
  const digestId = exported<(id: string) => string>(kit, 'digestId', 'koa-session-kit');
  const generateId = exported<() => string>(kit, 'generateId', 'koa-session-kit');
  const isValidId = exported<(id: string) => boolean>(kit, 'isValidId', 'koa-session-kit');
  const cookie = resolveCookie({ name: 'koa.sid' });
  const signer = new IdSigner(keys, cookie.name);
  const serializer = jsonSerializer();
  const codec = new EnvelopeCodec(serializer.name);
  const records = new Map<string, Entry>();
  const slots = new WeakMap<Context, Slot>();

  /** The request's session: the stored one when the cookie verifies and the record is live, else empty. */
  function load(ctx: Context, now: number): Slot {
    const slot: Slot = { data: {}, id: undefined, digest: undefined, cookie: undefined, created: now, changed: false };
    const raw = readCookie(ctx.req.headers.cookie, cookie.name);
    const dot = raw === undefined ? -1 : raw.indexOf('.');
    if (raw === undefined || dot === -1) return slot;
    const id = raw.slice(0, dot);
    if (!isValidId(id) || signer.verify(id, raw.slice(dot + 1))?.stale !== false) return slot;
    const digest = digestId(id);
    const entry = records.get(digest);
    if (entry === undefined || entry.expires <= now) return slot;
    const envelope = codec.decode(Buffer.from(entry.data, 'latin1'));
    if (envelope === undefined) return slot;
    slot.data = serializer.deserialize(envelope.payload) as Record<string, unknown>;
    slot.created = envelope.created;
    slot.id = id;
    slot.digest = digest;
    slot.cookie = raw;
    return slot;
  }

  app.use(async (ctx, next) => {
    const slot = load(ctx, Date.now());
    slots.set(ctx, slot);
    await next();
    if (!slot.changed) return;
    const now = Date.now();
    const bytes = codec.encode(slot.created, undefined, serializer.serialize(slot.data));
    let { id, digest, cookie: value } = slot;
    if (id === undefined || digest === undefined || value === undefined) {
      id = generateId();
      digest = digestId(id);
      value = signer.sign(id);
    }
    const expires = now + DAY_MS;
    records.set(digest, { data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), expires });
    ctx.res.setHeader('Set-Cookie', formatCookie(cookie, value, false, expires, now));
  });
  app.use(
    routes(async (ctx) => {
      const slot = slots.get(ctx) as Slot;
      return new ObjectView(slot.data, () => void (slot.changed = true));
    }),
  );
  return { app, close: async () => records.clear() };
}
