/**
 * Named limits that are not settings: fixed bounds the code checks before it allocates or loops,
 * each defined once here. Limits an operator may change are configuration (src/config/schema.ts,
 * with Kafka's names and defaults).
 */

/**
 * The most bytes one record batch may decompress to, wherever the broker must read its records: the
 * produce path (compacted topics, timestamp checks, re-compression), hooks, and the log cleaner.
 * A batch that would inflate beyond it is refused (produce: CORRUPT_MESSAGE) instead of allocated.
 */
export const MAX_DECOMPRESSED_BATCH_BYTES = 128 * 1024 * 1024;

/** The longest a connection stays muted for one throttle (Kafka's default quota window, 11 × 1 s). */
export const MAX_THROTTLE_MS = 11_000;

/** Partitions one topic may have (Kafka refuses more in one creation; ours is this bound). */
export const MAX_PARTITIONS_PER_TOPIC = 10_000;

/**
 * How long a fetch session (KIP-227) is safe from eviction: unused for longer, it is stale and any new
 * session may take its slot; created longer ago, a new session with more partitions may. Kafka's
 * fixed MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS (2 minutes), not a setting there either.
 */
export const FETCH_SESSION_EVICTION_MS = 120_000;

/**
 * Partitions all fetch sessions together may cache (broker/fetch-sessions.ts). Kafka bounds only the
 * session count; a session can grow by every incremental fetch, so this bounds the cache's memory
 * (a cached partition costs about 200 bytes: about 100 MB at the bound). Past it a full fetch gets
 * no session and an incremental one loses its session (clients fall back to full fetches).
 */
export const FETCH_SESSION_CACHE_PARTITIONS_MAX = 500_000;

/** Distinct keys one cleaning pass tracks (Kafka sizes its offset map in bytes instead). */
export const MAX_CLEANER_KEYS = 1_000_000;

/** The most bytes one write (one writev) of the segment log carries. */
export const MAX_WRITE_GROUP_BYTES = 8 * 1024 * 1024;

/** The largest record of the log engine's metadata store (a group's metadata, a large offset commit). */
export const MAX_METADATA_RECORD_BYTES = 64 * 1024 * 1024;

// ---- Hostile input: what one request may decode, build and decompress (docs/reliability.md,
// "Decoded size"). Wire-byte limits (`socket.request.max.bytes`, `queued.max.request.bytes`) do not
// bound memory on their own: a decoded element is a JavaScript object tens of times its wire size, a
// compressed batch can unpack to a thousand times its size, and a small request can name one large
// thing many times. None is a Kafka setting (Kafka has no equivalent); each is sized so that no real
// client comes near it.

/** Array elements (topics, partitions, configs, members … summed over every array) one request may decode, at most. */
export const REQUEST_DECODED_ELEMENTS_MAX = 100_000;
/** Elements a request may decode without regard to its size. */
export const REQUEST_DECODED_ELEMENTS_BASE = 1_000;
/** …plus one element per this many bytes of the request: no real request has smaller struct or string elements on average (a primitive element is charged its wire size over this; see codec/reader.ts). */
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

// ---- Fault injection (src/broker/faults.ts): a test's rules and what it can read back.

/** Fault rules installed at once, at most (inject refuses more). */
export const FAULT_RULES_MAX = 1_000;
/** Fired faults `broker.faults.history` keeps; the oldest are dropped past it (the counts stay exact). */
export const FAULT_HISTORY_MAX = 10_000;
/** The longest delay one fault adds to a request (a minute more than any client's request timeout default). */
export const FAULT_DELAY_MAX_MS = 5 * 60_000;

/**
 * Quota sensors (one rate or token bucket per user/client-id a quota applies to) kept per quota
 * type; past it the least recently used is forgotten (Kafka expires a sensor after an hour unused).
 */
export const MAX_QUOTA_SENSORS = 10_000;
