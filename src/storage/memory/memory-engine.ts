/**
 * The in-memory reference engine: every partition is an array of batches with their offsets. It is
 * the default for embedded test brokers (start-up in milliseconds, nothing on disk) and the model
 * the durable engines are checked against by the shared conformance suite.
 */
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
import { applyOffsetCommits } from '../engine.js';
import { invariant } from '../../base/assert.js';
import { PartitionSnapshots, snapshotIntervalBytes } from '../producer-snapshots.js';

/**
 * The bytes of an appended batch as this engine keeps them. A batch that is at least a quarter of the
 * memory it is a view of (a request frame of its own, or a good part of one socket read, whose other
 * parts are mostly the batches of the same or neighbouring requests) is kept as it is: copying it
 * would cost an allocation and a copy per batch (with Buffer.from also zero-filling) — about a sixth
 * of the broker's CPU on a stream of 16 KiB produce requests. A smaller batch is copied out, so that
 * stored bytes never hold more than four times their size in memory. The request's bytes are not
 * used after the append either way.
 */
function keep(src: Buffer): Buffer {
  if (src.length * 4 >= src.buffer.byteLength) return src;
  const copy = Buffer.allocUnsafe(src.length);
  src.copy(copy);
  return copy;
}

/**
 * One partition's log in memory. Batches are kept in parallel arrays for cheap binary search.
 * Exported for engines that build on this one (the write-ahead-logged `memory` engine restores a
 * partition from a snapshot through it); the broker only sees MemoryEngine.
 */
export class MemoryPartitionLog {
  readonly batches: Buffer[] = [];
  readonly baseOffsets: number[] = [];
  readonly lastOffsets: number[] = [];
  readonly maxTimestamps: number[] = [];
  logStartOffset = 0;
  highWatermark = 0;
  /** Producer-state snapshots, kept in memory (the WAL engine logs them too). */
  readonly snapshots = new PartitionSnapshots();

  append(batch: AppendBatch): number {
    const base = this.highWatermark;
    invariant(batch.recordCount >= 1 && batch.bytes.length > 0, 'an appended batch takes at least one offset', batch.recordCount);
    const bytes = keep(batch.bytes);
    bytes.writeBigInt64BE(BigInt(base), 0);
    this.batches.push(bytes);
    this.baseOffsets.push(base);
    this.lastOffsets.push(base + batch.recordCount - 1);
    this.maxTimestamps.push(batch.maxTimestamp);
    this.bytes += bytes.length;
    this.snapshots.bytesSince += bytes.length;
    this.highWatermark = base + batch.recordCount;
    return base;
  }

  /** Index of the first batch whose last offset is ≥ offset (batches.length if none). */
  indexOf(offset: number): number {
    let lo = 0;
    let hi = this.lastOffsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastOffsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  bytes = 0;

  /** Drop whole batches that end below `offset`; the log start moves to `offset` itself. */
  truncateBefore(offset: number): number {
    const target = Math.min(Math.max(offset, this.logStartOffset), this.highWatermark);
    let drop = 0;
    while (drop < this.batches.length && this.lastOffsets[drop]! < target) {
      this.bytes -= this.batches[drop]!.length;
      drop++;
    }
    if (drop > 0) {
      this.batches.splice(0, drop);
      this.baseOffsets.splice(0, drop);
      this.lastOffsets.splice(0, drop);
      this.maxTimestamps.splice(0, drop);
    }
    this.logStartOffset = target;
    this.snapshots.dropBelow(target);
    return target;
  }

  /** Kafka's retention on whole units, never the newest one (here a unit is a batch). */
  applyRetention(policy: RetentionPolicy): number {
    let drop = 0;
    const last = this.batches.length - 1;
    let size = this.bytes;
    while (drop < last) {
      const tooOld = policy.retentionMs >= 0 && this.maxTimestamps[drop]! < policy.nowMs - policy.retentionMs;
      const tooBig = policy.retentionBytes >= 0 && size - this.batches[drop]!.length >= policy.retentionBytes;
      if (!tooOld && !tooBig) break;
      size -= this.batches[drop]!.length;
      drop++;
    }
    if (drop === 0) return this.logStartOffset;
    return this.truncateBefore(this.lastOffsets[drop - 1]! + 1);
  }

  read(offset: number, maxBytes: number, minOneBatch: boolean): ReadResult {
    const batches: Buffer[] = [];
    let bytes = 0;
    for (let i = this.indexOf(Math.max(offset, this.logStartOffset)); i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (bytes + b.length > maxBytes && !(minOneBatch && batches.length === 0)) break;
      batches.push(b);
      bytes += b.length;
    }
    return { batches, bytes };
  }
}

export interface MemoryEngineOptions {
  /** Broker-wide topic config defaults (`topic.defaults`): the producer snapshot interval's segment.bytes. */
  topicDefaults?: Readonly<Record<string, string>>;
}

export class MemoryEngine implements StorageEngine {
  readonly kind: string = 'memory';
  readonly durable: boolean = false;
  /** No compaction: compact topics keep every record (as the WAL engine built on this one). */
  readonly capabilities: StorageCapabilities = { compaction: null, segments: null, appendsFailInOrder: false };

