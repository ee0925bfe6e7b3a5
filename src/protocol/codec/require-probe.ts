/**
 * An ES module of nothing, required by lazy.ts's ensureCodecsLoadable to find out whether this
 * runtime's require() can load an ES module (Jest's ESM sandbox cannot) without loading a codec.
 */
export const REQUIRE_PROBE = true;
