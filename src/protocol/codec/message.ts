/**
 * The contract every generated message codec fulfils (see scripts/gen-protocol.ts and
 * src/protocol/messages/). One codec object represents every version of one message, as Kafka's
 * JSON specs do.
 */
import type { Reader } from './reader.js';
import type { Writer, Records } from './writer.js';

/**
 * What an encoder accepts: the message with any field left out. A missing field is written as its
 * spec default (the same value a decoder substitutes for a field absent from a version), so a
 * handler states only what it means. `null` is never a stand-in for "missing": it is written as null
 * where the field is nullable, and refused where it is not.
 */
export type Init<T> = T extends Buffer | string | number | bigint | boolean | null | undefined
  ? T
  : T extends Records
    ? T
    : T extends readonly (infer E)[]
      ? readonly Init<E>[]
      : { [K in keyof T]?: Init<T[K]> };

export interface MessageCodec<T> {
  /** Spec name, e.g. `ProduceRequest`. */
  readonly name: string;
  /** API key, or -1 for headers and data specs. */
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible version (KIP-482), or -1 when the message is never flexible. */
  readonly flexibleMinVersion: number;
  /** Decode one whole message body at `version`; throws DecodeError on malformed input. */
  decode(r: Reader, version: number): T;
  /** Encode at `version`; fields absent from that version are skipped. */
  encode(w: Writer, value: Init<T>, version: number): void;
}
