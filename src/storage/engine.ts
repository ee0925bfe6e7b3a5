/**
 * The one interface between the broker and its storage. It is shaped like Kafka's own operations
 * (append a batch and learn its base offset, read batches from an offset up to a byte limit, log
 * start / high watermark, offsets by timestamp, topic metadata, committed offsets) so that every
 * engine — the in-memory reference, the memory engine with its write-ahead log, the segment log,
 * RocksDB — plugs in the same way and runs the same conformance suite (test/storage-conformance.ts).
 * What only some engines can do (compaction) is declared in `capabilities`, never probed for.
 *
 * Callers: only the broker's single event loop. An engine may do I/O asynchronously. Appends to one
 * partition may overlap (two connections producing to it): an engine assigns offsets in call order,
 * synchronously inside `append` before its first await, so concurrent appends never share offsets.
 *
 * Offsets and timestamps are JavaScript numbers: a single broker never reaches 2^53 of either.
 */

export interface TopicRecord {
  name: string;
  /** Kafka topic id, base64url form (see protocol/codec/uuid.ts). */
  id: string;
  partitionCount: number;
  /** Topic-level config overrides only (what DescribeConfigs reports as DYNAMIC_TOPIC_CONFIG). */
  configs: Record<string, string>;
}

/** What the broker persists about itself: stable across restarts on durable engines. */
export interface BrokerMetadata {
  clusterId: string | null;
  /** The next producer id to hand out (InitProducerId); never reused after a restart. */
  nextProducerId: number;
  topics: TopicRecord[];
}

export interface PartitionOffsets {
  /** First offset still readable (Kafka's log start offset). */
  logStartOffset: number;
  /** Offset the next appended record gets; for one replica this is the high watermark. */
  highWatermark: number;
}

/** A record batch the broker has validated, and the header facts it already read. */
export interface AppendBatch {
  /** The batch bytes (magic v2). The engine writes the assigned base offset into bytes 0–7. */
  bytes: Buffer;
  /** Records in the batch (the offsets it takes: lastOffsetDelta + 1). */
  recordCount: number;
  /** Largest timestamp in the batch (after any LogAppendTime rewrite). */
  maxTimestamp: number;
}

export interface AppendResult {
  baseOffset: number;
}

export interface ReadResult {
  /** Whole stored batches, in offset order, the first containing (or following) the requested offset. */
  batches: Buffer[];
  /** Sum of the batches' lengths. */
  bytes: number;
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
  /**
   * When the offset expires, set only by an OffsetCommit v2–4 with an explicit `retention_time_ms`
   * (commit time + retention, as Kafka); absent: `offsets.retention.minutes` governs. Engines keep it
   * as they keep the other fields (an older store without it reads as absent).
   */
  expireTimestampMs?: number;
}

/** A CommittedOffset with exactly its own fields (no topic/partition an engine keeps beside them). */
export function copyCommitted(c: CommittedOffset): CommittedOffset {
  const out: CommittedOffset = { offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, commitTimestampMs: c.commitTimestampMs };
  if (c.expireTimestampMs !== undefined) out.expireTimestampMs = c.expireTimestampMs;
  return out;
}

export interface GroupOffsetEntry {
  topic: string;
  partition: number;
  committed: CommittedOffset | null; // null deletes the commit
}

/** What retention may remove from one partition (Kafka's `retention.ms` / `retention.bytes`). */
export interface RetentionPolicy {
  /** Drop data whose newest timestamp is older than `nowMs - retentionMs`; -1 keeps forever. */
  retentionMs: number;
  /** Drop the oldest data while the partition stays at least this large without it; -1 = no limit. */
  retentionBytes: number;
  nowMs: number;
}

/** A transaction aborted on the partition: its producer's transactional records in [firstOffset, lastOffset). */
export interface AbortedRange {
  producerId: number;
  firstOffset: number;
  /** Offset of its ABORT marker. */
  lastOffset: number;
}

