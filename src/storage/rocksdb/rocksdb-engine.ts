/**
 * The `rocksdb` engine: batches, topic metadata, committed offsets and group state in one RocksDB
 * database under `storage.path` (key layout in keys.ts), through `@nxtedition/rocksdb`, a
 * maintained N-API binding whose npm package carries prebuilt binaries (no download at install).
 *
 * - Appends: the base offset comes from the in-memory partition index (../partition-index.ts), and the
 *   batch and its index entry are written in one atomic RocksDB write, all synchronously inside
 *   `append`, so offsets follow call order.
 * - Reads: the index picks the keys (KIP-74 first-batch rule, byte limit); one multi-get fetches them.
 * - Retention and DeleteRecords: the new log start offset is written first, then the batches below
 *   it are removed with one range delete per key kind. A crash in between leaves entries below the
 *   log start, which `open` drops (and deletes again); they are never served.
 * - Durability, `storage.fsync` (one knob for every engine): writes go to RocksDB's own WAL
 *   unsynced (in the OS page cache before the binding's write returns — RocksDB's log writer
 *   flushes its buffer to the file after every write unless `manual_wal_flush`, which the binding
 *   never sets — so they survive the process being killed); then
 *   `always`: an operation resolves after the WAL has been synced. Operations of one turn of the
 *     event loop share that sync (group commit); those arriving while it runs share the next, which
 *     starts when it ends (one sync in flight at a time).
 *   `interval`: a sync every `storage.fsync.interval.ms` while anything is unsynced;
 *   `never`: RocksDB syncs its WAL at close only.
 * - The sync runs off the event loop (issue 22 item 3). The binding's only synced operation is a
 *   write with sync=true, performed inside the call on the loop: the loop stood still for the
 *   fsync, and so did every connection of the broker. It has no async write and no SyncWAL. So the
 *   engine does what SyncWAL does itself: `fdatasync` on RocksDB's live WAL files (`NNNNNN.log` in
 *   the database directory: the binding sets no `wal_dir`, no WAL recycling and no WAL archive)
 *   through the libuv pool, and the directory is synced whenever a WAL file is seen for the first
 *   time (as RocksDB syncs the WAL directory once per new log). On Linux fdatasync works on the
 *   inode, so it covers every byte written to the file before it started, whoever wrote them. A WAL file
 *   RocksDB deletes meanwhile is one whose memtable is in a synced SST file already. Going through
 *   RocksDB's write path instead (a worker thread writing with sync=true on a shared handle) would
 *   not do: RocksDB's write thread makes the loop's next write wait behind that synced write's
 *   group. Should the directory ever show no WAL file (a RocksDB that names them otherwise), the
 *   engine falls back to the synced write on the loop (`syncStats.syncedWrites`): slow, not unsafe.
 * - Producer-state snapshots: one 'S' key per snapshot, written with its replaced ones' deletes in
 *   one atomic write; dropped with the batches below a new log start and with a deleted topic's data.
 * - A failed write leaves the in-memory index ahead of the database, so, as Kafka takes a failed log
 *   directory offline, the engine then refuses every operation until it is restarted.
 *
 * Who calls: the broker's event loop, through the StorageEngine interface.
 */
import { mkdir, open as openFile, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { RocksLevel, type RocksChainedBatch, type RocksRange } from '@nxtedition/rocksdb';
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
  TopicRecord,
} from '../engine.js';
import { applyOffsetCommits, offsetKey } from '../engine.js';
import { snapshotIntervalBytes } from '../producer-snapshots.js';
import { writeInt64 } from '../../protocol/records/batch.js';
import {
  MAX_TOPIC_NUMBER,
  MetaKey,
  Prefix,
  batchKey,
  batchRangeBelow,
  groupIdOf,
  groupKey,
  txnStateKey,
  scramUserKey,
  scramUserOf,
  aclBindingKey,
  aclBindingOf,
  groupConfigKey,
  groupConfigOf,
  clientQuotasKey,
  clientQuotasEntityOf,
  transactionalIdOf,
  indexValue,
  int64Value,
  offsetsKey,
  parseBatchKey,
  parseIndexValue,
  parseOffsetsKey,
  parsePartitionStateKey,
  partitionStateKey,
  pendingDeleteKey,
  prefixRange,
  readInt64Value,
  topicDataRange,
  topicKey,
  topicNameOf,
} from './keys.js';
import { PartitionIndex } from '../partition-index.js';
import { fsyncDir } from '../log/files.js';
import { StorageError } from '../errors.js';

