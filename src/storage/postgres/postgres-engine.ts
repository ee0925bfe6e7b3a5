/**
 * The `postgres` engine: batches, topics, committed offsets, group and transaction state and
 * producer-state snapshots in PostgreSQL tables (schema.ts), through `pg` with a pool of
 * connections and named (prepared) statements. docs/cluster.md describes it for operators.
 *
 * - Writes: every mutation joins one ordered queue; one writer drains it, taking everything that
 *   arrived meanwhile into ONE PostgreSQL transaction (group commit), and answers each caller only
 *   after COMMIT returned (with `storage.fsync: always`, PostgreSQL's synchronous_commit: the
 *   commit record is flushed to its WAL). Operations keep their call order: the queue is applied in
 *   order within the transaction, and transactions one after another.
 * - Offsets: the appends of one commit to one partition take their offsets from
 *   `rafka_partitions.next_offset` in that transaction (`UPDATE … SET next_offset = next_offset + n
 *   … RETURNING`), guarded by the partition's `leader_epoch` this engine holds: a writer whose epoch
 *   was bumped (another broker took the partition) updates no row and its whole commit fails.
 *   Appends to one partition get offsets in call order (their queue order).
 * - The in-memory index of every partition (base/last offset, max timestamp, size of each batch;
 *   ../partition-index.ts) answers the interface's synchronous questions and picks the rows a read
 *   fetches; it is updated after COMMIT, so it never shows data PostgreSQL might not have. If a
 *   COMMIT's outcome was unknown (the connection broke during it) and it had in fact committed, the
 *   next append finds next_offset ahead of the index and loads the missing index rows first.
 * - Failures: a query that fails (PostgreSQL away, a connection reset, a fenced epoch) fails every
 *   operation of its commit with a StorageError (the broker answers KAFKA_STORAGE_ERROR, which
 *   Kafka clients retry); nothing of it is applied in memory. The pool opens new connections when
 *   asked for one, so the engine works again as soon as PostgreSQL is back.
 *
 * Who calls: the broker's event loop, through the StorageEngine interface.
 */
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { FsyncPolicy } from '../../config/types.js';
import type {
  AppendBatch,
  AppendResult,
  BrokerMetadata,
  CommittedOffset,
  GroupOffsetEntry,
  PartitionOffsets,
  ReadResult,
  RetentionPolicy,
  StorageCapabilities,
  StorageEngine,
  StorageObserver,
  TopicRecord,
} from '../engine.js';
import { applyOffsetCommits, offsetKey } from '../engine.js';
import { PartitionSnapshots, snapshotIntervalBytes } from '../producer-snapshots.js';
import { readBatchHeader, writeInt64 } from '../../protocol/records/batch.js';
import { PartitionIndex } from '../partition-index.js';
import { NotCoordinatorError, NotLeaderError, StorageError, TopicExistsError } from '../errors.js';
import { migrate } from './schema.js';
import { PostgresMembership } from './membership.js';

/** What syncTopics found changed in the database since this engine last looked. */
export interface TopicChanges {
  created: TopicRecord[];
  updated: TopicRecord[];
  /** Deleted, or deleted and created again under the same name (then also in `created`). */
  deleted: TopicRecord[];
}

export interface PostgresEngineOptions {
  /** `storage.url` (postgres://…); null or absent: the PG* environment variables (libpq's). */
  url?: string | null;
  /** `storage.pool.size`: connections in the pool (one writes at a time, the others read). Default 4. */
  poolSize?: number;
  /** `storage.fsync`: `always` keeps PostgreSQL's synchronous_commit on; otherwise it is off for our sessions. */
  fsync?: FsyncPolicy;
  /** Broker-wide topic config defaults (`topic.defaults`): the producer snapshot interval's segment.bytes. */
  topicDefaults?: Readonly<Record<string, string>>;
  /** This broker's id, recorded as the holder of the partitions it leads. */
  nodeId?: number;
  /** Connect and query timeout (ms) before a StorageError; default 10 000. */
  queryTimeoutMs?: number;
  /** Times each COMMIT (PostgreSQL's WAL flush is this engine's fsync) for the broker's metrics. */
  observer?: StorageObserver | null;
  /**
   * `all` (default): the engine takes every partition at open, bumping its epoch (one broker per
   * database). `assigned`: it holds none until told to (`adoptPartition`), which is how brokers
   * sharing the database (src/broker/shared-cluster.ts) take the partitions assigned to them.
   */
  leadership?: 'all' | 'assigned';
}

interface TopicState {
  record: TopicRecord;
  partitions: PartitionState[];
}

interface PartitionState {
  index: PartitionIndex;
  /** The leader epoch this engine holds (checked in every append's transaction); NOT_HELD: none. */
  epoch: number;
}

/** A partition this engine does not lead (its index is empty; appends are refused). */
const NOT_HELD = -1;

type StoredOffset = CommittedOffset & { topic: string; partition: number };

interface AppendOp {
  kind: 'append';
  t: TopicState;
  partition: number;
  /** The leader epoch held when the append was queued: a partition given up and taken again meanwhile refuses it. */
  epoch: number;
  bytes: Buffer;
  recordCount: number;
  maxTimestamp: number;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

interface SqlOp {
  kind: 'sql';
  /** Runs inside the commit's transaction; returns what to apply in memory once it committed. */
  run: (client: PoolClient) => Promise<(() => void) | void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

type Op = AppendOp | SqlOp;

/** Operations one commit takes at most (bounds the transaction and the statements' array sizes). */
const MAX_OPS_PER_COMMIT = 2000;
/** Batch bytes one commit takes at most (beyond the first operation): bounds the INSERT's size. */
const MAX_BYTES_PER_COMMIT = 32 * 1024 * 1024;
/** Batches fetched per query when the index is loaded at open. */
const LOAD_STEP = 10_000;
/**
 * Bytes of the batches this broker committed last that reads are served from memory (all partitions
 * together, least recently used dropped first): a consumer at the tail of a partition is answered
 * without a round trip to PostgreSQL. A batch's bytes never change once committed (offsets are not
 * reused, a recreated topic has a new id), so nothing in it is ever stale.
 */
const RECENT_BATCH_BYTES = 64 * 1024 * 1024;

export class PostgresEngine implements StorageEngine {
  readonly kind: string = 'postgres';
  readonly durable: boolean = true;
  /**
   * No compaction yet: compact topics keep every record (retention still applies). Appends fail in
   * order: the appends of one commit share its fate, commits run one at a time in queue order, and
   * a failed commit also fails the appends queued behind it for the same partitions (commit()), so an
   * idempotent producer's next batch may join the commit of the one before it.
   */
  readonly capabilities: StorageCapabilities = { compaction: null, segments: null, appendsFailInOrder: true };

  private readonly poolConfig: PoolConfig;
  private readonly topicDefaults: Readonly<Record<string, string>>;
  private readonly nodeId: number;
  private readonly observer: StorageObserver | null;
  readonly leadership: 'all' | 'assigned';
  /** Called when an append found its partition's epoch replaced (another broker took it): look at the cluster now. */
  onFenced: (() => void) | null = null;
  /** Called when a group write found the group taken over by another broker. */
  onGroupFenced: ((groupId: string) => void) | null = null;
  /** Called when a transaction state write found the transactional id taken over by another broker. */
  onTransactionFenced: ((transactionalId: string) => void) | null = null;
  private pool: Pool | null = null;
  private closed = false;

  private clusterId: string | null = null;
  private nextProducerId = 0;
  private readonly topics = new Map<string, TopicState>();
  private readonly groupOffsets = new Map<string, Map<string, StoredOffset>>();
  private readonly groups = new Map<string, Buffer>();
  private readonly txnStates = new Map<string, Buffer>();
  private readonly scram = new Map<string, Buffer>();
  /** Brokers sharing the database: the coordinator epoch this engine holds per group it coordinates. */
  private readonly groupEpochs = new Map<string, number>();
  /** Brokers sharing the database: the coordinator epoch this engine holds per transactional id it coordinates. */
  private readonly txnEpochs = new Map<string, number>();
  private readonly acls = new Map<string, Buffer>();
  private readonly groupConfigValues = new Map<string, Buffer>();
  private readonly quotaEntities = new Map<string, Buffer>();

  /** Batches committed by this engine, by topic id, partition and base offset (RECENT_BATCH_BYTES). */
  private readonly recent = new LRUCache<string, Buffer>({ maxSize: RECENT_BATCH_BYTES, sizeCalculation: (b) => b.length });
  /** Reads answered from `recent` and from PostgreSQL, for the tests. */
  readsFromMemory = 0;
  readsFromDatabase = 0;

