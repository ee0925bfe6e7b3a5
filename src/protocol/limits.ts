/**
 * Limits on what one request may make the broker decode, build and decompress: the hostile-input
 * bounds of docs/reliability.md ("Decoded size"), in one place. Wire-byte limits
 * (`socket.request.max.bytes`, `queued.max.request.bytes`) do not bound memory on their own: a
 * decoded element is a JavaScript object tens of times its wire size, a compressed batch can unpack
 * to a thousand times its size, and a small request can name one large thing many times.
 *
 * None is a Kafka setting (Kafka has no equivalent: its request objects are flat Java structures
 * and a JVM heap limit turns an overflow into an OutOfMemoryError of one request); each is sized so
 * that no real client comes near it, and named here so it is defined once.
 */

/** Array elements (topics, partitions, configs, members … summed over every array) one request may decode, at most. */
export const REQUEST_DECODED_ELEMENTS_MAX = 100_000;
/** Elements a request may decode without regard to its size. */
export const REQUEST_DECODED_ELEMENTS_BASE = 1_000;
/** …plus one element per this many bytes of the request: no real request has smaller elements on average. */
export const REQUEST_WIRE_BYTES_PER_ELEMENT = 8;

/**
 * The element budget of a request of `frameBytes` bytes: proportional to its size (so a small
 * request cannot decode into millions of objects) and capped (so a large one cannot either).
 */
export function requestElementBudget(frameBytes: number): number {
  return Math.min(REQUEST_DECODED_ELEMENTS_MAX, REQUEST_DECODED_ELEMENTS_BASE + Math.floor(frameBytes / REQUEST_WIRE_BYTES_PER_ELEMENT));
}

/**
 * What one decoded element is counted as in `queued.max.request.bytes` while its request is held:
 * about what a small decoded object costs on the heap, so the broker-wide request budget reflects
 * decoded memory, not only raw bytes.
 */
export const DECODED_ELEMENT_BYTES = 64;

/** Headers in one record, at most (INVALID_RECORD past it, checked before the headers are allocated). */
export const RECORD_HEADERS_MAX = 10_000;
/** Records plus headers decoded from one batch, at most (INVALID_RECORD past it). */
export const BATCH_DECODED_ELEMENTS_MAX = 500_000;
/** A long decode lets other work run (setImmediate) after this many records plus headers. */
export const DECODE_YIELD_ELEMENTS = 10_000;

/**
 * Decompressed bytes all the batches of one request may produce together when the broker must read
 * their records (compacted topics, timestamp bounds, topic compression.type, hooks). Past it the
 * remaining partitions fail with MESSAGE_TOO_LARGE, without decompressing.
 */
export const REQUEST_DECOMPRESSED_BYTES_MAX = 256 * 1024 * 1024;

/**
 * One encoded response, at most (Fetch excepted: `fetch.max.bytes` bounds it). A response that
 * would be larger is refused (see connection.ts) instead of being built in full.
 */
export const RESPONSE_MAX_BYTES = 32 * 1024 * 1024;