  constructor(private readonly options: MemoryEngineOptions = {}) {}

  // Protected, not private: src/storage/memory-wal/ extends this engine with a write-ahead log and
  // snapshots, and reads the state it snapshots and restores from these fields.
  protected clusterId: string | null = null;
  protected nextProducerId = 0;
  protected readonly topics = new Map<string, TopicRecord>();
  protected readonly logs = new Map<string, MemoryPartitionLog[]>();
  protected readonly groups = new Map<string, Buffer>();
  protected readonly txnStates = new Map<string, Buffer>();
  protected readonly scramUsers = new Map<string, Buffer>();
  protected readonly acls = new Map<string, Buffer>();
  protected readonly groupConfigValues = new Map<string, Buffer>();
  protected readonly quotaEntities = new Map<string, Buffer>();
  protected readonly groupOffsets = new Map<string, Map<string, CommittedOffset & { topic: string; partition: number }>>();

  async open(): Promise<BrokerMetadata> {
    return { clusterId: this.clusterId, nextProducerId: this.nextProducerId, topics: [...this.topics.values()].map(cloneTopic) };
  }

  async close(): Promise<void> {}

  async setClusterId(clusterId: string): Promise<void> {
    this.clusterId = clusterId;
  }

  async setNextProducerId(next: number): Promise<void> {
    this.nextProducerId = next;
  }

  async createTopic(topic: TopicRecord): Promise<void> {
    this.topics.set(topic.name, cloneTopic(topic));
    this.logs.set(topic.name, Array.from({ length: topic.partitionCount }, () => new MemoryPartitionLog()));
  }

  async updateTopic(topic: TopicRecord): Promise<void> {
    const logs = this.logs.get(topic.name);
    if (!logs) throw new Error(`updateTopic: no topic ${topic.name}`);
    while (logs.length < topic.partitionCount) logs.push(new MemoryPartitionLog());
    this.topics.set(topic.name, cloneTopic(topic));
  }

  async deleteTopic(name: string): Promise<void> {
    this.topics.delete(name);
    this.logs.delete(name);
    for (const offsets of this.groupOffsets.values()) {
      for (const [key, value] of offsets) if (value.topic === name) offsets.delete(key);
    }
  }

  protected log(topic: string, partition: number): MemoryPartitionLog {
    const log = this.logs.get(topic)?.[partition];
    if (!log) throw new Error(`no partition ${topic}-${partition}`);
    return log;
  }

  async append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    return { baseOffset: this.log(topic, partition).append(batch) };
  }

  async read(topic: string, partition: number, offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    return this.log(topic, partition).read(offset, maxBytes, minOneBatch);
  }

  offsets(topic: string, partition: number): PartitionOffsets {
    const log = this.log(topic, partition);
    return { logStartOffset: log.logStartOffset, highWatermark: log.highWatermark };
  }

  async findBatchByTimestamp(topic: string, partition: number, timestamp: number): Promise<Buffer | null> {
    const log = this.log(topic, partition);
    const i = log.maxTimestamps.findIndex((t) => t >= timestamp);
    return i < 0 ? null : log.batches[i]!;
  }