  private readonly queue: Op[] = [];
  /** Topic ids deleted by the commit being written (appends queued behind the delete are refused). */
  private readonly deletedInCommit = new Set<string>();
  private writing: Promise<void> | null = null;
  private flushScheduled = false;
  /** PostgreSQL transactions committed by the writer (group commits), for the bench and tests. */
  commits = 0;

  constructor(options: PostgresEngineOptions = {}) {
    const timeout = options.queryTimeoutMs ?? 10_000;
    this.poolConfig = {
      ...(options.url ? { connectionString: options.url } : {}),
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: timeout,
      query_timeout: timeout,
      idleTimeoutMillis: 30_000,
      application_name: 'rafka',
      // Durability of an acknowledged write is PostgreSQL's commit; `storage.fsync` other than
      // `always` trades it for latency the way it does on the file engines.
      ...(options.fsync && options.fsync !== 'always' ? { options: '-c synchronous_commit=off' } : {}),
    };
    this.topicDefaults = options.topicDefaults ?? {};
    this.nodeId = options.nodeId ?? 1;
    this.observer = options.observer ?? null;
    this.leadership = options.leadership ?? 'all';
  }

  /** The epoch a partition new to this engine starts with: held at 0 by a lone engine, else none. */
  private get initialEpoch(): number {
    return this.leadership === 'all' ? 0 : NOT_HELD;
  }

  async open(): Promise<BrokerMetadata> {
    if (!this.pool) {
      const pool = new pg.Pool(this.poolConfig);
      // An idle connection that breaks (PostgreSQL restarted) is dropped by the pool; the next
      // checkout opens a new one. Without a listener the error would kill the process.
      pool.on('error', () => {});
      this.pool = pool;
      try {
        const client = await pool.connect();
        try {
          await migrate(client);
          await this.load(client);
        } finally {
          client.release();
        }
      } catch (err) {
        this.pool = null;
        await pool.end().catch(() => {});
        throw new Error(`storage: cannot open the PostgreSQL database: ${(err as Error).message}`, { cause: err });
      }
    }
    return {
      clusterId: this.clusterId,
      nextProducerId: this.nextProducerId,
      topics: [...this.topics.values()].map((t) => cloneTopic(t.record)),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing || this.queue.length > 0) {
      if (!this.writing) this.flush();
      await this.writing?.catch(() => {});
    }
    await this.pool?.end().catch(() => {});
    this.pool = null;
  }

  // ---- broker metadata and topics ------------------------------------------------------------------

  async setClusterId(clusterId: string): Promise<void> {
    return this.write(async (c) => {
      if (this.leadership === 'assigned') {
        // Brokers sharing the database, started together with no cluster id yet: the first one's
        // stays, and every broker takes it (Broker.start reads it back).
        const { rows } = await c.query<{ cluster_id: string }>({
          name: 'rafka-set-cluster-id-once',
          text: 'UPDATE rafka_cluster SET cluster_id = COALESCE(cluster_id, $1) WHERE id = 1 RETURNING cluster_id',
          values: [clusterId],
        });
        const kept = rows[0]?.cluster_id ?? clusterId;
        return () => (this.clusterId = kept);
      }
      await c.query({ name: 'rafka-set-cluster-id', text: 'UPDATE rafka_cluster SET cluster_id = $1 WHERE id = 1', values: [clusterId] });
      return () => (this.clusterId = clusterId);
    });
  }

  async setNextProducerId(next: number): Promise<void> {
    return this.write(async (c) => {
      await c.query({ name: 'rafka-set-next-pid', text: 'UPDATE rafka_cluster SET next_producer_id = $1 WHERE id = 1', values: [next] });
      return () => (this.nextProducerId = next);
    });
  }

  /**
   * Brokers sharing the database: `count` producer ids no other broker will hand out, taken from the
   * shared counter in one statement (Kafka's controller hands out blocks the same way, KIP-730);
   * returns the first. setNextProducerId's read-then-write would give two brokers the same block.
   */
  async reserveProducerIds(count: number): Promise<number> {
    let first = -1;
    await this.write(async (c) => {
      const { rows } = await c.query<{ first: string }>({
        name: 'rafka-reserve-pids',
        text: 'UPDATE rafka_cluster SET next_producer_id = next_producer_id + $1 WHERE id = 1 RETURNING next_producer_id - $1 AS first',
        values: [count],
      });
      first = Number(rows[0]!.first);
      return () => (this.nextProducerId = first + count);
    });
    return first;
  }

  async createTopic(topic: TopicRecord): Promise<void> {
    const record = cloneTopic(topic);
    let exists = false;
    await this.write(async (c) => {
      // Another broker may have created the name at the same moment: refused alone (DO NOTHING), not
      // by a unique violation that would fail every operation of this commit.
      const { rowCount } = await c.query({
        name: 'rafka-create-topic',
        text: 'INSERT INTO rafka_topics (topic_id, name, partition_count, configs) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING',
        values: [record.id, record.name, record.partitionCount, JSON.stringify(record.configs)],
      });
      if (rowCount === 0) {
        exists = true;
        return;
      }
      await this.insertPartitions(c, record.id, 0, record.partitionCount);
      return () => {
        const partitions = Array.from({ length: record.partitionCount }, () => ({ index: new PartitionIndex(), epoch: this.initialEpoch }));
        this.topics.set(record.name, { record, partitions });
      };
    });
    if (exists) throw new TopicExistsError(`storage: topic ${record.name} was created by another broker`);
  }

  async updateTopic(topic: TopicRecord): Promise<void> {
    const record = cloneTopic(topic);
    return this.write(async (c) => {
      const t = this.topics.get(record.name);
      if (!t) throw new Error(`updateTopic: no topic ${record.name}`);
      await c.query({
        name: 'rafka-update-topic',
        text: 'UPDATE rafka_topics SET partition_count = $2, configs = $3 WHERE topic_id = $1',
        values: [t.record.id, record.partitionCount, JSON.stringify(record.configs)],
      });
      const from = t.partitions.length;
      if (record.partitionCount > from) await this.insertPartitions(c, t.record.id, from, record.partitionCount);
      return () => {
        while (t.partitions.length < record.partitionCount) t.partitions.push({ index: new PartitionIndex(), epoch: this.initialEpoch });
        t.record = { ...record, id: t.record.id };
      };
    });
  }

  async deleteTopic(name: string): Promise<void> {
    return this.write(async (c) => {
      const t = this.topics.get(name);
      // The partitions, batches and snapshots go with the topic row (ON DELETE CASCADE).
      if (t) {
        await c.query({ name: 'rafka-delete-topic', text: 'DELETE FROM rafka_topics WHERE topic_id = $1', values: [t.record.id] });
        this.deletedInCommit.add(t.record.id);
      }
      await c.query({ name: 'rafka-delete-topic-offsets', text: 'DELETE FROM rafka_committed_offsets WHERE topic = $1', values: [name] });
      return () => {
        this.topics.delete(name);
        this.forgetTopicOffsets(name);
      };
    });
  }

  // ---- partitions ----------------------------------------------------------------------------------

  async append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    const { t, p } = this.partition(topic, partition);
    this.usable();
    if (p.epoch === NOT_HELD) throw new NotLeaderError(`storage: ${topic}-${partition} is not led by this broker`);
    // Our own copy: the base offset is written into it at commit, and the request's buffer may be shared.
    const bytes = Buffer.from(batch.bytes);
    return new Promise<AppendResult>((resolve, reject) => {
      this.enqueue({ kind: 'append', t, partition, epoch: p.epoch, bytes, recordCount: batch.recordCount, maxTimestamp: batch.maxTimestamp, resolve, reject });
    });
  }

