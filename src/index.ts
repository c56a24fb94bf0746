/** koa-session-kit: sessions for Koa, after aiohttp_session. The public surface, named exports only. */

import type { SessionView } from './ctx-session.js';
import type { Session } from './session.js';
import type { SessionDataOf } from './session-types.js';

export { session, getSession, newSession } from './middleware.js';
export type { SessionContext, SessionMiddleware } from './middleware.js';
export type { SessionInfo } from './owners.js';
export type { SessionEvent, SessionEventListener, RejectReason, StoreEvent, StoreEventSink } from './events.js';
export { SESSION_EVENT_TYPES } from './events.js';

export type { SessionOptions } from './options.js';
export type { CookieOptions } from './cookie.js';
export { MAX_COOKIE_BYTES } from './cookie.js';

// The class is exported as a type only: sessions come from getSession(), never from `new`.
export type { Session, SessionData } from './session.js';
export type { SessionTypes, SessionDataOf } from './session-types.js';
export type { SessionView, SessionViewMethods, SessionCallback } from './ctx-session.js';

export {
  SessionKitError,
  SerializationError,
  SessionStoreError,
  CookieTooLargeError,
  SessionTooLargeError,
  SessionNotInstalledError,
  isSessionKitError,
  isSerializationError,
  isSessionStoreError,
  isCookieTooLargeError,
  isSessionTooLargeError,
  isSessionNotInstalledError,
} from './errors.js';
export type { SessionKitErrorCode, SerializationErrorDetails } from './errors.js';

export type { Store, StoredRecord, RecordWrite, SealedCookieStore, OpenedCookie, SessionStore } from './store.js';
export { isSealedCookieStore } from './store.js';
export type { Serializer } from './serializer.js';

export { generateId, isValidId, digestId } from './id.js';

// The defaults, re-exported so `session()` users need one import.
export { MemoryStore } from '../stores/memory.js';
export type { MemoryStoreOptions } from '../stores/memory.js';
export { jsonSerializer } from '../serializers/json.js';

declare module 'koa' {
  interface DefaultState {
    /** The default session, once `getSession(ctx)` has loaded it (its view, with `ctxSession` on). */
    session?: Session<SessionDataOf<'session'>>;
  }
  interface DefaultContext {
    /** The `ctx.session` view, with `session({ ctxSession: true })`; undefined without it. */
    get session(): SessionView<SessionDataOf<'session'>> | undefined;
    /** `null` logs out (as `invalidate()`); an object replaces the data. */
    set session(value: Partial<SessionDataOf<'session'>> | null | undefined);
  }
}