/** One pass of log compaction over a partition (Kafka's cleaner settings of the topic). */
export interface CompactOptions {
  nowMs: number;
  /** Topic `delete.retention.ms`. */
  deleteRetentionMs: number;
  /** Topic `min.compaction.lag.ms`. */
  minCompactionLagMs: number;
  maxKeys?: number;
  /**
   * Nothing at or past this offset is cleaned: the partition's last stable offset (Kafka's
   * firstUncleanableOffset), so an open transaction's records neither supersede nor are superseded.
   * Absent: no bound (a partition without transactions).
   */
  firstUncleanableOffset?: number;
  /** The partition's aborted transactions: their records are removed and never supersede another. */
  abortedTransactions?: readonly AbortedRange[];
}

export interface CompactResult {
  segmentsCleaned: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** COMMIT/ABORT markers removed (their transaction's data gone and their delete horizon passed). */
  markersRemoved: number;
  /**
   * Aborted transactions found with no data left: their aborted-transactions index entries must go
   * now (the broker drops them), before their ABORT markers can (see log-cleaner.ts).
   */
  abortedTransactionsEmptied: AbortedRange[];
  bytesBefore: number;
  bytesAfter: number;
  /** Why nothing was done, when nothing was. */
  skipped: string | null;
}

/** Log compaction (`cleanup.policy=compact`): keep the last record of every key. */
export interface Compaction {
  compact(topic: string, partition: number, options: CompactOptions): Promise<CompactResult>;
}

/**
 * What an engine can do beyond the operations every engine has. Each is null when the engine lacks
 * it; the broker asks here and never probes an engine for methods.
 */
export interface StorageCapabilities {
  /** Log compaction; null: compact topics keep every record (retention still applies). */
  readonly compaction: Compaction | null;
  /** Segment files per partition (the broker's metrics); null: the engine keeps no segments. */
  readonly segments: SegmentStats | null;
  /**
   * An append that fails makes every append to the same partition called after it (before the
   * failure was known) fail too, and appends resolve in call order. Then an idempotent producer's
   * next batch may be appended before the previous one is durable (ProducerStateManager.exclusive):
   * it cannot outlive a failed predecessor and leave a gap in the recorded sequences.
   */
  readonly appendsFailInOrder: boolean;
}

/** How many segment files hold a partition (Kafka's `NumLogSegments`). */
export interface SegmentStats {
  segmentCount(topic: string, partition: number): number;
}

/**
 * What the broker's metrics watch in an engine (src/broker/metrics/). Observers watch, they never
 * decide: a call returns nothing and must not throw; an engine given none pays one null check.
 */
export interface StorageObserver {
  /** One fsync of appended data (a segment, the write-ahead log) took `seconds`. */
  fsync(seconds: number): void;
}

/**
 * The operations every engine has. I/O faults are thrown (or rejected) as StorageError
 * (storage/errors.ts): the broker answers KAFKA_STORAGE_ERROR. Anything else thrown is a bug.
 */
export interface StorageEngine {
  /** Engine name as configured (`memory`, `log`, `rocksdb`). */
  readonly kind: string;
  /** Whether acknowledged data survives a restart of the process. */
  readonly durable: boolean;
  /** Optional capabilities, declared (not discovered). */
  readonly capabilities: StorageCapabilities;

  /** Open (recovering if needed) and return what the broker persisted. Called once, first. */
  open(): Promise<BrokerMetadata>;
  /** Flush and release everything; the engine is unusable afterwards. */
  close(): Promise<void>;

  setClusterId(clusterId: string): Promise<void>;
  setNextProducerId(next: number): Promise<void>;

  /** Create a topic and its partitions' empty logs. The broker has checked the name is free. */
  createTopic(topic: TopicRecord): Promise<void>;
  /** Replace a topic's record (configs changed, partitions added: new ones start empty). */
  updateTopic(topic: TopicRecord): Promise<void>;
  /** Delete a topic with all its data, producer snapshots and committed offsets. */
  deleteTopic(name: string): Promise<void>;

