/**
 * Option checks shared by `session()`, the cookie options, the serializers and every store, so a
 * mistake reads the same wherever it is made: `koa-session-kit: \`<option>\` must be <rule>
 * (received <value>)`, a `TypeError` for a wrong type and a `RangeError` for a number or length
 * out of range, thrown synchronously by the factory or constructor.
 */

/** One entry per option of `T`, so the compiler fails when an option is added to `T` but not here. */
export type OptionRegistry<T> = { readonly [K in keyof Required<T>]: true };

/** Spellings other libraries use, each mapped to the hint shown after "did you mean". */
export type ForeignOptions = Readonly<Record<string, string>>;

/** setInterval's ceiling (a signed 32-bit ms count); Node fires at once for anything larger. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The shortest secret accepted, in characters for a string and bytes for a byte array: 32 random
 * characters carry well over 128 bits, the floor of iron-session and @fastify/secure-session, and
 * no derivation adds entropy a secret lacks.
 */
export const MIN_KEY_LENGTH = 32;

/** Longer strings are cut in messages: a value is shown to be recognised, not reproduced. */
const MAX_SHOWN_CHARS = 40;

type OptionErrorType = TypeErrorConstructor | RangeErrorConstructor;

/** A received value as messages show it: strings quoted, objects by their class, never a dump. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value);
  }
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length}`;
  if (typeof value === 'object' && value !== null) {
    const ctor: unknown = (value as { constructor?: unknown }).constructor;
    return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'Object';
  }
  return String(value);
}

/** A secret as messages show it: its length only, never a character of it. */
export function describeSecret(value: unknown): string {
  if (typeof value === 'string') return `a string of ${plural(value.length, 'character')}`;
  return describeValue(value);
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * The error for `option`: `requirement` follows "must" (`be a boolean`, `hold at least one secret`)
 * and `received` is already written out (`52 bytes`, `neither`).
 */
export function optionError(Type: OptionErrorType, option: string, requirement: string, received: string): TypeError | RangeError {
  return new Type(`koa-session-kit: \`${option}\` must ${requirement} (received ${received})`);
}

/** A `TypeError` for a value of the wrong type. */
export function wrongType(option: string, rule: string, value: unknown): TypeError {
  return optionError(TypeError, option, `be ${rule}`, describeValue(value));
}

/**
 * A database store's connection: exactly one of `pool` and the connection string under `key`, the
 * string non-empty. `pools` and `strings` say what each is, e.g. `a pg.Pool` and `a connection string`.
 */
export function checkPoolOrString(pool: unknown, key: string, value: unknown, pools: string, strings: string): void {
  if (pool !== undefined && value !== undefined) throw optionError(TypeError, 'pool', `be omitted when \`${key}\` is given`, 'both');
  if (pool === undefined && value === undefined) throw optionError(TypeError, 'pool', `be ${pools}, or \`${key}\` ${strings}`, 'neither');
  if (value !== undefined && (typeof value !== 'string' || value === '')) throw wrongType(key, 'a non-empty string', value);
}

/** A `RangeError` for a number or length out of range. */
export function outOfRange(option: string, rule: string, value: unknown): RangeError {
  return optionError(RangeError, option, `be ${rule}`, describeValue(value));
}

/**
 * Throws unless `options` is an object whose every own key is in `registry`. An unknown key gets
 * a hint: the `foreign` spelling's, else a known key that differs only in case or by a typo.
 * @param owner what the options configure, as messages name it: `session()`, `FileStore`
 * @param path put before each key in messages, e.g. `cookie.` for nested options
 */
export function checkOptions<T>(
  owner: string,
  options: unknown,
  registry: OptionRegistry<T>,
  foreign: ForeignOptions = {},
  path = '',
): asserts options is { readonly [K in keyof T]?: unknown } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    if (path !== '') throw wrongType(path.slice(0, -1), 'an object', options);
    throw new TypeError(`koa-session-kit: ${owner} options must be an object (received ${describeValue(options)})`);
  }
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(registry, key)) continue;
    const hint = Object.hasOwn(foreign, key) ? foreign[key] : nearest(key, Object.keys(registry));
    throw new TypeError(
      `koa-session-kit: \`${path}${key}\` is not a ${owner} option${hint === undefined ? '' : `; did you mean ${hint}?`}`,
    );
  }
}

/**
 * The known key `key` was probably meant to be: the same letters in another case, one or two typos
 * away, or the tail of a longer name (`depth` for `maxDepth`).
 */