export interface RocksDbEngineOptions {
  /** Database directory (created if missing). */
  path: string;
  /** `storage.fsync`; default `always`. */
  fsync?: FsyncPolicy;
  /** `storage.fsync.interval.ms`; default 1000. */
  fsyncIntervalMs?: number;
  /** Broker-wide topic config defaults (`topic.defaults`): the producer snapshot interval's segment.bytes. */
  topicDefaults?: Readonly<Record<string, string>>;
}

interface TopicState {
  record: TopicRecord;
  /** Number in the data keys (keys.ts); allocated at creation, never reused. */
  num: number;
  partitions: PartitionIndex[];
}

type StoredOffset = CommittedOffset & { topic: string; partition: number };

/** Entries fetched per step while scanning a key range at open. */
const SCAN_STEP = 1000;

/** RocksDB's WAL file names (file/filename.cc LogFileName: `%06llu.log` in the database directory). */
const WAL_FILE = /^\d+\.log$/;

export class RocksDbEngine implements StorageEngine {
  readonly kind: string = 'rocksdb';
  readonly durable: boolean = true;
  /** No compaction yet: compact topics keep every record. */
  readonly capabilities: StorageCapabilities = { compaction: null, segments: null, appendsFailInOrder: false };

  readonly dir: string;
  private readonly policy: FsyncPolicy;
  private readonly fsyncIntervalMs: number;
  private readonly topicDefaults: Readonly<Record<string, string>>;
  private db: RocksLevel | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private failure: Error | null = null;

  private clusterId: string | null = null;
  private nextProducerId = 0;
  private nextTopicNum = 0;
  private readonly topics = new Map<string, TopicState>();
  private readonly groupOffsets = new Map<string, Map<string, StoredOffset>>();
  private readonly groups = new Map<string, Buffer>();
  private readonly txnStates = new Map<string, Buffer>();
  private readonly scramUsers = new Map<string, Buffer>();
  private readonly acls = new Map<string, Buffer>();
  private readonly groupConfigValues = new Map<string, Buffer>();
  private readonly quotaEntities = new Map<string, Buffer>();

  /** Writes not yet covered by a sync. */
  private unsynced = false;
  /** The group-commit sync that the operations of this loop turn (or of the running sync) wait for. */
  private pendingSync: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | null = null;
  /** The sync in flight, if any: the next one starts when it ends. */
  private syncing: Promise<void> | null = null;
  private syncCounter = 0;
  /** Open handles on RocksDB's WAL files by name, for their fdatasync; dropped when RocksDB deletes one. */
  private readonly walFiles = new Map<string, FileHandle>();
  /**
   * RocksDB's super-version number when the WAL files were last listed. RocksDB makes a new WAL file
   * only when it switches memtables, which installs a new super version, so while the number is
   * unchanged the list is current and a sync skips the directory listing (a round trip through the
   * libuv pool on every acknowledgement's path).
   */
  private walListedAt: string | null = null;
  /** Syncs made: WAL files synced off the loop (and how many listed the directory), fallback synced writes on it. */
  readonly syncStats = { walSyncs: 0, walListings: 0, syncedWrites: 0 };
  private timer: NodeJS.Timeout | null = null;

  constructor(options: RocksDbEngineOptions) {
    this.dir = path.resolve(options.path);
    this.policy = options.fsync ?? 'always';
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 1000;
    this.topicDefaults = options.topicDefaults ?? {};
  }

