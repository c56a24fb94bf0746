/** Strictness shared by every serializer: each declares what it carries, one walker refuses the rest. */

export { MAX_DEPTH, MAX_DEPTH_LIMIT, compileCarries, CompiledCarries, resolveMaxDepth } from './strict/carries.js';
export type { Carries, StrictOptions, UndefinedPropertyPolicy } from './strict/carries.js';
export { assertCarries } from './strict/walker.js';
export { assertDecoded } from './strict/decoded.js';