  async findMaxTimestampBatch(topic: string, partition: number): Promise<Buffer | null> {
    const log = this.log(topic, partition);
    let best = -1;
    for (let i = 0; i < log.maxTimestamps.length; i++) {
      if (best < 0 || log.maxTimestamps[i]! > log.maxTimestamps[best]!) best = i;
    }
    return best < 0 ? null : log.batches[best]!;
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.log(topic, partition).truncateBefore(offset);
  }

  async applyRetention(topic: string, partition: number, policy: RetentionPolicy): Promise<number> {
    return this.log(topic, partition).applyRetention(policy);
  }

  sizeBytes(topic: string, partition: number): number {
    return this.log(topic, partition).bytes;
  }

  async writeProducerSnapshot(topic: string, partition: number, offset: number, data: Buffer): Promise<void> {
    this.log(topic, partition).snapshots.add(offset, Buffer.from(data));
  }

  producerSnapshotOffsets(topic: string, partition: number): number[] {
    return this.log(topic, partition).snapshots.offsets();
  }

  async readProducerSnapshot(topic: string, partition: number, offset: number): Promise<Buffer | null> {
    return this.log(topic, partition).snapshots.find(offset)?.data ?? null;
  }

  producerSnapshotDue(topic: string, partition: number): boolean {
    const log = this.log(topic, partition);
    return log.snapshots.dueAfterBytes(snapshotIntervalBytes(this.topics.get(topic)!.configs, this.options.topicDefaults));
  }

  async putGroupMetadata(groupId: string, value: Buffer | null): Promise<void> {
    if (value === null) this.groups.delete(groupId);
    else this.groups.set(groupId, Buffer.from(value));
  }

  groupMetadata(): ReadonlyMap<string, Buffer> {
    return this.groups;
  }

  async putTransactionState(transactionalId: string, value: Buffer | null): Promise<void> {
    if (value === null) this.txnStates.delete(transactionalId);
    else this.txnStates.set(transactionalId, Buffer.from(value));
  }

  transactionStates(): ReadonlyMap<string, Buffer> {
    return this.txnStates;
  }

  async putScramCredentials(user: string, value: Buffer | null): Promise<void> {
    if (value === null) this.scramUsers.delete(user);
    else this.scramUsers.set(user, Buffer.from(value));
  }

  scramCredentials(): ReadonlyMap<string, Buffer> {
    return this.scramUsers;
  }

  async putAclBinding(key: string, value: Buffer | null): Promise<void> {
    if (value === null) this.acls.delete(key);
    else this.acls.set(key, Buffer.from(value));
  }

  aclBindings(): ReadonlyMap<string, Buffer> {
    return this.acls;
  }

  async putGroupConfig(groupId: string, value: Buffer | null): Promise<void> {
    if (value === null) this.groupConfigValues.delete(groupId);
    else this.groupConfigValues.set(groupId, Buffer.from(value));
  }

  groupConfigs(): ReadonlyMap<string, Buffer> {
    return this.groupConfigValues;
  }

  async putClientQuotas(entity: string, value: Buffer | null): Promise<void> {
    if (value === null) this.quotaEntities.delete(entity);
    else this.quotaEntities.set(entity, Buffer.from(value));
  }

  clientQuotas(): ReadonlyMap<string, Buffer> {
    return this.quotaEntities;
  }

  async commitOffsets(groupId: string, entries: GroupOffsetEntry[]): Promise<void> {
    applyOffsetCommits(this.groupOffsets, groupId, entries);
  }

  fetchOffsets(groupId: string): ReadonlyMap<string, CommittedOffset & { topic: string; partition: number }> {
    return this.groupOffsets.get(groupId) ?? new Map();
  }

  listOffsetGroups(): string[] {
    return [...this.groupOffsets.keys()];
  }

  async deleteGroupOffsets(groupId: string): Promise<void> {
    this.groupOffsets.delete(groupId);
  }
}

function cloneTopic(t: TopicRecord): TopicRecord {
  return { name: t.name, id: t.id, partitionCount: t.partitionCount, configs: { ...t.configs } };
}
