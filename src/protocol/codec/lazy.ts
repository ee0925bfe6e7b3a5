/**
 * Codecs loaded on first use. src/protocol/messages/index.ts (generated) exports every message codec
 * as a lazy codec: its name, API key and versions are known up front, and the generated module that
 * encodes and decodes it is loaded (synchronously, with require) the first time it encodes or
 * decodes. A broker serves about 25 of the 88 APIs, and a client uses a handful; loading all 99
 * generated modules up front cost ~25 ms and ~6 MiB of every start.
 *
 * require() of an ES module needs Node ≥ 20.19 (20.x) or ≥ 22.12, the versions package.json allows.
 * Some module sandboxes refuse it even there — Jest's ESM mode (`--experimental-vm-modules`) runs test
 * files in a vm context whose require() cannot load an ES module — so every lazy codec also has an
 * import() loader, and `ensureCodecsLoadable()`, awaited where the broker starts and where the client
 * opens its first connection, loads them all that way when (and only when) require() is refused.
 */
import { createRequire } from 'node:module';
import type { Init, MessageCodec } from './message.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** What a lazy codec knows before its module is loaded: the generated codec's own fields. */
export interface CodecMeta {
  readonly name: string;
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexibleMinVersion: number;
}

interface LazyEntry {
  /** Loads the codec with import(). */
  loadAsync(): Promise<void>;
}

/** Every lazy codec, for `ensureCodecsLoadable`. */
const entries: LazyEntry[] = [];
/** Settles once require() is known to work, or every codec has been loaded with import(). */
let loadable: Promise<void> | undefined;

/**
 * Makes every lazy codec usable in this runtime: a no-op where require() of an ES module works (an
 * empty module, require-probe.js, finds out); where it is refused, loads all of them with import().
 * Cheap after the first call.
 */
export function ensureCodecsLoadable(): Promise<void> {
  return (loadable ??= (async () => {
    if (entries.length === 0) return;
    try {
      createRequire(import.meta.url)('./require-probe.js');
      return;
    } catch (err) {
      if (!isRequireEsmRefused(err)) throw err;
    }
    await Promise.all(entries.map((e) => e.loadAsync()));
  })());
}

function isRequireEsmRefused(err: unknown): boolean {
  // Duck-typed, not instanceof Error: the sandbox's errors come from another realm.
  for (let e = err as { code?: unknown; cause?: unknown } | null | undefined, depth = 0; e && typeof e === 'object' && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === 'ERR_REQUIRE_ESM') return true;
  }
  return false;
}

/**
 * A codec that delegates to `load()`'s codec, calling `load` once, on the first encode or decode
 * (or `loadAsync`, when `ensureCodecsLoadable` finds require() refused).
 */
export function lazyCodec<T>(meta: CodecMeta, load: () => MessageCodec<T>, loadAsync?: () => Promise<MessageCodec<T>>): MessageCodec<T> {
  let codec: MessageCodec<T> | undefined;
  const real = (): MessageCodec<T> => (codec ??= loadChecked(meta, load));
  if (loadAsync) {
    entries.push({
      loadAsync: async () => {
        codec ??= checked(meta, await loadAsync());
      },
    });
  }
  return {
    name: meta.name,
    apiKey: meta.apiKey,
    minVersion: meta.minVersion,
    maxVersion: meta.maxVersion,
    flexibleMinVersion: meta.flexibleMinVersion,
    decode: (r: Reader, version: number): T => real().decode(r, version),
    encode: (w: Writer, value: Init<T>, version: number): void => real().encode(w, value, version),
  };
}

function loadChecked<T>(meta: CodecMeta, load: () => MessageCodec<T>): MessageCodec<T> {
  let codec: MessageCodec<T>;
  try {
    codec = load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') {
      throw new Error(`${meta.name}: loading a codec on first use needs require(esm): Node ^20.19 or >= 22.12 (this is ${process.version}); in a module sandbox that refuses it (Jest's ESM mode), await ensureCodecsLoadable() from 'rafka' first`, {
        cause: err,
      });
    }
    throw err;
  }
  return checked(meta, codec);
}

function checked<T>(meta: CodecMeta, codec: MessageCodec<T>): MessageCodec<T> {
  // Both sides come from the same spec (scripts/gen-protocol.ts); a mismatch is a generator bug.
  if (
    codec.name !== meta.name ||
    codec.apiKey !== meta.apiKey ||
    codec.minVersion !== meta.minVersion ||
    codec.maxVersion !== meta.maxVersion ||
    codec.flexibleMinVersion !== meta.flexibleMinVersion
  ) {
    throw new Error(`lazy codec ${meta.name}: the loaded module describes ${codec.name} ${codec.minVersion}-${codec.maxVersion}, not what index.ts declares`);
  }
  return codec;
}