  async read(topic: string, partition: number, offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    const { t, p } = this.partition(topic, partition);
    const { from, to } = p.index.pick(offset, maxBytes, minOneBatch);
    if (from === to) return { batches: [], bytes: 0 };
    const cached: Buffer[] = [];
    let bytes = 0;
    for (let i = from; i < to; i++) {
      const b = this.recent.get(recentKey(t.record.id, partition, p.index.baseOffsets[i]!));
      if (b === undefined) break;
      cached.push(b);
      bytes += b.length;
    }
    if (cached.length === to - from) {
      this.readsFromMemory++;
      return { batches: cached, bytes };
    }
    this.readsFromDatabase++;
    const first = p.index.baseOffsets[from]!;
    const last = p.index.baseOffsets[to - 1]!;
    const { rows } = await this.query<{ bytes: Buffer }>({
      name: 'rafka-read',
      text: 'SELECT bytes FROM rafka_batches WHERE topic_id = $1 AND partition = $2 AND base_offset >= $3 AND base_offset <= $4 ORDER BY base_offset',
      values: [t.record.id, partition, first, last],
    });
    // Fewer rows than picked: retention or DeleteRecords removed the oldest while this read waited;
    // the read goes on with what remains, as on the other engines.
    const batches = rows.map((r) => r.bytes);
    return { batches, bytes: batches.reduce((n, b) => n + b.length, 0) };
  }

  offsets(topic: string, partition: number): PartitionOffsets {
    const { index } = this.partition(topic, partition).p;
    return { logStartOffset: index.logStartOffset, highWatermark: index.highWatermark };
  }

  async findBatchByTimestamp(topic: string, partition: number, timestamp: number): Promise<Buffer | null> {
    const { t, p } = this.partition(topic, partition);
    const i = p.index.maxTimestamps.findIndex((ts) => ts >= timestamp);
    return i < 0 ? null : this.getBatch(t, partition, p.index.baseOffsets[i]!);
  }

  async findMaxTimestampBatch(topic: string, partition: number): Promise<Buffer | null> {
    const { t, p } = this.partition(topic, partition);
    const best = p.index.maxTimestampPosition();
    return best < 0 ? null : this.getBatch(t, partition, p.index.baseOffsets[best]!);
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.moveLogStart(topic, partition, (index) => index.clampStart(offset));
  }

  async applyRetention(topic: string, partition: number, policy: RetentionPolicy): Promise<number> {
    return this.moveLogStart(topic, partition, (index) => index.retentionTarget(policy));
  }

  sizeBytes(topic: string, partition: number): number {
    return this.partition(topic, partition).p.index.bytes;
  }

  // ---- producer-state snapshots ----------------------------------------------------------------------

  async writeProducerSnapshot(topic: string, partition: number, offset: number, data: Buffer): Promise<void> {
    const { t, p } = this.partition(topic, partition);
    const bytes = Buffer.from(data);
    return this.write(async (c) => {
      // Which snapshots the new one replaces, decided on a copy: memory changes only after COMMIT.
      const probe = new PartitionSnapshots();
      probe.items = p.index.snapshots.items.map((s) => ({ ...s }));
      const replaced = probe.add(offset, null).map((s) => s.offset);
      await c.query({
        name: 'rafka-put-snapshot',
        text: `INSERT INTO rafka_producer_snapshots (topic_id, partition, snapshot_offset, data) VALUES ($1, $2, $3, $4)
               ON CONFLICT (topic_id, partition, snapshot_offset) DO UPDATE SET data = EXCLUDED.data`,
        values: [t.record.id, partition, offset, bytes],
      });
      if (replaced.length > 0) {
        await c.query({
          name: 'rafka-drop-snapshots',
          text: 'DELETE FROM rafka_producer_snapshots WHERE topic_id = $1 AND partition = $2 AND snapshot_offset = ANY($3::bigint[])',
          values: [t.record.id, partition, replaced],
        });
      }
      return () => void p.index.snapshots.add(offset, null);
    });
  }

  producerSnapshotOffsets(topic: string, partition: number): number[] {
    return this.partition(topic, partition).p.index.snapshots.offsets();
  }

  async readProducerSnapshot(topic: string, partition: number, offset: number): Promise<Buffer | null> {
    const { t, p } = this.partition(topic, partition);
    if (!p.index.snapshots.find(offset)) return null;
    const { rows } = await this.query<{ data: Buffer }>({
      name: 'rafka-read-snapshot',
      text: 'SELECT data FROM rafka_producer_snapshots WHERE topic_id = $1 AND partition = $2 AND snapshot_offset = $3',
      values: [t.record.id, partition, offset],
    });
    return rows[0]?.data ?? null;
  }

  producerSnapshotDue(topic: string, partition: number): boolean {
    const { t, p } = this.partition(topic, partition);
    return p.index.snapshots.dueAfterBytes(snapshotIntervalBytes(t.record.configs, this.topicDefaults));
  }

  // ---- committed offsets and groups ----------------------------------------------------------------

  async commitOffsets(groupId: string, entries: GroupOffsetEntry[]): Promise<void> {
    const puts = entries.filter((e) => e.committed !== null);
    const dels = entries.filter((e) => e.committed === null);
    this.checkCoordinator(groupId);
    return this.write(async (c) => {
      await this.fenceCoordinator(c, groupId);
      if (puts.length > 0) {
        await c.query({
          name: 'rafka-commit-offsets',
          text: `INSERT INTO rafka_committed_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms,
                   expire_timestamp_ms)
                 SELECT $1, u.topic, u.partition, u.committed_offset, u.leader_epoch, u.metadata, u.commit_timestamp_ms, u.expire_timestamp_ms
                 FROM unnest($2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $7::bigint[], $8::bigint[])
                   AS u (topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms)
                 ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed_offset = EXCLUDED.committed_offset,
                   leader_epoch = EXCLUDED.leader_epoch, metadata = EXCLUDED.metadata, commit_timestamp_ms = EXCLUDED.commit_timestamp_ms,
                   expire_timestamp_ms = EXCLUDED.expire_timestamp_ms`,
          values: [
            groupId,
            puts.map((e) => e.topic),
            puts.map((e) => e.partition),
            puts.map((e) => e.committed!.offset),
            puts.map((e) => e.committed!.leaderEpoch),
            puts.map((e) => e.committed!.metadata),
            puts.map((e) => e.committed!.commitTimestampMs),
            puts.map((e) => e.committed!.expireTimestampMs ?? null),
          ],
        });
      }
      if (dels.length > 0) {
        await c.query({
          name: 'rafka-delete-offsets',
          text: `DELETE FROM rafka_committed_offsets o USING unnest($2::text[], $3::int[]) AS u (topic, partition)
                 WHERE o.group_id = $1 AND o.topic = u.topic AND o.partition = u.partition`,
          values: [groupId, dels.map((e) => e.topic), dels.map((e) => e.partition)],
        });
      }
      return () => applyOffsetCommits(this.groupOffsets, groupId, entries);
    });
  }

  fetchOffsets(groupId: string): ReadonlyMap<string, StoredOffset> {
    return this.groupOffsets.get(groupId) ?? new Map();
  }

  listOffsetGroups(): string[] {
    return [...this.groupOffsets.keys()];
  }

  async deleteGroupOffsets(groupId: string): Promise<void> {
    this.checkCoordinator(groupId);
    return this.write(async (c) => {
      await this.fenceCoordinator(c, groupId);
      await c.query({ name: 'rafka-delete-group-offsets', text: 'DELETE FROM rafka_committed_offsets WHERE group_id = $1', values: [groupId] });
      return () => void this.groupOffsets.delete(groupId);
    });
  }

  async putGroupMetadata(groupId: string, value: Buffer | null): Promise<void> {
    this.checkCoordinator(groupId);
    return this.putValue('rafka_groups', 'group_id', groupId, value, this.groups);
  }

  groupMetadata(): ReadonlyMap<string, Buffer> {
    return this.groups;
  }

  async putTransactionState(transactionalId: string, value: Buffer | null): Promise<void> {
    if (this.leadership === 'assigned' && !this.txnEpochs.has(transactionalId)) throw new NotCoordinatorError(`storage: transactional id ${transactionalId} is not coordinated by this broker`);
    return this.putValue('rafka_transactions', 'transactional_id', transactionalId, value, this.txnStates);
  }

  transactionStates(): ReadonlyMap<string, Buffer> {
    return this.txnStates;
  }

  async putScramCredentials(user: string, value: Buffer | null): Promise<void> {
    return this.putValue('rafka_scram_credentials', 'user_name', user, value, this.scram);
  }

  scramCredentials(): ReadonlyMap<string, Buffer> {
    return this.scram;
  }

  // ---- brokers sharing the database (leadership: 'assigned'; src/broker/shared-cluster.ts) -----------

  /** Registration, leases and partition leadership rows (membership.ts), over this engine's pool. */
  membership(): PostgresMembership {
    return new PostgresMembership((q) => this.query(q));
  }

