/**
 * Codecs loaded on first use. src/protocol/messages/index.ts (generated) exports every message codec
 * as a lazy codec: its name, API key and versions are known up front, and the generated module that
 * encodes and decodes it is loaded (synchronously, with require) the first time it encodes or
 * decodes. A broker serves about 25 of the 88 APIs, and a client uses a handful; loading all 99
 * generated modules up front cost ~25 ms and ~6 MiB of every start.
 *
 * require() of an ES module needs Node ≥ 20.19 (20.x) or ≥ 22.12, the versions package.json allows.
 */
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

/** A codec that delegates to `load()`'s codec, calling `load` once, on the first encode or decode. */
export function lazyCodec<T>(meta: CodecMeta, load: () => MessageCodec<T>): MessageCodec<T> {
  let codec: MessageCodec<T> | undefined;
  const real = (): MessageCodec<T> => (codec ??= loadChecked(meta, load));
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
      throw new Error(`${meta.name}: loading a codec on first use needs require(esm): Node ^20.19 or >= 22.12 (this is ${process.version})`, {
        cause: err,
      });
    }
    throw err;
  }
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
