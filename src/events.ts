/**
 * Lifecycle events: the closed list of what `session({ onEvent })` hears, and the one way to
 * deliver an event. Events are facts in the past tense and carry no secret: never the cookie
 * value, the id or the data; a session appears as `record`, the first characters of its store
 * digest, which is enough to tie log lines together and useless as a cookie.
 */

import { debuglog } from 'node:util';
import type { StoreEvent } from './store.js';

const debug = debuglog('koa-session-kit');

/** How many characters of the store digest an event carries as `record`. */
export const RECORD_PREFIX_LENGTH = 8;

/** Why a cookie led to no session (the request starts a fresh one). */
export type RejectReason =
  /** The cookie value alone is longer than a browser keeps. */
  | 'cookie-oversized'
  /** Not an id this library issues (wrong length or characters). */
  | 'cookie-malformed'
  /** Keys are set but the cookie carries no signature. */
  | 'signature-missing'
  /** The signature matches none of the keys. */
  | 'signature-mismatch'
  /** The store has no (live) record for the id: logged out, revoked, evicted or expired and removed. */
  | 'unknown-id'
  /** The stored record (or sealed cookie) was written by another serializer or format, or its data does not decode. */
  | 'record-undecodable'
  /** A sealed-cookie store could not open the value (tampered, foreign key, or expired). */
  | 'seal-rejected';

/** Fields every event has. */
interface EventBase {
  /** The session's `name` option (`'session'` unless several are installed). */
  readonly name: string;
}

/** One event per fact; `type` tells which. See docs/events.md for when each is emitted. */
export type SessionEvent = EventBase &
  (
    | { readonly type: 'created'; readonly record?: string }
    | { readonly type: 'loaded'; readonly record?: string }
    | { readonly type: 'saved'; readonly record?: string; readonly touched: boolean }
    | { readonly type: 'regenerated'; readonly record?: string; readonly previous?: string }
    | { readonly type: 'invalidated'; readonly record?: string }
    | { readonly type: 'expired'; readonly record?: string; readonly cause: 'idle' | 'absolute-timeout' }
    | { readonly type: 'rejected'; readonly reason: RejectReason; readonly record?: string }
    | { readonly type: 'conflict-retried'; readonly record: string; readonly attempt: number }
    | { readonly type: 'store-error'; readonly operation: string; readonly error: Error; readonly record?: string }
    | { readonly type: 'sessions-revoked'; readonly owner?: string; readonly revoked: number; readonly record?: string }
    | StoreEvent
  );

/** Every event type, in the documented order. */
export const SESSION_EVENT_TYPES = [
  'created',
  'loaded',
  'saved',
  'regenerated',
  'invalidated',
  'expired',
  'rejected',
  'conflict-retried',
  'store-error',
  'sessions-revoked',
  'prune-finished',
  'prune-failed',
] as const satisfies readonly SessionEvent['type'][];

/** A subscriber, as the `onEvent` option takes it; a returned promise's rejection is caught too. */
export type SessionEventListener = (event: SessionEvent) => void | Promise<void>;

/** What {@link emit} needs: the subscriber and the session's name (a SessionSetup). */
export interface EventHost {
  readonly name: string;
  readonly onEvent: SessionEventListener | undefined;
}

/** The short, safe form of a store digest that events carry. */
export function recordOf(digest: string): string {
  return digest.slice(0, RECORD_PREFIX_LENGTH);
}

/**
 * Delivers one event. Callers check `target.onEvent !== undefined` before building the event, so
 * an app without a subscriber allocates nothing. A subscriber that throws (or rejects) never
 * breaks the request: its error goes to `NODE_DEBUG=koa-session-kit`.
 */
export function emit(target: EventHost, event: SessionEvent): void {
  const listener = target.onEvent;
  if (listener === undefined) return;
  try {
    const result: unknown = listener(event);
    if (result instanceof Promise) result.catch((error: unknown) => listenerFailed(target, event, error));
  } catch (error) {
    listenerFailed(target, event, error);
  }
}

function listenerFailed(target: EventHost, event: SessionEvent, error: unknown): void {
  debug(
    '%s: the onEvent subscriber threw on a %s event: %s',
    target.name,
    event.type,
    error instanceof Error ? error.message : String(error),
  );
}

export type { StoreEvent, StoreEventSink } from './store.js';