  /** The leader epoch this engine holds for a partition; -1: none (or no such partition). */
  heldEpoch(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.epoch ?? NOT_HELD;
  }

  /**
   * Take a partition this broker was just made leader of at `epoch` (its claim committed): load its
   * index (log start, high watermark, batches, snapshots) from the database, then append under that
   * epoch. Refused (NotLeaderError) when the row no longer carries the epoch: someone took it since.
   */
  async adoptPartition(topic: string, partition: number, epoch: number): Promise<void> {
    const { t, p } = this.partition(topic, partition);
    if (p.epoch === epoch) return;
    const index = new PartitionIndex();
    const id = t.record.id;
    const { rows: parts } = await this.query<{ log_start_offset: string; next_offset: string; leader_epoch: number }>({
      name: 'rafka-adopt-partition',
      text: 'SELECT log_start_offset, next_offset, leader_epoch FROM rafka_partitions WHERE topic_id = $1 AND partition = $2',
      values: [id, partition],
    });
    const row = parts[0];
    if (!row || row.leader_epoch !== epoch) throw new NotLeaderError(`storage: ${topic}-${partition} is no longer at leader epoch ${epoch}`);
    index.logStartOffset = index.highWatermark = Number(row.log_start_offset);
    for (let after = -1; ; ) {
      const { rows } = await this.query<IndexRow>({
        name: 'rafka-adopt-index',
        text: `SELECT base_offset, last_offset, max_timestamp, size_bytes FROM rafka_batches
               WHERE topic_id = $1 AND partition = $2 AND base_offset > $3 ORDER BY base_offset LIMIT ${LOAD_STEP}`,
        values: [id, partition, after],
      });
      for (const r of rows) if (Number(r.last_offset) >= index.logStartOffset) pushIndexRow(index, r);
      if (rows.length < LOAD_STEP) break;
      after = Number(rows[rows.length - 1]!.base_offset);
    }
    index.highWatermark = Math.max(index.highWatermark, Number(row.next_offset));
    const { rows: snaps } = await this.query<{ snapshot_offset: string }>({
      name: 'rafka-adopt-snapshots',
      text: 'SELECT snapshot_offset FROM rafka_producer_snapshots WHERE topic_id = $1 AND partition = $2 ORDER BY snapshot_offset',
      values: [id, partition],
    });
    for (const r of snaps) index.snapshots.items.push({ offset: Number(r.snapshot_offset), data: null });
    index.recountBytesSinceSnapshot();
    // Deleted (or re-created) while loading: nothing to take.
    if (this.topics.get(topic) !== t || t.partitions[partition] !== p) return;
    p.index = index;
    p.epoch = epoch;
  }

  /** Whether the partition's row still carries the epoch this engine holds (one query; false when it holds none). */
  async holdsInDatabase(topic: string, partition: number): Promise<boolean> {
    const t = this.topics.get(topic);
    const epoch = t?.partitions[partition]?.epoch ?? NOT_HELD;
    if (!t || epoch === NOT_HELD) return false;
    const { rows } = await this.query<{ leader_epoch: number }>({
      name: 'rafka-partition-epoch',
      text: 'SELECT leader_epoch FROM rafka_partitions WHERE topic_id = $1 AND partition = $2',
      values: [t.record.id, partition],
    });
    return rows[0]?.leader_epoch === epoch;
  }

  /** Give a partition up (another broker leads it now): appends are refused and its index is dropped. */
  releasePartition(topic: string, partition: number): void {
    const p = this.topics.get(topic)?.partitions[partition];
    if (p) this.drop(p);
  }

  private drop(p: PartitionState): void {
    p.epoch = NOT_HELD;
    p.index = new PartitionIndex();
  }

  /**
   * Bring the topics in line with the database (other brokers create, change and delete them). Runs
   * in the writer's queue, so it sees every change of this engine queued before it. Returns what changed.
   */
  async syncTopics(): Promise<TopicChanges> {
    const changes: TopicChanges = { created: [], updated: [], deleted: [] };
    await this.write(async (c) => {
      const { rows } = await c.query<{ topic_id: string; name: string; partition_count: number; configs: Record<string, string> }>({
        name: 'rafka-sync-topics',
        text: 'SELECT topic_id, name, partition_count, configs FROM rafka_topics',
      });
      return () => {
        const ids = new Set(rows.map((r) => r.topic_id));
        for (const [name, t] of this.topics) {
          if (ids.has(t.record.id)) continue;
          this.topics.delete(name);
          this.forgetTopicOffsets(name);
          changes.deleted.push(cloneTopic(t.record));
        }
        for (const r of rows) {
          const record: TopicRecord = { name: r.name, id: r.topic_id, partitionCount: r.partition_count, configs: r.configs };
          const t = this.topics.get(r.name);
          if (t === undefined) {
            this.topics.set(r.name, { record, partitions: Array.from({ length: r.partition_count }, () => ({ index: new PartitionIndex(), epoch: NOT_HELD })) });
            changes.created.push(cloneTopic(record));
          } else if (t.record.partitionCount !== record.partitionCount || JSON.stringify(t.record.configs) !== JSON.stringify(record.configs)) {
            while (t.partitions.length < record.partitionCount) t.partitions.push({ index: new PartitionIndex(), epoch: NOT_HELD });
            t.record = record;
            changes.updated.push(cloneTopic(record));
          }
        }
      };
    });
    return changes;
  }

  /**
   * Coordinate a group from now on: take its row at epoch + 1 (the previous coordinator's writes
   * fail from then on), then load its committed offsets and metadata as they are after that.
   */
  async claimGroup(groupId: string): Promise<void> {
    const epoch = await this.claimCoordinator('g', groupId);
    const [offsets, meta] = await Promise.all([
      this.query<OffsetRow>({
        name: 'rafka-group-offsets',
        text: `SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms
               FROM rafka_committed_offsets WHERE group_id = $1`,
        values: [groupId],
      }),
      this.query<{ value: Buffer }>({ name: 'rafka-group-value', text: 'SELECT value FROM rafka_groups WHERE group_id = $1', values: [groupId] }),
    ]);
    this.groupOffsets.delete(groupId);
    for (const r of offsets.rows) this.loadOffsetRow(r);
    const value = meta.rows[0]?.value;
    if (value === undefined) this.groups.delete(groupId);
    else this.groups.set(groupId, value);
    this.groupEpochs.set(groupId, epoch);
  }

  /** The coordinator row of a group ('g') or transactional id ('t') taken by this broker at epoch + 1 (0 when new); the epoch. */
  private async claimCoordinator(kind: 'g' | 't', key: string): Promise<number> {
    const { rows } = await this.query<{ epoch: number }>({
      name: 'rafka-claim-coordinator',
      text: `INSERT INTO rafka_coordinators (kind, key, node_id, epoch) VALUES ($1, $2, $3, 0)
             ON CONFLICT (kind, key) DO UPDATE SET node_id = EXCLUDED.node_id, epoch = rafka_coordinators.epoch + 1
             RETURNING epoch`,
      values: [kind, key, this.nodeId],
    });
    return rows[0]!.epoch;
  }

  /**
   * Coordinate a transactional id from now on (Kafka: becoming leader of its __transaction_state
   * partition): its row at epoch + 1, so the previous coordinator's state writes fail from then on,
   * then its state read as it is after that. Returns the coordinator epoch, written into its markers.
   */
  async claimTransaction(transactionalId: string): Promise<number> {
    const epoch = await this.claimCoordinator('t', transactionalId);
    const { rows } = await this.query<{ value: Buffer }>({
      name: 'rafka-transaction-value',
      text: 'SELECT value FROM rafka_transactions WHERE transactional_id = $1',
      values: [transactionalId],
    });
    const value = rows[0]?.value;
    if (value === undefined) this.txnStates.delete(transactionalId);
    else this.txnStates.set(transactionalId, value);
    this.txnEpochs.set(transactionalId, epoch);
    return epoch;
  }

  /** The coordinator epoch this engine holds for a transactional id: -1 when it does not coordinate it, 0 on a storage of its own. */
  transactionEpoch(transactionalId: string): number {
    if (this.leadership !== 'assigned') return 0;
    return this.txnEpochs.get(transactionalId) ?? -1;
  }

  /** Another broker coordinates the transactional id now: forget what this engine held of it. */
  releaseTransaction(transactionalId: string): void {
    this.txnEpochs.delete(transactionalId);
    this.txnStates.delete(transactionalId);
  }

