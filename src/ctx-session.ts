/**
 * The `ctx.session` view (`session({ ctxSession: true })`): the request's Session seen as a plain
 * object, with express-session's and koa-session's methods, for middleware written against them
 * (koa-passport, koa-csrf, grant). Every read and write goes through the Session, so strictness,
 * change detection and conflict handling are the same as through `getSession(ctx)`.
 */

import { reservedKeyError, type Session, type SessionData } from './session.js';

/** A Node-style callback, as express-session's methods take. */
export type SessionCallback = (error?: unknown) => void;

/** The methods and properties a view carries besides the data; data keys of these names are refused. */
export interface SessionViewMethods<T extends object = SessionData> {
  /**
   * express-session: a new id and empty data at commit; the old record is destroyed (what passport
   * calls at login and logout). `ctx.session` is a new view afterwards; one kept from before still
   * shows the old data (passport's `keepSessionInfo` copies from it), and writes to it are lost.
   */
  regenerate(callback?: SessionCallback): Promise<void>;
  /** Makes sure the session is saved at commit, which runs before the response is sent. */
  save(callback?: SessionCallback): Promise<void>;
  /** express-session: logout; the data goes, the record is destroyed and the cookie cleared (as `ctx.session = null`). */
  destroy(callback?: SessionCallback): Promise<void>;
  /** express-session: drops this request's changes and reads the session again from its cookie. */
  reload(callback?: SessionCallback): Promise<void>;
  /** koa-session: true when no stored session was loaded. */
  readonly isNew: boolean;
  /** koa-session: this session's idle lifetime in ms; setting it persists with the session. */
  maxAge: number;
  /** koa-session: the number of data keys. */
  readonly length: number;
  /** koa-session: true when there is any data. */
  readonly populated: boolean;
  /** The data as a plain object. */
  toJSON(): Partial<T>;
}

/** `ctx.session`: the data as properties, plus {@link SessionViewMethods}. */
export type SessionView<T extends object = SessionData> = Partial<T> & SessionViewMethods<T>;

/** What a view needs from its request: the current Session (it changes on regenerate and reload) and the ways to change it. */
export interface ViewHost {
  current(): Session;
  regenerate(): void;
  reload(): Promise<unknown>;
}

/** Names a view answers itself; `then` too, since a data key of that name would make the view a thenable. */
export const RESERVED_VIEW_KEYS: ReadonlySet<string> = new Set([
  'regenerate',
  'save',
  'destroy',
  'reload',
  'isNew',
  'maxAge',
  'length',
  'populated',
  'toJSON',
  'then',
]);

/** Runs `work`, then settles the promise and the callback, the callback exactly once. */
function settle(work: () => unknown, callback: SessionCallback | undefined): Promise<void> {
  const done = Promise.resolve()
    .then(work)
    .then(() => undefined);
  if (callback !== undefined) done.then(() => callback(), callback);
  return done;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Replaces the data with `value`'s own keys (`ctx.session = {…}`), or logs out (`ctx.session = null`). */
export function assignView(host: ViewHost, value: unknown): void {
  const session = host.current();
  if (value === null) return session.invalidate();
  if (!isPlainObject(value)) {
    throw new TypeError(`koa-session-kit: ctx.session can only be set to null or a plain object (received ${typeof value})`);
  }
  for (const key of Object.keys(value)) if (RESERVED_VIEW_KEYS.has(key)) throw reservedKeyError(key);
  session.clear();
  for (const key of Object.keys(value)) session.set(key, value[key]);
}

/**
 * The view of `session`, one of the request's sessions. `regenerate` and `reload` put a new
 * Session, with a new view, in its place; this view keeps showing the one it was made for, as
 * express-session's old `req.session` does, so passport's `keepSessionInfo` can copy from it.
 */
export function createView(host: ViewHost, session: Session): SessionView {
  // koa-session's properties are answered in the get trap, not as accessors on this object: V8
  // turns an object literal whose getters are fresh closures into a slow dictionary-mode object
  // from the second one made, and its garbage collection then dominated a request with the view on.
  const methods: Record<string, unknown> = {
    regenerate: (callback?: SessionCallback) => settle(() => host.regenerate(), callback),
    save: (callback?: SessionCallback) => settle(() => session.changed(), callback),
    destroy: (callback?: SessionCallback) => settle(() => session.invalidate(), callback),
    reload: (callback?: SessionCallback) => settle(() => host.reload(), callback),
    toJSON: () => session.toJSON(),
  } satisfies Pick<SessionViewMethods, 'regenerate' | 'save' | 'destroy' | 'reload' | 'toJSON'>;
  const handler: ProxyHandler<Record<string, unknown>> = {
    get(_target, key) {
      if (typeof key !== 'string') return undefined;
      if (!RESERVED_VIEW_KEYS.has(key)) return session.get(key);
      switch (key) {
        case 'isNew':
          return session.isNew;
        case 'maxAge':
          return session.maxAge;
        case 'length':
          return session.size;
        case 'populated':
          return session.size > 0;
        default:
          return methods[key]; // undefined for `then`: the view is never a thenable
      }
    },
    set(_target, key, value) {
      if (typeof key !== 'string') throw new TypeError('koa-session-kit: session keys must be strings (received symbol)');
      if (key === 'maxAge') session.maxAge = value as number;
      else if (RESERVED_VIEW_KEYS.has(key)) throw reservedKeyError(key);
      else session.set(key, value);
      return true;
    },
    deleteProperty(_target, key) {
      if (typeof key === 'string') session.delete(key);
      return true;
    },
    has(_target, key) {
      return typeof key === 'string' && (RESERVED_VIEW_KEYS.has(key) ? key !== 'then' : session.has(key));
    },
    ownKeys() {
      return [...session.keys()];
    },
    getOwnPropertyDescriptor(_target, key) {
      if (typeof key !== 'string' || RESERVED_VIEW_KEYS.has(key) || !session.has(key)) return undefined;
      return { value: session.get(key), writable: true, enumerable: true, configurable: true };
    },
    defineProperty(_target, key, descriptor) {
      if (!('value' in descriptor)) throw new TypeError('koa-session-kit: session values must be data, not accessors');
      return handler.set!(_target, key, descriptor.value, undefined);
    },
  };
  // The target stays empty: every answer comes from the Session, and an empty extensible target
  // lets the traps report any key as an ordinary, configurable data property.
  return new Proxy({}, handler) as SessionView;
}

/** What the context property needs of a request: its view, and a host to assign through. */
export interface ViewSlot extends ViewHost {
  readonly view: SessionView;
}

/**
 * Defines the view's property on an app's context prototype, once per app: a getter for the
 * request's view and a setter for `ctx.session = null | {…}`. A request that did not pass
 * through the middleware reads `undefined`, as with no session middleware at all.
 */
export function defineViewProperty(proto: object, property: string, slotOf: (ctx: object) => ViewSlot | undefined): void {
  if (property in proto) {
    throw new Error(
      `koa-session-kit: ctx.${property} is already defined (by Koa, another session() or another session middleware); choose another \`ctxSession\` property`,
    );
  }
  Object.defineProperty(proto, property, {
    configurable: true,
    get(this: object) {
      return slotOf(this)?.view;
    },
    set(this: object, value: unknown) {
      const slot = slotOf(this);
      if (slot === undefined) throw new Error(`koa-session-kit: ctx.${property} was set on a request the session middleware did not see`);
      assignView(slot, value);
    },
  });
}
