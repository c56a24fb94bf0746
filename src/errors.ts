/** The errors koa-session-kit throws: one base class, a stable `code` each, safe for Koa's error handler. */

/** Stable codes, so callers can branch without `instanceof` across realms or duplicated installs. */
export type SessionKitErrorCode =
  | 'ERR_SESSION_SERIALIZATION'
  | 'ERR_SESSION_STORE'
  | 'ERR_SESSION_COOKIE_TOO_LARGE'
  | 'ERR_SESSION_TOO_LARGE'
  | 'ERR_SESSION_NOT_INSTALLED';

/**
 * Base of every error this library throws. `status` 500 and `expose` false follow Koa's
 * `ctx.onerror` contract: the client gets a generic "Internal Server Error", never our message.
 */
export class SessionKitError extends Error {
  override name = 'SessionKitError';
  readonly code: SessionKitErrorCode;
  readonly status = 500;
  readonly expose = false;

  constructor(code: SessionKitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** What a serializer would refuse, with where and what. */
export interface SerializationErrorDetails {
  /** Where the bad value sits, e.g. `cart.items[2].addedAt`; `''` for the root. */
  path: string;
  /** What the value is, e.g. `Date`, `function`, `cycle`. */
  type: string;
  /** The serializer that refused it. */
  serializer: string;
  /** A serializer that would carry it, when there is one. */
  suggestion?: string | undefined;
  /** Why, when more than "cannot carry this type" is needed. */
  reason?: string | undefined;
  cause?: unknown;
}

/** A session value the chosen serializer cannot bring back equal; thrown at commit. */
export class SerializationError extends SessionKitError {
  override name = 'SerializationError';
  readonly path: string;
  readonly type: string;
  readonly serializer: string;
  readonly suggestion: string | undefined;

  constructor(details: SerializationErrorDetails) {
    const where = details.path === '' ? 'the session data' : `session value \`${details.path}\``;
    const why = details.reason ?? `is a ${details.type}, which the ${details.serializer} serializer cannot bring back equal`;
    const fix = details.suggestion ? `; store a plain value instead, or use ${details.suggestion}` : '; store a plain value instead';
    super('ERR_SESSION_SERIALIZATION', `koa-session-kit: ${where} ${why}${fix}`, { cause: details.cause });
    this.path = details.path;
    this.type = details.type;
    this.serializer = details.serializer;
    this.suggestion = details.suggestion;
  }
}

/** A store operation failed; `cause` is the driver's error, untouched. */
export class SessionStoreError extends SessionKitError {
  override name = 'SessionStoreError';
  /** The store operation that failed, e.g. `get`, `update`. */
  readonly operation: string;

  constructor(message: string, options: { operation: string; cause?: unknown }) {
    super('ERR_SESSION_STORE', message, { cause: options.cause });
    this.operation = options.operation;
  }
}

/** The Set-Cookie value would exceed what browsers keep; thrown at commit, before any header is sent. */
export class CookieTooLargeError extends SessionKitError {
  override name = 'CookieTooLargeError';
  readonly size: number;
  readonly limit: number;

  constructor(cookieName: string, size: number, limit: number) {
    super(
      'ERR_SESSION_COOKIE_TOO_LARGE',
      `koa-session-kit: cookie \`${cookieName}\` would be ${size} bytes, over the ${limit}-byte limit browsers keep; ` +
        'store less in the session or use a server-side store',
    );
    this.size = size;
    this.limit = limit;
  }
}

/** A session's serialized data passed the `maxBytes` option; thrown at commit, before any store write. */
export class SessionTooLargeError extends SessionKitError {
  override name = 'SessionTooLargeError';
  readonly size: number;
  readonly limit: number;

  constructor(sessionName: string, size: number, limit: number) {
    super(
      'ERR_SESSION_TOO_LARGE',
      `koa-session-kit: session \`${sessionName}\` would store ${size} bytes of data, over its \`maxBytes\` of ${limit}; ` +
        'keep large data elsewhere and a reference in the session, or raise `maxBytes`',
    );
    this.size = size;
    this.limit = limit;
  }
}

/** `getSession` was called on a request that the `session()` middleware did not see. */
export class SessionNotInstalledError extends SessionKitError {
  override name = 'SessionNotInstalledError';

  constructor(sessionName: string) {
    const call = sessionName === 'session' ? 'session()' : `session({ name: '${sessionName}' })`;
    super(
      'ERR_SESSION_NOT_INSTALLED',
      `koa-session-kit: no session middleware named \`${sessionName}\` ran for this request; ` +
        `install it with app.use(${call}) before the routes that call getSession`,
    );
  }
}

function hasCode(error: unknown, code: SessionKitErrorCode): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** True for any koa-session-kit error, across realms (checks `code`, not the prototype chain). */
export function isSessionKitError(error: unknown): error is SessionKitError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    (error as { code: string }).code.startsWith('ERR_SESSION_')
  );
}

/** True for a {@link SerializationError}, across realms. */
export function isSerializationError(error: unknown): error is SerializationError {
  return hasCode(error, 'ERR_SESSION_SERIALIZATION');
}

/** True for a {@link SessionStoreError}, across realms. */
export function isSessionStoreError(error: unknown): error is SessionStoreError {
  return hasCode(error, 'ERR_SESSION_STORE');
}

/** True for a {@link CookieTooLargeError}, across realms. */
export function isCookieTooLargeError(error: unknown): error is CookieTooLargeError {
  return hasCode(error, 'ERR_SESSION_COOKIE_TOO_LARGE');
}

/** True for a {@link SessionTooLargeError}, from any copy of this package. */
export function isSessionTooLargeError(error: unknown): error is SessionTooLargeError {
  return hasCode(error, 'ERR_SESSION_TOO_LARGE');
}

/** True for a {@link SessionNotInstalledError}, from any copy of this package. */
export function isSessionNotInstalledError(error: unknown): error is SessionNotInstalledError {
  return hasCode(error, 'ERR_SESSION_NOT_INSTALLED');
}

/** A store operation's failure as a SessionStoreError naming the operation and record (one already wrapped passes through). */
export function storeFailure(operation: string, digest: string, error: unknown): SessionStoreError {
  if (isSessionStoreError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SessionStoreError(
    `koa-session-kit: store ${operation}() failed for session ${digest.slice(0, 8)}… (${message}); the stored session was left as it was`,
    { operation, cause: error },
  );
}

/** Runs a store operation; any failure, thrown or rejected, becomes a {@link storeFailure}. */
export async function callStore<R>(operation: string, digest: string, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (error) {
    throw storeFailure(operation, digest, error);
  }
}

/**
 * A driver's error in one line, for a store's message: connection errors such as an AggregateError
 * of ECONNREFUSED have no message, so the name stands in; a string `code` (drivers and Node set one) follows.
 */
export function driverReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const text = error.message === '' ? error.name : error.message;
  return typeof code === 'string' ? `${text} (${code})` : text;
}