  /** Of the transactional ids this engine took, those whose row names another broker or a newer epoch now: released and returned. */
  lostTransactions(ids: readonly string[]): Promise<string[]> {
    return this.lostCoordinations('t', ids, this.txnEpochs, (id) => this.releaseTransaction(id));
  }

  /**
   * Of the keys this engine took as coordinator (`held`: key → epoch taken; kind 'g' groups, 't'
   * transactional ids), those whose rafka_coordinators row names another broker or a newer epoch
   * now (taken over without this broker writing since): released and returned.
   */
  private async lostCoordinations(kind: 'g' | 't', keys: readonly string[], held: ReadonlyMap<string, number>, release: (key: string) => void): Promise<string[]> {
    const mine = keys.filter((k) => held.has(k));
    if (mine.length === 0) return [];
    const { rows } = await this.query<{ key: string; node_id: number; epoch: number }>({
      name: 'rafka-coordination-holders',
      text: `SELECT key, node_id, epoch FROM rafka_coordinators WHERE kind = $1 AND key = ANY($2::text[])`,
      values: [kind, mine],
    });
    const now = new Map(rows.map((r) => [r.key, r]));
    const lost = mine.filter((k) => {
      const r = now.get(k);
      return r === undefined || r.node_id !== this.nodeId || r.epoch !== held.get(k);
    });
    for (const k of lost) release(k);
    return lost;
  }

  /**
   * Every stored transactional id with the broker and epoch of its coordinator row (null: never
   * taken): a coordinator takes those assigned to it, so their timeouts and markers run.
   */
  async storedTransactionalIds(): Promise<{ id: string; holder: number | null; epoch: number | null }[]> {
    const { rows } = await this.query<{ transactional_id: string; node_id: number | null; epoch: number | null }>({
      name: 'rafka-transactional-ids',
      text: `SELECT t.transactional_id, c.node_id, c.epoch FROM rafka_transactions t
             LEFT JOIN rafka_coordinators c ON c.kind = 't' AND c.key = t.transactional_id`,
      values: [],
    });
    return rows.map((r) => ({ id: r.transactional_id, holder: r.node_id, epoch: r.epoch }));
  }

  /**
   * A transactional id's state as stored now, read by a partition leader that does not coordinate it
   * (KIP-890 verification of a transactional produce: the coordinator stores AddPartitionsToTxn
   * before answering it, so the row is the truth). Null when there is none.
   */
  async readTransactionState(transactionalId: string): Promise<Buffer | null> {
    const { rows } = await this.query<{ value: Buffer }>({
      name: 'rafka-transaction-value',
      text: 'SELECT value FROM rafka_transactions WHERE transactional_id = $1',
      values: [transactionalId],
    });
    return rows[0]?.value ?? null;
  }

  /** In the writing transaction: the transactional id's row still names this broker at the epoch it took (locked until COMMIT). */
  private async fenceTransactionCoordinator(c: PoolClient, transactionalId: string): Promise<void> {
    if (this.leadership !== 'assigned') return;
    const { rowCount } = await c.query({
      name: 'rafka-fence-transaction',
      text: `UPDATE rafka_coordinators SET epoch = epoch WHERE kind = 't' AND key = $1 AND node_id = $2 AND epoch = $3`,
      values: [transactionalId, this.nodeId, this.txnEpochs.get(transactionalId) ?? -1],
    });
    if (rowCount !== 1) {
      this.releaseTransaction(transactionalId);
      this.onTransactionFenced?.(transactionalId);
      throw new NotCoordinatorError(`storage: transactional id ${transactionalId} was taken over by another broker`);
    }
  }

  // ---- pending transactional offsets (brokers sharing the database) ------------------------------------

  /**
   * TxnOffsetCommit at the group's coordinator: in one PostgreSQL transaction, the group's row still
   * names this broker (fenced like any group write), the transactional id's stored state is read
   * locked (`FOR SHARE`: an EndTxn storing PrepareCommit waits for this commit, or this one sees it)
   * and handed to `check`; when it answers 0 the offsets are stored pending. Returns check's answer.
   */
  async putTxnOffsets(transactionalId: string, groupId: string, check: (state: Buffer | null) => number, entries: readonly { topic: string; partition: number; committed: CommittedOffset }[]): Promise<number> {
    this.checkCoordinator(groupId);
    let code = -1;
    await this.write(async (c) => {
      await this.fenceCoordinator(c, groupId);
      const { rows } = await c.query<{ value: Buffer }>({
        name: 'rafka-transaction-value-shared',
        text: 'SELECT value FROM rafka_transactions WHERE transactional_id = $1 FOR SHARE',
        values: [transactionalId],
      });
      code = check(rows[0]?.value ?? null);
      if (code !== 0 || entries.length === 0) return;
      await c.query({
        name: 'rafka-put-txn-offsets',
        text: `INSERT INTO rafka_txn_offsets (transactional_id, group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms,
                 expire_timestamp_ms)
               SELECT $1, $2, u.topic, u.partition, u.committed_offset, u.leader_epoch, u.metadata, u.commit_timestamp_ms, u.expire_timestamp_ms
               FROM unnest($3::text[], $4::int[], $5::bigint[], $6::int[], $7::text[], $8::bigint[], $9::bigint[])
                 AS u (topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms)
               ON CONFLICT (transactional_id, group_id, topic, partition) DO UPDATE SET committed_offset = EXCLUDED.committed_offset,
                 leader_epoch = EXCLUDED.leader_epoch, metadata = EXCLUDED.metadata, commit_timestamp_ms = EXCLUDED.commit_timestamp_ms,
                 expire_timestamp_ms = EXCLUDED.expire_timestamp_ms`,
        values: [
          transactionalId,
          groupId,
          entries.map((e) => e.topic),
          entries.map((e) => e.partition),
          entries.map((e) => e.committed.offset),
          entries.map((e) => e.committed.leaderEpoch),
          entries.map((e) => e.committed.metadata),
          entries.map((e) => e.committed.commitTimestampMs),
          entries.map((e) => e.committed.expireTimestampMs ?? null),
        ],
      });
    });
    return code;
  }

  /** The pending offsets a transaction stored (its coordinator applies them on commit), by group. */
  async txnOffsets(transactionalId: string): Promise<Map<string, { topic: string; partition: number; committed: CommittedOffset }[]>> {
    const { rows } = await this.query<OffsetRow>({
      name: 'rafka-txn-offsets',
      text: `SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms
             FROM rafka_txn_offsets WHERE transactional_id = $1`,
      values: [transactionalId],
    });
    const out = new Map<string, { topic: string; partition: number; committed: CommittedOffset }[]>();
    for (const r of rows) {
      let list = out.get(r.group_id);
      if (!list) out.set(r.group_id, (list = []));
      list.push({ topic: r.topic, partition: r.partition, committed: toCommitted(r) });
    }
    return out;
  }

  /** A transaction ended (its offsets applied, or dropped on abort): its pending offsets deleted, fenced as its state writes are. */
  async dropTxnOffsets(transactionalId: string): Promise<void> {
    return this.write(async (c) => {
      await this.fenceTransactionCoordinator(c, transactionalId);
      await c.query({ name: 'rafka-drop-txn-offsets', text: 'DELETE FROM rafka_txn_offsets WHERE transactional_id = $1', values: [transactionalId] });
    });
  }

  /** The group's partitions (`topic\0partition`) with a pending transactional offset (OffsetFetch require_stable). */
  async pendingTxnOffsets(groupId: string): Promise<Set<string>> {
    const { rows } = await this.query<{ topic: string; partition: number }>({
      name: 'rafka-pending-txn-offsets',
      text: 'SELECT DISTINCT topic, partition FROM rafka_txn_offsets WHERE group_id = $1',
      values: [groupId],
    });
    return new Set(rows.map((r) => offsetKey(r.topic, r.partition)));
  }

  /** Of the groups this engine took, those whose row names another broker or a newer epoch now: released and returned. */
  lostGroups(groupIds: readonly string[]): Promise<string[]> {
    return this.lostCoordinations('g', groupIds, this.groupEpochs, (g) => this.releaseGroup(g));
  }

  /** Another broker coordinates the group now: forget what this engine held of it. */
  releaseGroup(groupId: string): void {
    this.groupEpochs.delete(groupId);
    this.groupOffsets.delete(groupId);
    this.groups.delete(groupId);
  }