  async open(): Promise<BrokerMetadata> {
    if (!this.db) {
      await mkdir(this.dir, { recursive: true });
      const db = new RocksLevel(this.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      try {
        await db.open({ createIfMissing: true, compression: false, walCompression: false });
      } catch (err) {
        throw new Error(`storage: cannot open the RocksDB database in ${this.dir}: ${(err as Error).message}`, { cause: err });
      }
      this.db = db;
      await this.load(db);
      if (this.policy === 'interval') {
        this.timer = setInterval(() => {
          if (this.unsynced && !this.pendingSync) void this.sync().catch(() => {});
        }, this.fsyncIntervalMs);
        this.timer.unref();
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
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pendingSync?.promise.catch(() => {});
    await this.syncing;
    await Promise.all([...this.walFiles.values()].map((h) => h.close().catch(() => {})));
    this.walFiles.clear();
    // RocksDB's close flushes and fsyncs its WAL (FlushWAL(true)) whatever the policy.
    this.closing = this.db?.close() ?? Promise.resolve();
    await this.closing;
  }

  // ---- broker metadata and topics ------------------------------------------------------------------

  async setClusterId(clusterId: string): Promise<void> {
    const done = this.write((b) => b.put(MetaKey.clusterId, Buffer.from(clusterId, 'utf8')));
    this.clusterId = clusterId;
    await done;
  }

  async setNextProducerId(next: number): Promise<void> {
    const done = this.write((b) => b.put(MetaKey.nextProducerId, int64Value(next)));
    this.nextProducerId = next;
    await done;
  }

  async createTopic(topic: TopicRecord): Promise<void> {
    const num = this.nextTopicNum;
    if (num > MAX_TOPIC_NUMBER) throw new Error('storage: topic numbers exhausted');
    const done = this.write((b) => b.put(topicKey(topic.name), topicValue(topic, num)).put(MetaKey.nextTopicNum, int64Value(num + 1)));
    this.nextTopicNum = num + 1;
    this.topics.set(topic.name, { record: cloneTopic(topic), num, partitions: Array.from({ length: topic.partitionCount }, () => new PartitionIndex()) });
    await done;
  }

  async updateTopic(topic: TopicRecord): Promise<void> {
    const t = this.topics.get(topic.name);
    if (!t) throw new Error(`updateTopic: no topic ${topic.name}`);
    const done = this.write((b) => b.put(topicKey(topic.name), topicValue(topic, t.num)));
    while (t.partitions.length < topic.partitionCount) t.partitions.push(new PartitionIndex());
    t.record = cloneTopic(topic);
    await done;
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.topics.get(name);
    const commits: Array<[string, StoredOffset]> = [];
    for (const [groupId, offsets] of this.groupOffsets) {
      for (const o of offsets.values()) if (o.topic === name) commits.push([groupId, o]);
    }
    // One atomic write removes the topic and its commits and records that its data is to be removed;
    // the data goes with range deletes after it (and again at open if the process stops in between).
    const done = this.write((b) => {
      for (const [groupId, o] of commits) b.del(offsetsKey(groupId, o.topic, o.partition));
      if (!t) return;
      b.del(topicKey(name)).put(pendingDeleteKey(t.num), Buffer.alloc(0));
      for (let p = 0; p < t.partitions.length; p++) b.del(partitionStateKey(t.num, p));
    });
    this.topics.delete(name);
    for (const [groupId, o] of commits) this.groupOffsets.get(groupId)!.delete(offsetKey(o.topic, o.partition));
    if (t) this.removeTopicData(t.num);
    await done;
  }

  // ---- partitions ----------------------------------------------------------------------------------

  async append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    const { t, index } = this.partition(topic, partition);
    const baseOffset = index.highWatermark;
    // Our own copy with the base offset written in: the request's buffer may be shared.
    const bytes = Buffer.from(batch.bytes);
    writeInt64(bytes, 0, baseOffset);
    const lastOffset = baseOffset + batch.recordCount - 1;
    const done = this.write((b) =>
      b.put(batchKey(Prefix.data, t.num, partition, baseOffset), bytes)
        .put(batchKey(Prefix.index, t.num, partition, baseOffset), indexValue(lastOffset, batch.maxTimestamp, bytes.length)),
    );
    index.push(baseOffset, lastOffset, batch.maxTimestamp, bytes.length);
    await done;
    return { baseOffset };
  }

  async read(topic: string, partition: number, offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    const { t, index } = this.partition(topic, partition);
    const keys: Buffer[] = [];
    const { from, to } = index.pick(offset, maxBytes, minOneBatch);
    for (let i = from; i < to; i++) keys.push(batchKey(Prefix.data, t.num, partition, index.baseOffsets[i]!));
    if (keys.length === 0) return { batches: [], bytes: 0 };
    const values = await this.usable().getMany(keys);
    this.usable();
    // A batch missing now was removed by retention or DeleteRecords while this read waited: it lies
    // below the new log start, so the read continues with what remains.
    const batches = values.filter((v): v is Buffer => v !== undefined);
    return { batches, bytes: batches.reduce((n, b) => n + b.length, 0) };
  }

  offsets(topic: string, partition: number): PartitionOffsets {
    const { index } = this.partition(topic, partition);
    return { logStartOffset: index.logStartOffset, highWatermark: index.highWatermark };
  }

  async findBatchByTimestamp(topic: string, partition: number, timestamp: number): Promise<Buffer | null> {
    const { t, index } = this.partition(topic, partition);
    const i = index.maxTimestamps.findIndex((ts) => ts >= timestamp);
    return i < 0 ? null : this.getBatch(t.num, partition, index.baseOffsets[i]!);
  }

  async findMaxTimestampBatch(topic: string, partition: number): Promise<Buffer | null> {
    const { t, index } = this.partition(topic, partition);
    const best = index.maxTimestampPosition();
    return best < 0 ? null : this.getBatch(t.num, partition, index.baseOffsets[best]!);
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    const { t, index } = this.partition(topic, partition);
    return this.moveLogStart(t, partition, index, index.clampStart(offset));
  }

  async applyRetention(topic: string, partition: number, policy: RetentionPolicy): Promise<number> {
    const { t, index } = this.partition(topic, partition);
    return this.moveLogStart(t, partition, index, index.retentionTarget(policy));
  }

  sizeBytes(topic: string, partition: number): number {
    return this.partition(topic, partition).index.bytes;
  }

  // ---- producer-state snapshots ----------------------------------------------------------------------

  async writeProducerSnapshot(topic: string, partition: number, offset: number, data: Buffer): Promise<void> {
    const { t, index } = this.partition(topic, partition);
    const bytes = Buffer.from(data);
    const replaced = index.snapshots.add(offset, null);
    await this.write((b) => {
      b.put(batchKey(Prefix.producerSnapshot, t.num, partition, offset), bytes);
      for (const s of replaced) b.del(batchKey(Prefix.producerSnapshot, t.num, partition, s.offset));
    });
  }

  producerSnapshotOffsets(topic: string, partition: number): number[] {
    return this.partition(topic, partition).index.snapshots.offsets();
  }

  async readProducerSnapshot(topic: string, partition: number, offset: number): Promise<Buffer | null> {
    const { t, index } = this.partition(topic, partition);
    if (!index.snapshots.find(offset)) return null;
    const [v] = await this.usable().getMany([batchKey(Prefix.producerSnapshot, t.num, partition, offset)]);
    return v ?? null;
  }

  producerSnapshotDue(topic: string, partition: number): boolean {
    const { t, index } = this.partition(topic, partition);
    return index.snapshots.dueAfterBytes(snapshotIntervalBytes(t.record.configs, this.topicDefaults));
  }

  // ---- committed offsets and groups ----------------------------------------------------------------

  async commitOffsets(groupId: string, entries: GroupOffsetEntry[]): Promise<void> {
    const done = this.write((b) => {
      for (const e of entries) {
        const key = offsetsKey(groupId, e.topic, e.partition);
        if (e.committed === null) b.del(key);
        else b.put(key, Buffer.from(JSON.stringify(e.committed), 'utf8'));
      }
    });
    applyOffsetCommits(this.groupOffsets, groupId, entries);
    await done;
  }

  fetchOffsets(groupId: string): ReadonlyMap<string, StoredOffset> {
    return this.groupOffsets.get(groupId) ?? new Map();
  }

  listOffsetGroups(): string[] {
    return [...this.groupOffsets.keys()];
  }

  async deleteGroupOffsets(groupId: string): Promise<void> {
    const offsets = [...(this.groupOffsets.get(groupId)?.values() ?? [])];
    const done = this.write((b) => {
      for (const o of offsets) b.del(offsetsKey(groupId, o.topic, o.partition));
    });
    this.groupOffsets.delete(groupId);
    await done;
  }

  async putGroupMetadata(groupId: string, value: Buffer | null): Promise<void> {
    await this.putOpaque(this.groups, groupId, groupKey(groupId), value);
  }

  groupMetadata(): ReadonlyMap<string, Buffer> {
    return this.groups;
  }

  async putTransactionState(transactionalId: string, value: Buffer | null): Promise<void> {
    await this.putOpaque(this.txnStates, transactionalId, txnStateKey(transactionalId), value);
  }

  transactionStates(): ReadonlyMap<string, Buffer> {
    return this.txnStates;
  }

  async putScramCredentials(user: string, value: Buffer | null): Promise<void> {
    await this.putOpaque(this.scramUsers, user, scramUserKey(user), value);
  }

  scramCredentials(): ReadonlyMap<string, Buffer> {
    return this.scramUsers;
  }

  async putAclBinding(key: string, value: Buffer | null): Promise<void> {
    await this.putOpaque(this.acls, key, aclBindingKey(key), value);
  }

  aclBindings(): ReadonlyMap<string, Buffer> {
    return this.acls;
  }

  async putGroupConfig(groupId: string, value: Buffer | null): Promise<void> {
    await this.putOpaque(this.groupConfigValues, groupId, groupConfigKey(groupId), value);
  }

  groupConfigs(): ReadonlyMap<string, Buffer> {
    return this.groupConfigValues;
  }

  async putClientQuotas(entity: string, value: Buffer | null): Promise<void> {
    await this.putOpaque(this.quotaEntities, entity, clientQuotasKey(entity), value);
  }

  clientQuotas(): ReadonlyMap<string, Buffer> {
    return this.quotaEntities;
  }

  /**
   * Store (or with null delete) an opaque value the broker encodes — group metadata, transaction
   * state, SCRAM credentials — under `key`, and keep the engine's own copy in `cache` by `id`.
   */
  private async putOpaque(cache: Map<string, Buffer>, id: string, key: Buffer, value: Buffer | null): Promise<void> {
    const copy = value === null ? null : Buffer.from(value);
    const done = this.write((b) => (copy === null ? b.del(key) : b.put(key, copy)));
    if (copy === null) cache.delete(id);
    else cache.set(id, copy);
    await done;
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** The open database, or a throw once closed or failed. */
  private usable(): RocksLevel {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StorageError('storage: the engine is closed');
    if (!this.db) throw new StorageError('storage: the engine is not open');
    return this.db;
  }

  private partition(topic: string, partition: number): { t: TopicState; index: PartitionIndex } {
    const t = this.topics.get(topic);
    const index = t?.partitions[partition];
    if (!t || !index) throw new Error(`no partition ${topic}-${partition}`);
    return { t, index };
  }

  private async getBatch(topicNum: number, partition: number, baseOffset: number): Promise<Buffer | null> {
    const [v] = await this.usable().getMany([batchKey(Prefix.data, topicNum, partition, baseOffset)]);
    return v ?? null;
  }

  /**
   * One atomic write, performed now (synchronously: the caller updates its in-memory state right
   * after, in the same step). Resolves once it is as durable as `storage.fsync` asks.
   */
  private write(fill: (b: RocksChainedBatch) => void): Promise<void> {
    const db = this.usable();
    const batch = db.batch();
    fill(batch);
    if (batch.length === 0) {
      void batch.close();
      return Promise.resolve();
    }
    this.unsynced = true;
    const written = batch.write().catch((err: Error) => {
      throw this.fail(err);
    });
    return this.policy === 'always' ? written.then(() => this.sync()) : written;
  }

  /** Group commit: every caller in this loop turn (or during the running sync) waits for the same sync. */
  private sync(): Promise<void> {
    if (!this.pendingSync) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {});
      this.pendingSync = { promise, resolve, reject };
      // With a sync in flight, this group's starts when that one ends (runSync below).
      if (!this.syncing) setImmediate(() => this.runSync());
    }
    return this.pendingSync.promise;
  }

  private runSync(): void {
    const pending = this.pendingSync;
    if (!pending || this.syncing) return;
    this.pendingSync = null;
    if (this.failure) return pending.reject(this.failure);
    if (!this.db) return pending.resolve();
    // Closing: RocksDB's close syncs the WAL, so the writes of this group are durable once it is done.
    if (this.closing) return void this.closing.then(pending.resolve, (err: Error) => pending.reject(this.fail(err)));
    // Every write of the group is in the WAL file already (written synchronously), so a sync that
    // starts now covers them all.
    this.unsynced = false;
    const done = this.syncWal().then(pending.resolve, (err: Error) => pending.reject(this.fail(err)));
    this.syncing = done.finally(() => {
      this.syncing = null;
      this.runSync();
    });
  }

  /** fdatasync every live WAL file on the libuv pool; the directory too when a WAL file is new. */
  private async syncWal(): Promise<void> {
    // Read before the listing: a switch after this read shows at the next sync, and the writes that
    // went to its new file after this sync started wait for that one.
    const version = this.db!.getProperty('rocksdb.current-super-version-number');
    if (version !== '' && version === this.walListedAt && this.walFiles.size > 0) {
      this.syncStats.walSyncs++;
      await Promise.all([...this.walFiles.values()].map((h) => h.datasync()));
      return;
    }
    const names = (await readdir(this.dir)).filter((n) => WAL_FILE.test(n));
    if (names.length === 0) return this.syncedWrite();
    this.syncStats.walListings++;
    let fresh = false;
    await Promise.all(
      names.map(async (name) => {
        let handle = this.walFiles.get(name);
        if (!handle) {
          try {
            handle = await openFile(path.join(this.dir, name), 'r');
          } catch (err) {
            // Deleted since the listing: its memtable was flushed to a synced SST file.
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
            throw err;
          }
          this.walFiles.set(name, handle);
          fresh = true;
        }
        await handle.datasync();
      }),
    );
    this.syncStats.walSyncs++;
    for (const [name, handle] of this.walFiles) {
      if (names.includes(name)) continue;
      this.walFiles.delete(name);
      await handle.close();
    }
    if (fresh) await fsyncDir(this.dir);
    this.walListedAt = version;
  }

  /** The fallback: a write with sync=true fsyncs RocksDB's WAL, which holds every earlier write too; on the loop. */
  private syncedWrite(): Promise<void> {
    this.syncStats.syncedWrites++;
    // this.db, not usable(): a sync still runs for the last group while close() waits for it.
    return this.db!.batch().put(MetaKey.sync, int64Value(++this.syncCounter)).write({ sync: true });
  }

  private fail(err: Error): Error {
    this.failure ??= new StorageError(`storage: RocksDB write failed: ${err.message}`, { cause: err });
    return this.failure;
  }

  /** Write the new log start (durably, per policy), then range-delete the batches below it. */
  private async moveLogStart(t: TopicState, partition: number, index: PartitionIndex, target: number): Promise<number> {
    if (target === index.logStartOffset) return target;
    const gone = index.snapshots.dropBelow(target);
    const done = this.write((b) => {
      b.put(partitionStateKey(t.num, partition), int64Value(target));
      for (const s of gone) b.del(batchKey(Prefix.producerSnapshot, t.num, partition, s.offset));
    });
    const { dropped, keepFrom } = index.truncateBefore(target);
    if (dropped > 0) {
      this.rangeDelete(batchRangeBelow(Prefix.data, t.num, partition, keepFrom));
      this.rangeDelete(batchRangeBelow(Prefix.index, t.num, partition, keepFrom));
    }
    await done;
    return target;
  }

  /** Remove a deleted topic's data, then its pending-delete marker. */
  private removeTopicData(num: number): void {
    this.rangeDelete(topicDataRange(Prefix.data, num));
    this.rangeDelete(topicDataRange(Prefix.index, num));
    this.rangeDelete(topicDataRange(Prefix.producerSnapshot, num));
    void this.write((b) => b.del(pendingDeleteKey(num))).catch(() => {});
  }

  /**
   * One RocksDB DeleteRange. Unsynced on purpose: what it removes is already unreachable (below a
   * log start, or of a deleted topic, both written first), and `open` repeats it if it is lost.
   */
  private rangeDelete(range: RocksRange): void {
    this.usable()
      .clear(range)
      .catch((err: Error) => this.fail(err));
  }

  // ---- open ----------------------------------------------------------------------------------------

  private async *scan(db: RocksLevel, prefix: number): AsyncGenerator<[Buffer, Buffer]> {
    const it = db.iterator({ ...prefixRange(prefix), keys: true, values: true });
    try {
      for (;;) {
        const entries = await it.nextv(SCAN_STEP);
        if (entries.length === 0) return;
        yield* entries;
      }
    } finally {
      await it.close();
    }
  }

  /** Rebuild the in-memory state from the database, finishing removals a crash interrupted. */
  private async load(db: RocksLevel): Promise<void> {
    const [clusterId, nextProducerId, nextTopicNum] = await db.getMany([MetaKey.clusterId, MetaKey.nextProducerId, MetaKey.nextTopicNum]);
    this.clusterId = clusterId ? clusterId.toString('utf8') : null;
    this.nextProducerId = nextProducerId ? readInt64Value(nextProducerId) : 0;
    this.nextTopicNum = nextTopicNum ? readInt64Value(nextTopicNum) : 0;

    for await (const [key] of this.scan(db, Prefix.pendingDelete)) this.removeTopicData(key.readUInt32BE(1));

    const byNum = new Map<number, TopicState>();
    for await (const [key, value] of this.scan(db, Prefix.topic)) {
      const { num, ...record } = JSON.parse(value.toString('utf8')) as TopicRecord & { num: number };
      const t: TopicState = { record: { ...record, name: topicNameOf(key) }, num, partitions: [] };
      t.partitions = Array.from({ length: record.partitionCount }, () => new PartitionIndex());
      this.topics.set(t.record.name, t);
      byNum.set(num, t);
    }
    for await (const [key, value] of this.scan(db, Prefix.partition)) {
      const { topicNum, partition } = parsePartitionStateKey(key);
      const index = byNum.get(topicNum)?.partitions[partition];
      if (index) index.logStartOffset = index.highWatermark = readInt64Value(value);
    }
    // Index entries below a partition's log start are leftovers of a range delete a crash cut off.
    const stale = new Map<string, { num: number; partition: number; end: number }>();
    for await (const [key, value] of this.scan(db, Prefix.index)) {
      const { topicNum, partition, baseOffset } = parseBatchKey(key);
      const index = byNum.get(topicNum)?.partitions[partition];
      if (!index) continue; // a deleted topic whose removal is pending above
      const { lastOffset, maxTimestamp, size } = parseIndexValue(value);
      if (lastOffset < index.logStartOffset) {
        stale.set(`${topicNum}/${partition}`, { num: topicNum, partition, end: baseOffset + 1 });
        continue;
      }
      index.push(baseOffset, lastOffset, maxTimestamp, size);
    }
    for (const s of stale.values()) {
      this.rangeDelete(batchRangeBelow(Prefix.data, s.num, s.partition, s.end));
      this.rangeDelete(batchRangeBelow(Prefix.index, s.num, s.partition, s.end));
    }
    for (const t of this.topics.values()) {
      for (const index of t.partitions) index.highWatermark = Math.max(index.highWatermark, index.logStartOffset);
    }
    // Producer snapshots, ascending per partition; those below the log start are leftovers as above.
    const staleSnapshots: Buffer[] = [];
    for await (const [key] of this.scan(db, Prefix.producerSnapshot)) {
      const { topicNum, partition, baseOffset: offset } = parseBatchKey(key);
      const index = byNum.get(topicNum)?.partitions[partition];
      if (!index) continue;
      if (offset < index.logStartOffset) staleSnapshots.push(key);
      else index.snapshots.items.push({ offset, data: null });
    }
    if (staleSnapshots.length > 0) void this.write((b) => staleSnapshots.forEach((k) => b.del(k))).catch(() => {});
    for (const t of this.topics.values()) {
      for (const index of t.partitions) index.recountBytesSinceSnapshot();
    }

    for await (const [key, value] of this.scan(db, Prefix.offsets)) {
      const { groupId, topic, partition } = parseOffsetsKey(key);
      const committed = JSON.parse(value.toString('utf8')) as CommittedOffset;
      let offsets = this.groupOffsets.get(groupId);
      if (!offsets) this.groupOffsets.set(groupId, (offsets = new Map()));
      offsets.set(offsetKey(topic, partition), { ...committed, topic, partition });
    }
    for await (const [key, value] of this.scan(db, Prefix.group)) this.groups.set(groupIdOf(key), value);
    for await (const [key, value] of this.scan(db, Prefix.txnState)) this.txnStates.set(transactionalIdOf(key), value);
    for await (const [key, value] of this.scan(db, Prefix.scramUser)) this.scramUsers.set(scramUserOf(key), value);
    for await (const [key, value] of this.scan(db, Prefix.aclBinding)) this.acls.set(aclBindingOf(key), value);
    for await (const [key, value] of this.scan(db, Prefix.groupConfig)) this.groupConfigValues.set(groupConfigOf(key), value);
    for await (const [key, value] of this.scan(db, Prefix.clientQuotas)) this.quotaEntities.set(clientQuotasEntityOf(key), value);
  }
}

function cloneTopic(t: TopicRecord): TopicRecord {
  return { name: t.name, id: t.id, partitionCount: t.partitionCount, configs: { ...t.configs } };
}

function topicValue(topic: TopicRecord, num: number): Buffer {
  return Buffer.from(JSON.stringify({ id: topic.id, partitionCount: topic.partitionCount, configs: topic.configs, num }), 'utf8');
}
