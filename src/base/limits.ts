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

/** Distinct keys one cleaning pass tracks (Kafka sizes its offset map in bytes instead). */
export const MAX_CLEANER_KEYS = 1_000_000;

/** The most bytes one write (one writev) of the segment log carries. */
export const MAX_WRITE_GROUP_BYTES = 8 * 1024 * 1024;

/** The largest record of the log engine's metadata store (a group's metadata, a large offset commit). */
export const MAX_METADATA_RECORD_BYTES = 64 * 1024 * 1024;