function nearest(key: string, known: readonly string[]): string | undefined {
  const allowed = key.length >= 6 ? 2 : 1;
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of known) {
    const other = candidate.toLowerCase();
    const part = key.length >= 4 && other.includes(lower);
    const distance = other === lower ? 0 : part ? allowed : editDistance(key, candidate, allowed);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? undefined : `\`${best}\``;
}

/** Levenshtein distance with adjacent swaps counted as one edit, or `limit + 1` once it exceeds `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, previous2[j - 2]! + 1);
      row.push(best);
    }
    [previous2, previous] = [previous, row];
  }
  return Math.min(previous[b.length]!, limit + 1);
}

/** A boolean, or a `TypeError`. */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw wrongType(option, 'a boolean', value);
  return value;
}

/** A function, or a `TypeError` (`rule` says which function, e.g. `a function (event) => void`). */
export function checkFunction<F>(option: string, value: F | undefined, rule = 'a function'): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw wrongType(option, rule, value);
  return value;
}

/** One of `allowed`, or a `TypeError` listing them (`'lax', 'strict' or false`). */
export function checkOneOf<const V>(option: string, value: unknown, allowed: readonly V[]): V {
  if (allowed.includes(value as V)) return value as V;
  const shown = allowed.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  throw wrongType(option, `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}`, value);
}

/** An integer from `min` to `max`: a `TypeError` for anything that is not an integer, a `RangeError` outside. */
export function checkInteger(option: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(option, 'an integer', value);
  if (value < min || value > max) {
    throw outOfRange(option, max === Number.POSITIVE_INFINITY ? `at least ${min}` : `from ${min} to ${max}`, value);
  }
  return value;
}

/**
 * A duration in ms, more than 0 and at most `max`: a `TypeError` for a non-number, a `RangeError`
 * for anything else outside (NaN and the infinities included).
 * @param NotNumber the error for a non-number; a property setter throws `RangeError` for everything
 */
export function checkDuration(option: string, value: unknown, max: number, NotNumber: OptionErrorType = TypeError): number {
  if (typeof value !== 'number') throw optionError(NotNumber, option, 'be a number of milliseconds', describeValue(value));
  if (!(value > 0 && value <= max)) throw outOfRange(option, `more than 0 and at most ${max} ms`, value);
  return value;
}

/**
 * How often a store removes expired records: whole ms for an unref'd timer, or `false` for none.
 * `undefined` gives `fallback`, the store's documented default.
 */
export function checkPruneInterval(value: unknown, fallback: number | false): number | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'number' || (Number.isFinite(value) && !Number.isInteger(value))) {
    throw wrongType('pruneInterval', 'a whole number of milliseconds, or false', value);
  }
  if (!(value > 0 && value <= MAX_TIMER_MS)) throw outOfRange('pruneInterval', `more than 0 and at most ${MAX_TIMER_MS} ms`, value);
  return value;
}

/** RFC 6265bis §5.5: user agents cap cookie lifetime at 400 days. */
export const MAX_COOKIE_LIFETIME_MS = 400 * 86_400_000;

/**
 * A session's idle lifetime, as the `maxAge` option and the `session.maxAge` setter both check it:
 * more than 0 and at most 400 days. The setter passes `RangeError` for a non-number too.
 */
export function checkMaxAge(option: string, value: unknown, NotNumber?: TypeErrorConstructor | RangeErrorConstructor): number {
  return checkDuration(option, value, MAX_COOKIE_LIFETIME_MS, NotNumber);
}

/**
 * A secret's length: at least {@link MIN_KEY_LENGTH} characters (a string) or bytes (a byte
 * array), or a `RangeError` that gives the length and never the secret.
 */
export function checkKeyLength(option: string, key: string | Uint8Array): void {
  if (key.length >= MIN_KEY_LENGTH) return;
  const unit = typeof key === 'string' ? 'character' : 'byte';
  throw optionError(RangeError, option, `be at least ${MIN_KEY_LENGTH} ${unit}s`, plural(key.length, unit));
}

/** The longest owner accepted, in UTF-8 bytes: room for any user id, not for data smuggled in as one. */
export const MAX_OWNER_BYTES = 255;

/** An owner as `session.owner`, the owner API and every store accept it: a non-empty string of at most {@link MAX_OWNER_BYTES}. */
export function checkOwner(option: string, owner: unknown): string {
  if (typeof owner === 'string' && owner !== '' && Buffer.byteLength(owner, 'utf8') <= MAX_OWNER_BYTES) return owner;
  const received = typeof owner === 'string' ? `${Buffer.byteLength(owner, 'utf8')} bytes` : describeValue(owner);
  throw optionError(TypeError, option, `be a non-empty string of at most ${MAX_OWNER_BYTES} UTF-8 bytes`, received);
}