  /** Append one batch at the partition's high watermark; resolves once it is as durable as configured. */
  append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult>;
  /**
   * Read whole batches starting with the one that contains `offset`, adding batches while the total
   * stays within `maxBytes`. When `minOneBatch` is set the first batch is returned even if it alone
   * is larger than `maxBytes` (Kafka's KIP-74 rule that lets a consumer make progress).
   */
  read(topic: string, partition: number, offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult>;
  offsets(topic: string, partition: number): PartitionOffsets;
  /** The first stored batch whose max timestamp is ≥ `timestamp`, or null (for ListOffsets by time). */
  findBatchByTimestamp(topic: string, partition: number, timestamp: number): Promise<Buffer | null>;
  /** The first batch holding the partition's largest timestamp, or null when empty (ListOffsets -3). */
  findMaxTimestampBatch(topic: string, partition: number): Promise<Buffer | null>;

  /**
   * Move the log start offset up to `offset` (DeleteRecords API, KIP-107). Reads below it are refused
   * by the broker; the engine may drop whole batches that lie entirely below it, and drops the producer
   * snapshots below it. Never moves backwards and never past the high watermark (the broker checks).
   * Resolves with the new log start offset.
   */
  deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number>;
  /**
   * Apply time and size retention to one partition, removing only whole units of storage (segments,
   * batches) and never the newest one (Kafka never deletes the active segment), and the producer
   * snapshots below the new log start. Resolves with the new log start offset.
   */
  applyRetention(topic: string, partition: number, policy: RetentionPolicy): Promise<number>;
  /** Bytes stored for the partition (what `retention.bytes` is measured against). */
  sizeBytes(topic: string, partition: number): number;

  /**
   * Producer-state snapshots: per partition, the idempotent producers' state at an offset N, so that
   * a restart loads the newest one and replays only the batches from N (Kafka's `<N>.snapshot` files;
   * src/broker/producer-state-snapshots.ts). The bytes are opaque to the engine and carry their own
   * checksum. They are derived data: one that is lost or damaged costs a longer replay, not state.
   *
   * Store the snapshot taken at `offset` (at most the high watermark); resolves once it is as durable
   * as the engine's data (log: temp file, fsync, rename). Keeps it and the newest
   * PRODUCER_SNAPSHOTS_KEPT - 1 below it; drops older ones, and any above `offset` (left by a log end
   * that crash recovery cut back). Called by the broker when `producerSnapshotDue` says so, at clean
   * shutdown and after start-up recovery; never two at once for one partition.
   */
  writeProducerSnapshot(topic: string, partition: number, offset: number, data: Buffer): Promise<void>;
  /** Offsets of the partition's stored snapshots, ascending. Called by the broker at start-up and before each snapshot. */
  producerSnapshotOffsets(topic: string, partition: number): number[];
  /** The bytes stored for one snapshot, or null when there is none at `offset`. Unchecked: the broker checks. */
  readProducerSnapshot(topic: string, partition: number, offset: number): Promise<Buffer | null>;
  /**
   * Whether the partition wants a new snapshot: the log engine once a segment has rolled past its
   * newest snapshot, engines without segments once the topic's `segment.bytes` (its override, else
   * `topic.defaults`, else Kafka's 1 GiB) have been appended since it.
   * Called by the broker after each append; synchronous and cheap.
   */
  producerSnapshotDue(topic: string, partition: number): boolean;

  /** Apply a group's offset commits atomically (all or none). */
  commitOffsets(groupId: string, entries: GroupOffsetEntry[]): Promise<void>;
  /** All committed offsets of a group: key is `${topic}\u0000${partition}`. */
  fetchOffsets(groupId: string): ReadonlyMap<string, CommittedOffset & { topic: string; partition: number }>;
  /** Groups that have committed offsets. */
  listOffsetGroups(): string[];
  /** Remove all of a group's committed offsets. */
  deleteGroupOffsets(groupId: string): Promise<void>;

  /**
   * Store a consumer group's metadata (protocol, generation, members), or delete it with null. The
   * value is opaque to the engine: the group coordinator encodes and decodes it.
   */
  putGroupMetadata(groupId: string, value: Buffer | null): Promise<void>;
  /** Every stored group metadata value, by group id. */
  groupMetadata(): ReadonlyMap<string, Buffer>;

  /**
   * Store a transactional id's coordinator state (producer id, epoch, state, partitions; Kafka keeps
   * it in `__transaction_state`), or delete it with null. Opaque to the engine: the transaction
   * coordinator encodes and decodes it. Resolves once it is as durable as appends are configured to
   * be, so an acknowledged EndTxn survives a crash whenever an acknowledged produce does.
   */
  putTransactionState(transactionalId: string, value: Buffer | null): Promise<void>;
  /** Every stored transaction state value, by transactional id. */
  transactionStates(): ReadonlyMap<string, Buffer>;

  /**
   * Store a user's SCRAM credentials (salt, iterations, stored key and server key per mechanism;
   * never a password: src/broker/security/scram-credentials.ts encodes them), or delete them with
   * null. Opaque to the engine. Resolves once as durable as appends are configured to be, so an
   * acknowledged AlterUserScramCredentials survives a crash.
   */
  putScramCredentials(user: string, value: Buffer | null): Promise<void>;
  /** Every user's stored SCRAM credentials, by user name. */
  scramCredentials(): ReadonlyMap<string, Buffer>;

  /**
   * Store an ACL binding under its key (src/broker/security/acls.ts: bindingKey, encodeBinding), or
   * delete it with null. Opaque to the engine. Resolves once as durable as appends are configured to
   * be, so an acknowledged CreateAcls or DeleteAcls survives a crash.
   */
  putAclBinding(key: string, value: Buffer | null): Promise<void>;
  /** Every stored ACL binding, by key. */
  aclBindings(): ReadonlyMap<string, Buffer>;

  /**
   * Store a group's config overrides (KIP-848 per-group configs set with IncrementalAlterConfigs on
   * a GROUP resource; src/broker/groups/group-configs.ts encodes them), or delete them with null.
   * They belong to the group id, whether or not the group exists. Opaque to the engine; resolves
   * once as durable as appends are configured to be.
   */
  putGroupConfig(groupId: string, value: Buffer | null): Promise<void>;
  /** Every group's stored config overrides, by group id. */
  groupConfigs(): ReadonlyMap<string, Buffer>;

  /**
   * Store the client quotas of one quota entity (AlterClientQuotas; src/broker/quotas/ encodes the
   * entity as a key and its quota values), or delete them with null. Opaque to the engine. Resolves
   * once as durable as appends are configured to be, so an acknowledged AlterClientQuotas survives
   * a crash.
   */
  putClientQuotas(entity: string, value: Buffer | null): Promise<void>;
  /** Every quota entity's stored quotas, by entity key. */
  clientQuotas(): ReadonlyMap<string, Buffer>;
}

/** Producer snapshots an engine keeps per partition (the newest, and one to fall back to). */
export const PRODUCER_SNAPSHOTS_KEPT = 2;

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Committed offsets as engines keep them in memory: per group, by offsetKey. */
export type GroupOffsetsMap = Map<string, Map<string, CommittedOffset & { topic: string; partition: number }>>;

/** Apply one commitOffsets call to the in-memory map (a null entry deletes; an emptied group goes). */
export function applyOffsetCommits(groupOffsets: GroupOffsetsMap, groupId: string, entries: readonly GroupOffsetEntry[]): void {
  let offsets = groupOffsets.get(groupId);
  if (!offsets) groupOffsets.set(groupId, (offsets = new Map()));
  for (const e of entries) {
    const key = offsetKey(e.topic, e.partition);
    if (e.committed === null) offsets.delete(key);
    else offsets.set(key, { ...copyCommitted(e.committed), topic: e.topic, partition: e.partition });
  }
  if (offsets.size === 0) groupOffsets.delete(groupId);
}
