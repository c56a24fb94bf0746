/** Strictness shared by every serializer: each declares what it carries, one walker refuses the rest. */

export {
  MAX_BIGINT_DIGITS,
  MAX_DEPTH,
  MAX_DEPTH_LIMIT,
  MAX_SESSION_VALUES,
  compileCarries,
  CompiledCarries,
  resolveMaxDepth,
} from './strict/carries.js';
export type { Carries, StrictOptions, UndefinedPropertyPolicy } from './strict/carries.js';
export { assertCarries } from './strict/encoded.js';
export { assertDecoded } from './strict/decoded.js';
export { declaresBigint, longDecimalPath, mayNameBigint } from './strict/decimals.js';
export { BIGINT_TYPED_ARRAYS, NUMBER_TYPED_ARRAYS } from './strict/builtins.js';
