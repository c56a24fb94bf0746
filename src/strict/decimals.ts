/** Long decimal strings: what a bigint parse (superjson's `BigInt(text)`) would read in more than linear time. */

import { MAX_BIGINT_DIGITS } from './carries.js';
import { propertySegment } from './refusal.js';

/** BigInt()'s decimal form once trimmed (StringIntegerLiteral, ES2020): an optional sign, then digits. */
const DECIMAL = /^[+-]?\d+$/;

/**
 * True when superjson annotations (`meta.values`) name the `bigint` type anywhere. Looks at every
 * string in the tree, paths' types and class names alike, so it may say yes when no bigint is
 * declared, never the reverse.
 */
export function declaresBigint(annotations: unknown): boolean {
  const stack: unknown[] = [annotations];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === 'bigint') return true;
    if (typeof node === 'object' && node !== null) {
      // Parsed JSON: own keys hold plain data.
      for (const key in node) if (Object.hasOwn(node, key)) stack.push((node as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/**
 * False when no string in the JSON `text` can be `bigint`: it is spelled out there, or written
 * with a `\u` escape. A substring search costs far less than {@link declaresBigint}'s walk, which
 * then runs only when this says yes.
 */
export function mayNameBigint(text: string): boolean {
  return text.includes('bigint') || text.includes('\\u');
}

/** A string BigInt() would read as more than {@link MAX_BIGINT_DIGITS} decimal digits. */
function isLongDecimal(text: string): boolean {
  if (text.length <= MAX_BIGINT_DIGITS) return false;
  const trimmed = text.trim();
  const digits = trimmed.length - (trimmed.startsWith('+') || trimmed.startsWith('-') ? 1 : 0);
  return digits > MAX_BIGINT_DIGITS && DECIMAL.test(trimmed);
}

/**
 * The path (as the walker writes paths) of the first string value in parsed JSON that BigInt()
 * would read as more than {@link MAX_BIGINT_DIGITS} decimal digits, or undefined. Object keys are
 * not looked at: superjson's annotations only ever convert values.
 */
export function longDecimalPath(json: unknown): string | undefined {
  const segments = findLongDecimal(json);
  if (segments === undefined) return undefined;
  let path = '';
  for (let i = segments.length - 1; i >= 0; i--) path += segments[i];
  return path.startsWith('.') ? path.slice(1) : path;
}

/** The segments to the first long decimal string, innermost first; parsed JSON has no cycles. */
function findLongDecimal(json: unknown): string[] | undefined {
  if (typeof json === 'string') return isLongDecimal(json) ? [] : undefined;
  if (typeof json !== 'object' || json === null) return undefined;
  if (Array.isArray(json)) {
    for (let i = 0; i < json.length; i++) {
      const found = findLongDecimal(json[i]);
      if (found !== undefined) {
        found.push(`[${i}]`);
        return found;
      }
    }
    return undefined;
  }
  for (const key in json) {
    if (!Object.hasOwn(json, key)) continue;
    // Parsed JSON: own keys hold plain data.
    const found = findLongDecimal((json as Record<string, unknown>)[key]);
    if (found !== undefined) {
      found.push(propertySegment(key));
      return found;
    }
  }
  return undefined;
}