  /** Brokers sharing the database: a group this broker does not coordinate is not written by it. */
  private checkCoordinator(groupId: string): void {
    if (this.leadership === 'assigned' && !this.groupEpochs.has(groupId)) throw new NotCoordinatorError(`storage: group ${groupId} is not coordinated by this broker`);
  }

  /** In the writing transaction: the group's row still names this broker at the epoch it took (the row stays locked until COMMIT). */
  private async fenceCoordinator(c: PoolClient, groupId: string): Promise<void> {
    if (this.leadership !== 'assigned') return;
    const epoch = this.groupEpochs.get(groupId);
    const { rowCount } = await c.query({
      name: 'rafka-fence-group',
      text: `UPDATE rafka_coordinators SET epoch = epoch WHERE kind = 'g' AND key = $1 AND node_id = $2 AND epoch = $3`,
      values: [groupId, this.nodeId, epoch ?? -1],
    });
    if (rowCount !== 1) {
      this.releaseGroup(groupId);
      this.onGroupFenced?.(groupId);
      throw new NotCoordinatorError(`storage: group ${groupId} was taken over by another broker`);
    }
  }

  private loadOffsetRow(r: OffsetRow): void {
    let m = this.groupOffsets.get(r.group_id);
    if (!m) this.groupOffsets.set(r.group_id, (m = new Map()));
    m.set(offsetKey(r.topic, r.partition), { topic: r.topic, partition: r.partition, ...toCommitted(r) });
  }

  private forgetTopicOffsets(name: string): void {
    for (const [groupId, offsets] of this.groupOffsets) {
      for (const [key, o] of offsets) if (o.topic === name) offsets.delete(key);
      if (offsets.size === 0) this.groupOffsets.delete(groupId);
    }
  }

  async putAclBinding(key: string, value: Buffer | null): Promise<void> {
    return this.putValue('rafka_acls', 'binding_key', key, value, this.acls);
  }

  aclBindings(): ReadonlyMap<string, Buffer> {
    return this.acls;
  }

  async putGroupConfig(groupId: string, value: Buffer | null): Promise<void> {
    return this.putValue('rafka_group_configs', 'group_id', groupId, value, this.groupConfigValues);
  }

  groupConfigs(): ReadonlyMap<string, Buffer> {
    return this.groupConfigValues;
  }

  async putClientQuotas(entity: string, value: Buffer | null): Promise<void> {
    return this.putValue('rafka_client_quotas', 'entity', entity, value, this.quotaEntities);
  }

  clientQuotas(): ReadonlyMap<string, Buffer> {
    return this.quotaEntities;
  }

  // ---- the writer ----------------------------------------------------------------------------------

  /** Queue one transactional step; resolves once the commit holding it is done and applied. */
  private write(run: SqlOp['run']): Promise<void> {
    this.usable();
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: 'sql', run, resolve, reject }));
  }

  private enqueue(op: Op): void {
    this.queue.push(op);
    if (!this.writing && !this.flushScheduled) {
      this.flushScheduled = true;
      // Operations of this event-loop turn join the same commit.
      setImmediate(() => this.flush());
    }
  }

  /** Start one commit of what is queued; when it ends, the next takes what queued meanwhile. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.writing || this.queue.length === 0) return;
    const ops = this.takeCommit();
    this.writing = this.commit(ops).finally(() => {
      this.writing = null;
      if (this.queue.length > 0) this.flush();
    });
  }

  private takeCommit(): Op[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < MAX_OPS_PER_COMMIT) {
      const op = this.queue[n]!;
      const size = op.kind === 'append' ? op.bytes.length : 0;
      if (n > 0 && bytes + size > MAX_BYTES_PER_COMMIT) break;
      bytes += size;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async commit(ops: Op[]): Promise<void> {
    const pool = this.pool;
    if (!pool) {
      const err = new StorageError('storage: the postgres engine is closed');
      for (const op of ops) op.reject(err);
      return;
    }
    let client: PoolClient | null = null;
    const effects: Array<() => void> = [];
    const results = new Map<AppendOp, number>();
    this.deletedInCommit.clear();
    // Appends alone are ONE statement (storeAppends), which PostgreSQL commits by itself: one round
    // trip instead of BEGIN, the statement and COMMIT (three, each waiting for the server process to
    // be scheduled, which on a busy machine is most of an append's latency).
    const alone = ops.every((op) => op.kind === 'append');
    try {
      client = await pool.connect();
      const committing = performance.now();
      if (!alone) await client.query('BEGIN');
      for (let i = 0; i < ops.length; ) {
        const op = ops[i]!;
        if (op.kind === 'sql') {
          const effect = await op.run(client);
          if (effect) effects.push(effect);
          i++;
          continue;
        }
        let j = i;
        const run: AppendOp[] = [];
        while (j < ops.length && ops[j]!.kind === 'append') run.push(ops[j++] as AppendOp);
        effects.push(await this.storeAppends(client, run, results));
        i = j;
      }
      if (!alone) await client.query('COMMIT');
      this.observer?.fsync((performance.now() - committing) / 1000);
      this.commits++;
    } catch (err) {
      if (client) {
        if (!alone) await client.query('ROLLBACK').catch(() => {});
        // A connection that failed may be broken: the pool drops it and opens a fresh one later.
        client.release(true);
        client = null;
      }
      const failure = toStorageError(err);
      for (const op of ops) op.reject(failure);
      // Appends queued meanwhile to the same partitions were called before this failure was known:
      // they fail with it (appendsFailInOrder), so none outlives a failed predecessor.
      const failed = new Set(ops.flatMap((op) => (op.kind === 'append' ? [op.t.partitions[op.partition]!] : [])));
      if (failed.size > 0) {
        const behind = this.queue.filter((op) => op.kind === 'append' && failed.has(op.t.partitions[op.partition]!));
        for (const op of behind) {
          this.queue.splice(this.queue.indexOf(op), 1);
          op.reject(failure);
        }
      }
      return;
    } finally {
      client?.release();
    }
    for (const effect of effects) effect();
    for (const op of ops) {
      if (op.kind === 'sql') op.resolve();
      else if (results.has(op)) op.resolve({ baseOffset: results.get(op)! });
      // else: refused in storeAppends (its topic deleted before it), already rejected.
    }
  }

  /**
   * Store a run of appends: per partition, take the offsets from next_offset (epoch-checked), write
   * each base offset into its batch, insert every batch with one statement. Returns the in-memory
   * update to apply after COMMIT.
   */
  private async storeAppends(client: PoolClient, run: AppendOp[], results: Map<AppendOp, number>): Promise<() => void> {
    const groups = new Map<string, { t: TopicState; partition: number; ops: AppendOp[]; records: number }>();
    for (const op of run) {
      // Its topic was deleted before it (earlier in this commit, or in an earlier one): refused
      // alone, so a produce racing a DeleteTopics never fails the delete.
      if (this.deletedInCommit.has(op.t.record.id) || this.topics.get(op.t.record.name) !== op.t) {
        op.reject(new StorageError(`storage: topic ${op.t.record.name} was deleted`));
        continue;
      }
      if (op.t.partitions[op.partition]!.epoch !== op.epoch) {
        op.reject(new NotLeaderError(`storage: ${op.t.record.name}-${op.partition} changed leadership while the append waited`));
        continue;
      }
      const key = `${op.t.record.id}\u0000${op.partition}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { t: op.t, partition: op.partition, ops: [], records: 0 }));
      g.ops.push(op);
      g.records += op.recordCount;
    }
    const list = [...groups.values()];
    if (list.length === 0) return () => {};
    // Per batch: its offset from its partition's base (the partition's earlier batches in this
    // commit), and where its bytes start in the one binary parameter.
    const cols = { topic: [] as string[], partition: [] as number[], delta: [] as number[], records: [] as number[], baseTs: [] as number[], maxTs: [] as number[], pid: [] as number[], pepoch: [] as number[], seq: [] as number[], attrs: [] as number[], size: [] as number[], start: [] as number[], bytes: [] as Buffer[] };
    let position = 0;
    for (const g of list) {
      let delta = 0;
      for (const op of g.ops) {
        const h = readBatchHeader(op.bytes);
        cols.topic.push(g.t.record.id);
        cols.partition.push(g.partition);
        cols.delta.push(delta);
        cols.records.push(op.recordCount);
        cols.baseTs.push(h.baseTimestamp);
        cols.maxTs.push(op.maxTimestamp);
        cols.pid.push(h.producerId);
        cols.pepoch.push(h.producerEpoch);
        cols.seq.push(h.baseSequence);
        cols.attrs.push(h.attributes);
        cols.size.push(op.bytes.length);
        cols.start.push(1 + position); // substring counts from 1
        position += op.bytes.length;
        cols.bytes.push(op.bytes);
        delta += op.recordCount;
      }
    }
    // ONE statement: take the offsets from next_offset where the epoch is still ours (a fenced
    // partition's row is not updated, so its batches join nothing and are not stored) and insert the
    // batches with their base offsets written into the bytes (the first 8 bytes, outside the CRC).
    // The batches travel as ONE binary parameter (pg sends a Buffer as binary; a bytea[] would go as
    // hex text, twice the size to send and to parse), cut back into rows by position.
    const { rows } = await client.query<{ topic_id: string; partition: number; base: string }>({
      name: 'rafka-append',
      text: `WITH taken AS (
               UPDATE rafka_partitions p SET next_offset = p.next_offset + u.n, leader_node_id = $5
               FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[]) AS u (topic_id, partition, n, epoch)
               WHERE p.topic_id = u.topic_id AND p.partition = u.partition AND p.leader_epoch = u.epoch
               RETURNING p.topic_id, p.partition, p.next_offset - u.n AS base
             ), stored AS (
               INSERT INTO rafka_batches (topic_id, partition, base_offset, last_offset, base_timestamp, max_timestamp, producer_id, producer_epoch,
                 base_sequence, attributes, size_bytes, bytes)
               SELECT b.topic_id, b.partition, t.base + b.delta, t.base + b.delta + b.records - 1, b.base_timestamp, b.max_timestamp, b.producer_id,
                 b.producer_epoch, b.base_sequence, b.attributes, b.size_bytes,
                 overlay(substring($18::bytea FROM b.start FOR b.size_bytes) PLACING int8send(t.base + b.delta) FROM 1 FOR 8)
               FROM unnest($6::text[], $7::int[], $8::bigint[], $9::int[], $10::bigint[], $11::bigint[], $12::bigint[], $13::smallint[],
                 $14::int[], $15::smallint[], $16::int[], $17::int[])
                 AS b (topic_id, partition, delta, records, base_timestamp, max_timestamp, producer_id, producer_epoch,
                   base_sequence, attributes, size_bytes, start)
               JOIN taken t ON t.topic_id = b.topic_id AND t.partition = b.partition
             )
             SELECT topic_id, partition, base FROM taken`,
      values: [
        list.map((g) => g.t.record.id), list.map((g) => g.partition), list.map((g) => g.records), list.map((g) => g.t.partitions[g.partition]!.epoch), this.nodeId,
        cols.topic, cols.partition, cols.delta, cols.records, cols.baseTs, cols.maxTs, cols.pid, cols.pepoch, cols.seq, cols.attrs, cols.size, cols.start, Buffer.concat(cols.bytes),
      ],
    });
    const bases = new Map(rows.map((r) => [`${r.topic_id}\u0000${r.partition}`, Number(r.base)]));
    const late: Array<{ index: PartitionIndex; rows: IndexRow[] }> = [];
    const fenced: PartitionState[] = [];
    const pushes: Array<{ index: PartitionIndex; key: string; bytes: Buffer; base: number; last: number; maxTs: number }> = [];
    for (const [key, g] of groups) {
      const base = bases.get(key);
      const p = g.t.partitions[g.partition]!;
      if (base === undefined) {
        // Fenced (another broker bumped the epoch) or deleted: its appends are refused alone, the
        // rest of the commit goes on. The partition is no longer ours: drop its index.
        const err = new NotLeaderError(`storage: ${g.t.record.name}-${g.partition} is no longer led by this broker (leader epoch ${p.epoch} was replaced) or was deleted`);
        for (const op of g.ops) op.reject(err);
        fenced.push(p);
        this.onFenced?.();
        continue;
      }
      // next_offset ahead of what we know: an earlier commit whose answer was lost did commit.
      if (base > p.index.highWatermark) late.push({ index: p.index, rows: await this.loadIndexRows(client, g.t.record.id, g.partition, p.index.highWatermark, base) });
      let offset = base;
      for (const op of g.ops) {
        // The same base offset as the stored copy (written there by the statement).
        writeInt64(op.bytes, 0, offset);
        results.set(op, offset);
        pushes.push({ index: p.index, key: recentKey(g.t.record.id, g.partition, offset), bytes: op.bytes, base: offset, last: offset + op.recordCount - 1, maxTs: op.maxTimestamp });
        offset += op.recordCount;
      }
    }
    return () => {
      for (const p of fenced) this.drop(p);
      for (const l of late) for (const r of l.rows) pushIndexRow(l.index, r);
      for (const x of pushes) {
        x.index.push(x.base, x.last, x.maxTs, x.bytes.length);
        this.recent.set(x.key, x.bytes);
      }
    };
  }

  // ---- internals -----------------------------------------------------------------------------------

  private usable(): Pool {
    if (this.closed) throw new StorageError('storage: the postgres engine is closed');
    if (!this.pool) throw new StorageError('storage: the postgres engine is not open');
    return this.pool;
  }

  /** A read through the pool (any connection): committed data only. */
  private async query<R extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const pool = this.usable();
    try {
      return await pool.query<R>(q);
    } catch (err) {
      throw toStorageError(err);
    }
  }

  private partition(topic: string, partition: number): { t: TopicState; p: PartitionState } {
    const t = this.topics.get(topic);
    const p = t?.partitions[partition];
    if (!t || !p) throw new Error(`no partition ${topic}-${partition}`);
    return { t, p };
  }

  private async getBatch(t: TopicState, partition: number, baseOffset: number): Promise<Buffer | null> {
    const { rows } = await this.query<{ bytes: Buffer }>({
      name: 'rafka-get-batch',
      text: 'SELECT bytes FROM rafka_batches WHERE topic_id = $1 AND partition = $2 AND base_offset = $3',
      values: [t.record.id, partition, baseOffset],
    });
    return rows[0]?.bytes ?? null;
  }

  private async insertPartitions(c: PoolClient, topicId: string, from: number, to: number): Promise<void> {
    await c.query({
      name: 'rafka-insert-partitions',
      text: `INSERT INTO rafka_partitions (topic_id, partition, leader_node_id) SELECT $1, g, $4 FROM generate_series($2::int, $3::int - 1) AS g
             ON CONFLICT (topic_id, partition) DO NOTHING`,
      // Brokers sharing the database: nobody leads a new partition until one claims it.
      values: [topicId, from, to, this.leadership === 'all' ? this.nodeId : null],
    });
  }

  private putValue(table: 'rafka_groups' | 'rafka_transactions' | 'rafka_scram_credentials' | 'rafka_acls' | 'rafka_group_configs' | 'rafka_client_quotas', keyColumn: string, key: string, value: Buffer | null, memory: Map<string, Buffer>): Promise<void> {
    const copy = value === null ? null : Buffer.from(value);
    return this.write(async (c) => {
      if (table === 'rafka_groups') await this.fenceCoordinator(c, key);
      if (table === 'rafka_transactions') await this.fenceTransactionCoordinator(c, key);
      if (copy === null) {
        await c.query({ name: `${table}-delete`, text: `DELETE FROM ${table} WHERE ${keyColumn} = $1`, values: [key] });
      } else {
        await c.query({
          name: `${table}-put`,
          text: `INSERT INTO ${table} (${keyColumn}, value) VALUES ($1, $2) ON CONFLICT (${keyColumn}) DO UPDATE SET value = EXCLUDED.value`,
          values: [key, copy],
        });
      }
      return () => void (copy === null ? memory.delete(key) : memory.set(key, copy));
    });
  }

  /** Write the new log start, drop the batches and snapshots wholly below it; one transaction. */
  private moveLogStart(topic: string, partition: number, target: (index: PartitionIndex) => number): Promise<number> {
    const { t, p } = this.partition(topic, partition);
    let result = p.index.logStartOffset;
    return this.write(async (c) => {
      // Decided when the commit runs, on the index as every earlier operation left it.
      const to = target(p.index);
      result = to;
      if (to === p.index.logStartOffset) return;
      const id = t.record.id;
      await c.query({
        name: 'rafka-log-start',
        text: 'UPDATE rafka_partitions SET log_start_offset = GREATEST(log_start_offset, $3) WHERE topic_id = $1 AND partition = $2',
        values: [id, partition, to],
      });
      await c.query({
        name: 'rafka-drop-batches',
        text: 'DELETE FROM rafka_batches WHERE topic_id = $1 AND partition = $2 AND last_offset < $3',
        values: [id, partition, to],
      });
      await c.query({
        name: 'rafka-drop-snapshots-below',
        text: 'DELETE FROM rafka_producer_snapshots WHERE topic_id = $1 AND partition = $2 AND snapshot_offset < $3',
        values: [id, partition, to],
      });
      return () => {
        p.index.snapshots.dropBelow(to);
        p.index.truncateBefore(to);
      };
    }).then(() => result);
  }

  private async loadIndexRows(c: PoolClient, topicId: string, partition: number, from: number, to: number): Promise<IndexRow[]> {
    const { rows } = await c.query<IndexRow>({
      name: 'rafka-index-range',
      text: `SELECT base_offset, last_offset, max_timestamp, size_bytes FROM rafka_batches
             WHERE topic_id = $1 AND partition = $2 AND base_offset >= $3 AND base_offset < $4 ORDER BY base_offset`,
      values: [topicId, partition, from, to],
    });
    return rows;
  }

  // ---- open ----------------------------------------------------------------------------------------

  /** Read everything the engine keeps in memory, and take the leader epoch of every partition. */
  private async load(c: PoolClient): Promise<void> {
    const cluster = await c.query<{ cluster_id: string | null; next_producer_id: string }>('SELECT cluster_id, next_producer_id FROM rafka_cluster WHERE id = 1');
    this.clusterId = cluster.rows[0]?.cluster_id ?? null;
    this.nextProducerId = Number(cluster.rows[0]?.next_producer_id ?? 0);

    const byId = new Map<string, TopicState>();
    const topics = await c.query<{ topic_id: string; name: string; partition_count: number; configs: Record<string, string> }>(
      'SELECT topic_id, name, partition_count, configs FROM rafka_topics ORDER BY name',
    );
    for (const r of topics.rows) {
      const t: TopicState = {
        record: { name: r.name, id: r.topic_id, partitionCount: r.partition_count, configs: r.configs },
        partitions: Array.from({ length: r.partition_count }, () => ({ index: new PartitionIndex(), epoch: 0 })),
      };
      this.topics.set(r.name, t);
      byId.set(r.topic_id, t);
    }
    // Brokers sharing the database start holding nothing: each partition's index is loaded when the
    // partition is assigned to this broker (adoptPartition), not here.
    if (this.leadership === 'assigned') {
      for (const t of this.topics.values()) for (const p of t.partitions) p.epoch = NOT_HELD;
    } else await this.loadAllPartitions(c, byId);
    await this.loadCoordinatorState(c);
  }

  /** A lone broker takes every partition: the bump fences a writer that held them before (a broker that was thought dead). */
  private async loadAllPartitions(c: PoolClient, byId: Map<string, TopicState>): Promise<void> {
    const parts = await c.query<{ topic_id: string; partition: number; log_start_offset: string; next_offset: string; leader_epoch: number }>({
      text: `UPDATE rafka_partitions SET leader_epoch = leader_epoch + 1, leader_node_id = $1
             RETURNING topic_id, partition, log_start_offset, next_offset, leader_epoch`,
      values: [this.nodeId],
    });
    const nextOffsets = new Map<PartitionIndex, number>();
    for (const r of parts.rows) {
      const p = byId.get(r.topic_id)?.partitions[r.partition];
      if (!p) continue;
      p.epoch = r.leader_epoch;
      p.index.logStartOffset = p.index.highWatermark = Number(r.log_start_offset);
      nextOffsets.set(p.index, Number(r.next_offset));
    }
    for (let after: [string, number, number] = ['', -1, -1]; ; ) {
      const { rows } = await c.query<IndexRow & { topic_id: string; partition: number }>({
        text: `SELECT topic_id, partition, base_offset, last_offset, max_timestamp, size_bytes FROM rafka_batches
               WHERE (topic_id, partition, base_offset) > ($1, $2, $3) ORDER BY topic_id, partition, base_offset LIMIT ${LOAD_STEP}`,
        values: after,
      });
      for (const r of rows) {
        const index = byId.get(r.topic_id)?.partitions[r.partition]?.index;
        if (index && Number(r.last_offset) >= index.logStartOffset) pushIndexRow(index, r);
      }
      if (rows.length < LOAD_STEP) break;
      const lastRow = rows[rows.length - 1]!;
      after = [lastRow.topic_id, lastRow.partition, Number(lastRow.base_offset)];
    }
    for (const [index, next] of nextOffsets) index.highWatermark = Math.max(index.highWatermark, next);

    const snaps = await c.query<{ topic_id: string; partition: number; snapshot_offset: string }>(
      'SELECT topic_id, partition, snapshot_offset FROM rafka_producer_snapshots ORDER BY topic_id, partition, snapshot_offset',
    );
    for (const r of snaps.rows) {
      const index = byId.get(r.topic_id)?.partitions[r.partition]?.index;
      if (index) index.snapshots.items.push({ offset: Number(r.snapshot_offset), data: null });
    }
    for (const t of this.topics.values()) {
      for (const { index } of t.partitions) index.recountBytesSinceSnapshot();
    }
  }

  /** Committed offsets, groups, transactions and SCRAM credentials: what the coordinators and security keep in memory. */
  private async loadCoordinatorState(c: PoolClient): Promise<void> {
    const offsets = await c.query<OffsetRow>('SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms FROM rafka_committed_offsets');
    for (const r of offsets.rows) this.loadOffsetRow(r);
    for (const r of (await c.query<{ group_id: string; value: Buffer }>('SELECT group_id, value FROM rafka_groups')).rows) this.groups.set(r.group_id, r.value);
    for (const r of (await c.query<{ transactional_id: string; value: Buffer }>('SELECT transactional_id, value FROM rafka_transactions')).rows) {
      this.txnStates.set(r.transactional_id, r.value);
    }
    for (const r of (await c.query<{ user_name: string; value: Buffer }>('SELECT user_name, value FROM rafka_scram_credentials')).rows) this.scram.set(r.user_name, r.value);
    for (const r of (await c.query<{ binding_key: string; value: Buffer }>('SELECT binding_key, value FROM rafka_acls')).rows) this.acls.set(r.binding_key, r.value);
    for (const r of (await c.query<{ group_id: string; value: Buffer }>('SELECT group_id, value FROM rafka_group_configs')).rows) this.groupConfigValues.set(r.group_id, r.value);
    for (const r of (await c.query<{ entity: string; value: Buffer }>('SELECT entity, value FROM rafka_client_quotas')).rows) this.quotaEntities.set(r.entity, r.value);
  }
}

/** A committed offset's row as `pg` returns it (bigint as text). */
/** A committed offset as a row of rafka_committed_offsets or rafka_txn_offsets holds it. */
function toCommitted(r: OffsetRow): CommittedOffset {
  const c: CommittedOffset = { offset: Number(r.committed_offset), leaderEpoch: r.leader_epoch, metadata: r.metadata, commitTimestampMs: Number(r.commit_timestamp_ms) };
  if (r.expire_timestamp_ms !== null) c.expireTimestampMs = Number(r.expire_timestamp_ms);
  return c;
}

interface OffsetRow {
  group_id: string;
  topic: string;
  partition: number;
  committed_offset: string;
  leader_epoch: number;
  metadata: string | null;
  commit_timestamp_ms: string;
  expire_timestamp_ms: string | null;
}

/** A batch's index columns as `pg` returns them (bigint as text). */
interface IndexRow {
  base_offset: string;
  last_offset: string;
  max_timestamp: string;
  size_bytes: number;
}

/** The `recent` cache's key of one stored batch. */
function recentKey(topicId: string, partition: number, baseOffset: number): string {
  return `${topicId}\u0000${partition}\u0000${baseOffset}`;
}

function pushIndexRow(index: PartitionIndex, r: IndexRow): void {
  index.push(Number(r.base_offset), Number(r.last_offset), Number(r.max_timestamp), r.size_bytes);
}

/** Any failure of a PostgreSQL round trip is an I/O fault of this engine (retriable for clients). */
function toStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as Error & { code?: string };
  return new StorageError(`storage: PostgreSQL: ${e.message}${e.code ? ` (${e.code})` : ''}`, { cause: err });
}

function cloneTopic(t: TopicRecord): TopicRecord {
  return { name: t.name, id: t.id, partitionCount: t.partitionCount, configs: { ...t.configs } };
}
