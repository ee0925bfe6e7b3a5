/**
 * The `memory` engine with a data directory (`storage.path`): all data lives in memory exactly as in
 * MemoryEngine (which it extends), and every mutation is also written to a write-ahead log before
 * the operation resolves, so the state survives a restart.
 *
 * - Every mutation (append, topic create/update/delete, DeleteRecords and retention, offset commits,
 *   group metadata, cluster id, producer-id counter, producer-state snapshots) is applied in memory and its WAL entry
 *   enqueued in the same synchronous step, so the WAL order is the order of the memory state (and
 *   offsets are assigned before the first await, as engine.ts requires).
 * - The writer (wal-writer.ts) makes entries durable per `storage.fsync`, with group commit.
 * - When the WAL has grown past `storage.wal.snapshot.bytes` and past the size of the last snapshot
 *   (so snapshot cost stays proportional to the data written: a 10 GiB state is not rewritten every
 *   64 MiB), the state is captured synchronously, the WAL rotates to a new file, and the snapshot is
 *   written in the background (snapshot.ts). Once it is durable, older files are removed.
 * - Recovery (`open`): the newest snapshot, then every WAL file from its number upwards. Replay stops
 *   at the first torn or corrupt frame; the file is cut there and later files are removed, so
 *   nothing after a damaged entry is ever served and offsets continue from the last whole entry.
 *
 * An I/O error while logging leaves memory ahead of the disk; the engine then refuses every further
 * read and write (the broker answers KAFKA_STORAGE_ERROR) until it is restarted from the files, as
 * Kafka takes a failed log directory offline.
 *
 * Who calls: the broker's event loop, through the StorageEngine interface.
 */
import { mkdir, readdir, stat, unlink, open } from 'node:fs/promises';
import path from 'node:path';
import type { FsyncPolicy } from '../../config/types.js';
import type {
  StorageObserver,
  AppendBatch,
  AppendResult,
  BrokerMetadata,
  GroupOffsetEntry,
  ReadResult,
  RetentionPolicy,
  TopicRecord,
} from '../engine.js';
import { copyCommitted } from '../engine.js';
import { MemoryEngine } from '../memory/memory-engine.js';
import { FORMAT_VERSION, WalFormatError, WalReader, decodePayload, encodeFrame, type WalEntry } from './wal-format.js';
import { WalWriter } from './wal-writer.js';
import type { DirLock } from '../dir-lock.js';
import { acquireDirLock, fsyncDir, parseDataFileName, releaseDirLock, walFileName, type DataFile } from './files.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { StorageError } from '../errors.js';

/** Default of `storage.wal.snapshot.bytes`. */
export const DEFAULT_WAL_SNAPSHOT_BYTES = 64 * 1024 * 1024;

export interface WalEngineOptions {
  /** Data directory (created if missing). */
  path: string;
  /** `storage.fsync`; default `always`. */
  fsync?: FsyncPolicy;
  /** `storage.fsync.interval.ms`; default 1000. */
  fsyncIntervalMs?: number;
  /** `storage.wal.snapshot.bytes`: the WAL size that triggers a snapshot (at least); default 64 MiB. */
  snapshotBytes?: number;
  /** Where recovery reports a dropped tail or a failed snapshot; default: nowhere. */
  warn?: (message: string) => void;
  /** Broker-wide topic config defaults (`topic.defaults`): the producer snapshot interval's segment.bytes. */
  topicDefaults?: Readonly<Record<string, string>>;
  /** Times every fsync of the write-ahead log (the broker's metrics). */
  observer?: StorageObserver | null;
}

/** What the last `open()` found and did. */
export interface WalRecovery {
  /** The snapshot loaded, or null when there was none. */
  snapshotSeq: number | null;
  walFilesReplayed: number;
  entriesReplayed: number;
  /** Bytes cut off the end of the WAL (a torn or corrupt tail). */
  droppedBytes: number;
  /** WAL files removed because they followed a damaged entry. */
  droppedFiles: number;
}

export class WalMemoryEngine extends MemoryEngine {
  override readonly durable: boolean = true;

  readonly dir: string;
  private readonly policy: FsyncPolicy;
  private readonly fsyncIntervalMs: number;
  private readonly snapshotBytes: number;
  private readonly warn: (message: string) => void;
  private readonly observer: StorageObserver | null;

  private writer: WalWriter | null = null;
  /** Held from open to close (files.ts acquireDirLock). */
  private dirLock: DirLock | null = null;
  /** Number of the WAL file new entries go to. */
  private seq = 0;
  /** Bytes in (or enqueued for) the current WAL file. */
  private walBytes = 0;
  private lastSnapshotBytes = 0;
  /** After a failed snapshot, the next attempt waits until the WAL reaches this size. */
  private snapshotRetryBytes = 0;
  private snapshotting: Promise<void> | null = null;
  private closed = false;
  recovery: WalRecovery | null = null;
  /** Snapshots written since open (for tests and operators). */
  snapshotsWritten = 0;

  constructor(options: WalEngineOptions) {
    super({ topicDefaults: options.topicDefaults });
    this.dir = path.resolve(options.path);
    this.policy = options.fsync ?? 'always';
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 1000;
    this.snapshotBytes = options.snapshotBytes ?? DEFAULT_WAL_SNAPSHOT_BYTES;
    this.warn = options.warn ?? (() => {});
    this.observer = options.observer ?? null;
  }

  override async open(): Promise<BrokerMetadata> {
    if (!this.writer) {
      await mkdir(this.dir, { recursive: true });
      const lock = await acquireDirLock(this.dir);
      try {
        await this.recover();
      } catch (err) {
        await releaseDirLock(this.dir, lock);
        throw err;
      }
      this.dirLock = lock;
    }
    return super.open();
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.snapshotting;
    if (!this.writer) return;
    try {
      await this.writer.close();
    } finally {
      if (this.dirLock !== null) await releaseDirLock(this.dir, this.dirLock);
      this.dirLock = null;
    }
  }

  // ---- mutations: apply in memory and enqueue the entry in one synchronous step, then wait ---------

  override async setClusterId(clusterId: string): Promise<void> {
    await this.mutate({ type: 'clusterId', clusterId });
  }

  override async setNextProducerId(next: number): Promise<void> {
    await this.mutate({ type: 'nextProducerId', next });
  }

  override async createTopic(topic: TopicRecord): Promise<void> {
    await this.mutate({ type: 'createTopic', topic: cloneTopic(topic) });
  }

  override async updateTopic(topic: TopicRecord): Promise<void> {
    if (!this.logs.has(topic.name)) throw new Error(`updateTopic: no topic ${topic.name}`);
    await this.mutate({ type: 'updateTopic', topic: cloneTopic(topic) });
  }

  override async deleteTopic(name: string): Promise<void> {
    await this.mutate({ type: 'deleteTopic', name });
  }

  override async append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    this.usable();
    const log = this.log(topic, partition);
    const baseOffset = log.append(batch);
    // The engine's own copy, with the base offset written in: immutable from here on, so the WAL
    // (and a later snapshot) can write it without copying again.
    const bytes = log.batches[log.batches.length - 1]!;
    await this.record({ type: 'append', topic, partition, baseOffset, recordCount: batch.recordCount, maxTimestamp: batch.maxTimestamp, bytes });
    return { baseOffset };
  }

  override async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    this.usable();
    const log = this.log(topic, partition);
    const before = log.logStartOffset;
    const start = log.truncateBefore(offset);
    if (start !== before) await this.record({ type: 'truncate', topic, partition, offset: start });
    return start;
  }

  override async applyRetention(topic: string, partition: number, policy: RetentionPolicy): Promise<number> {
    this.usable();
    const log = this.log(topic, partition);
    const before = log.logStartOffset;
    const start = log.applyRetention(policy);
    if (start !== before) await this.record({ type: 'truncate', topic, partition, offset: start });
    return start;
  }

  override async writeProducerSnapshot(topic: string, partition: number, offset: number, data: Buffer): Promise<void> {
    this.log(topic, partition); // throws for an unknown partition before anything is logged
    await this.mutate({ type: 'producerSnapshot', topic, partition, offset, data });
  }

  override async commitOffsets(groupId: string, entries: GroupOffsetEntry[]): Promise<void> {
    const copy = entries.map((e) => ({ topic: e.topic, partition: e.partition, committed: e.committed && { ...e.committed } }));
    await this.mutate({ type: 'commitOffsets', groupId, entries: copy });
  }

  override async deleteGroupOffsets(groupId: string): Promise<void> {
    await this.mutate({ type: 'deleteGroupOffsets', groupId });
  }

  override async putGroupMetadata(groupId: string, value: Buffer | null): Promise<void> {
    this.usable();
    this.apply({ type: 'groupMetadata', groupId, value });
    // The WAL gets the engine's stored copy, not the caller's buffer, which the caller may reuse.
    await this.record({ type: 'groupMetadata', groupId, value: value === null ? null : this.groups.get(groupId)! });
  }

  override async putTransactionState(transactionalId: string, value: Buffer | null): Promise<void> {
    this.usable();
    this.apply({ type: 'txnState', transactionalId, value });
    await this.record({ type: 'txnState', transactionalId, value: value === null ? null : this.txnStates.get(transactionalId)! });
  }

  override async putScramCredentials(user: string, value: Buffer | null): Promise<void> {
    this.usable();
    this.apply({ type: 'scramUser', user, value });
    await this.record({ type: 'scramUser', user, value: value === null ? null : this.scramUsers.get(user)! });
  }

  override async putAclBinding(key: string, value: Buffer | null): Promise<void> {
    this.usable();
    this.apply({ type: 'aclBinding', key, value });
    await this.record({ type: 'aclBinding', key, value: value === null ? null : this.acls.get(key)! });
  }

  override async putGroupConfig(groupId: string, value: Buffer | null): Promise<void> {
    this.usable();
    this.apply({ type: 'groupConfig', groupId, value });
    await this.record({ type: 'groupConfig', groupId, value: value === null ? null : this.groupConfigValues.get(groupId)! });
  }

  override async putClientQuotas(entity: string, value: Buffer | null): Promise<void> {
    this.usable();
    this.apply({ type: 'clientQuotas', entity, value });
    await this.record({ type: 'clientQuotas', entity, value: value === null ? null : this.quotaEntities.get(entity)! });
  }

  // ---- reads: refused once the log has failed (memory may hold what the disk does not) -------------

  override async read(topic: string, partition: number, offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    this.usable();
    return super.read(topic, partition, offset, maxBytes, minOneBatch);
  }

  override async findBatchByTimestamp(topic: string, partition: number, timestamp: number): Promise<Buffer | null> {
    this.usable();
    return super.findBatchByTimestamp(topic, partition, timestamp);
  }

  override async findMaxTimestampBatch(topic: string, partition: number): Promise<Buffer | null> {
    this.usable();
    return super.findMaxTimestampBatch(topic, partition);
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** Throws unless the engine is open and its log healthy. */
  private usable(): void {
    if (this.closed) throw new StorageError('storage: the engine is closed');
    if (!this.writer) throw new StorageError('storage: the engine is not open');
    if (this.writer.failed) throw this.writer.failed;
  }

  private async mutate(e: WalEntry): Promise<void> {
    this.usable();
    this.apply(e);
    await this.record(e);
  }

  /** Enqueue an entry already applied in memory; resolves once it is as durable as configured. */
  private record(e: WalEntry): Promise<void> {
    const frame = encodeFrame(e);
    this.walBytes += frame.bytes;
    const done = this.writer!.write(frame.chunks, frame.bytes);
    this.maybeSnapshot();
    return done;
  }

  /**
   * Apply one entry to the memory state: the single definition of what each entry means, used by
   * live mutations and by replay alike (so a replay rebuilds exactly what was acknowledged). The
   * MemoryEngine methods it calls are synchronous inside; their promises are already settled.
   */
  private apply(e: WalEntry): void {
    switch (e.type) {
      case 'header':
      case 'end':
        return;
      case 'clusterId':
        this.clusterId = e.clusterId;
        return;
      case 'nextProducerId':
        this.nextProducerId = e.next;
        return;
      case 'createTopic':
        void super.createTopic(e.topic);
        return;
      case 'updateTopic':
        if (!this.logs.has(e.topic.name)) throw new WalFormatError(`update of unknown topic ${e.topic.name}`);
        void super.updateTopic(e.topic);
        return;
      case 'deleteTopic':
        void super.deleteTopic(e.name);
        return;
      case 'append': {
        const log = this.log(e.topic, e.partition);
        if (log.highWatermark !== e.baseOffset) {
          throw new WalFormatError(`append to ${e.topic}-${e.partition} at offset ${e.baseOffset}, but the log ends at ${log.highWatermark}`);
        }
        log.append({ bytes: e.bytes, recordCount: e.recordCount, maxTimestamp: e.maxTimestamp });
        return;
      }
      case 'truncate':
        this.log(e.topic, e.partition).truncateBefore(e.offset);
        return;
      case 'commitOffsets':
        void super.commitOffsets(e.groupId, e.entries);
        return;
      case 'deleteGroupOffsets':
        void super.deleteGroupOffsets(e.groupId);
        return;
      case 'groupMetadata':
        void super.putGroupMetadata(e.groupId, e.value);
        return;
      case 'producerSnapshot':
        // A copy: replayed entries are views of the file's read buffer.
        this.log(e.topic, e.partition).snapshots.add(e.offset, Buffer.from(e.data));
        return;
      case 'txnState':
        void super.putTransactionState(e.transactionalId, e.value);
        return;
      case 'scramUser':
        void super.putScramCredentials(e.user, e.value);
        return;
      case 'aclBinding':
        void super.putAclBinding(e.key, e.value);
        return;
      case 'groupConfig':
        void super.putGroupConfig(e.groupId, e.value);
        return;
      case 'clientQuotas':
        void super.putClientQuotas(e.entity, e.value);
        return;
      case 'partitionState': {
        const log = this.log(e.topic, e.partition);
        if (log.batches.length > 0 || log.highWatermark !== 0) throw new WalFormatError(`partition state for ${e.topic}-${e.partition} after its data`);
        log.logStartOffset = e.logStartOffset;
        log.highWatermark = e.nextOffset;
        return;
      }
    }
  }

  // ---- snapshots -----------------------------------------------------------------------------------

  private maybeSnapshot(): void {
    if (this.snapshotting || this.closed) return;
    if (this.walBytes < Math.max(this.snapshotBytes, this.lastSnapshotBytes, this.snapshotRetryBytes)) return;
    this.snapshotting = this.snapshot().finally(() => {
      this.snapshotting = null;
    });
  }

  /** Resolves when no snapshot is being written (tests use it to make snapshot timing deterministic). */
  async snapshotSettled(): Promise<void> {
    while (this.snapshotting) await this.snapshotting;
  }

  /** Write a snapshot now (tests; also what the size trigger runs). Resolves once it is durable. */
  async snapshotNow(): Promise<void> {
    this.usable();
    while (this.snapshotting) await this.snapshotting;
    this.snapshotting = this.snapshot().finally(() => {
      this.snapshotting = null;
    });
    await this.snapshotting;
  }

  private async snapshot(): Promise<void> {
    const writer = this.writer!;
    const seq = this.seq + 1;
    // Synchronously: capture the state and switch new entries to WAL `seq`. Snapshot `seq` is then
    // exactly the state before that WAL's first entry.
    const frames = this.captureState(seq);
    this.seq = seq;
    this.walBytes = 0;
    const rotated = writer.rotate(seq);
    try {
      const size = await writeSnapshot(this.dir, seq, frames);
      await rotated;
      this.lastSnapshotBytes = size;
      this.snapshotRetryBytes = 0;
      this.snapshotsWritten++;
      await this.removeBefore(seq);
    } catch (err) {
      await rotated.catch(() => {});
      if (writer.failed) return; // the engine is down; the error is reported by every operation
      // The WAL still holds everything (recovery replays every WAL file after the last good
      // snapshot), so a failed snapshot loses nothing: try again after another snapshotBytes.
      this.snapshotRetryBytes = this.walBytes + this.snapshotBytes;
      this.warn(`snapshot ${seq} failed, will retry: ${(err as Error).message}`);
    }
  }

  /** Copies of the state's arrays now; the returned frames are encoded lazily while writing. */
  private captureState(seq: number): Iterable<{ chunks: Buffer[]; bytes: number }> {
    const clusterId = this.clusterId;
    const nextProducerId = this.nextProducerId;
    const topics = [...this.topics.values()].map(cloneTopic);
    const partitions = topics.flatMap((t) =>
      this.logs.get(t.name)!.map((log, partition) => ({
        topic: t.name,
        partition,
        logStartOffset: log.logStartOffset,
        nextOffset: log.baseOffsets[0] ?? log.highWatermark,
        batches: log.batches.slice(),
        baseOffsets: log.baseOffsets.slice(),
        lastOffsets: log.lastOffsets.slice(),
        maxTimestamps: log.maxTimestamps.slice(),
        snapshots: log.snapshots.items.slice(),
      })),
    );
    const offsets = [...this.groupOffsets].map(([groupId, m]) => ({
      groupId,
      entries: [...m.values()].map((c) => ({
        topic: c.topic,
        partition: c.partition,
        committed: copyCommitted(c),
      })),
    }));
    const groups = [...this.groups];
    const txnStates = [...this.txnStates];
    const scramUsers = [...this.scramUsers];
    const acls = [...this.acls];
    const groupConfigs = [...this.groupConfigValues];
    const quotaEntities = [...this.quotaEntities];
    return (function* () {
      let count = 0;
      const frame = (e: WalEntry) => {
        count++;
        return encodeFrame(e);
      };
      yield frame({ type: 'header', fileKind: 'snapshot', version: FORMAT_VERSION, seq });
      if (clusterId !== null) yield frame({ type: 'clusterId', clusterId });
      yield frame({ type: 'nextProducerId', next: nextProducerId });
      for (const topic of topics) yield frame({ type: 'createTopic', topic });
      for (const p of partitions) {
        yield frame({ type: 'partitionState', topic: p.topic, partition: p.partition, logStartOffset: p.logStartOffset, nextOffset: p.nextOffset });
        for (let i = 0; i < p.batches.length; i++) {
          const baseOffset = p.baseOffsets[i]!;
          yield frame({
            type: 'append', topic: p.topic, partition: p.partition, baseOffset,
            recordCount: p.lastOffsets[i]! - baseOffset + 1, maxTimestamp: p.maxTimestamps[i]!, bytes: p.batches[i]!,
          });
        }
        for (const s of p.snapshots) yield frame({ type: 'producerSnapshot', topic: p.topic, partition: p.partition, offset: s.offset, data: s.data! });
      }
      for (const o of offsets) yield frame({ type: 'commitOffsets', groupId: o.groupId, entries: o.entries });
      for (const [groupId, value] of groups) yield frame({ type: 'groupMetadata', groupId, value });
      for (const [transactionalId, value] of txnStates) yield frame({ type: 'txnState', transactionalId, value });
      for (const [user, value] of scramUsers) yield frame({ type: 'scramUser', user, value });
      for (const [key, value] of acls) yield frame({ type: 'aclBinding', key, value });
      for (const [groupId, value] of groupConfigs) yield frame({ type: 'groupConfig', groupId, value });
      for (const [entity, value] of quotaEntities) yield frame({ type: 'clientQuotas', entity, value });
      yield encodeFrame({ type: 'end', entries: count });
    })();
  }

  /** Remove snapshots and WAL files that snapshot `seq` has made unnecessary. */
  private async removeBefore(seq: number): Promise<void> {
    let removed = 0;
    for (const f of await this.dataFiles()) {
      if (f.seq < seq || f.kind === 'tmp') {
        await unlink(path.join(this.dir, f.name));
        removed++;
      }
    }
    if (removed > 0) await fsyncDir(this.dir);
  }

  private async dataFiles(): Promise<DataFile[]> {
    return (await readdir(this.dir)).map(parseDataFileName).filter((f): f is DataFile => f !== null);
  }

  // ---- recovery ------------------------------------------------------------------------------------

  private async recover(): Promise<void> {
    const files = await this.dataFiles();
    const snapshots = files.filter((f) => f.kind === 'snapshot').sort((a, b) => b.seq - a.seq);
    const wals = files.filter((f) => f.kind === 'wal').sort((a, b) => a.seq - b.seq);
    const recovery: WalRecovery = { snapshotSeq: null, walFilesReplayed: 0, entriesReplayed: 0, droppedBytes: 0, droppedFiles: 0 };

    // The newest snapshot is complete: it was renamed into place only after it was synced.
    const base = snapshots[0]?.seq ?? 0;
    if (snapshots[0]) {
      this.lastSnapshotBytes = await readSnapshot(this.dir, base, (e) => this.apply(e));
      recovery.snapshotSeq = base;
    }

    let current = base;
    let validEnd: number | null = null;
    let damaged = false;
    for (const wal of wals) {
      if (wal.seq < base) continue; // made unnecessary by the snapshot; removed below
      if (damaged) {
        // Everything after a damaged entry is dropped, including whole later files.
        await unlink(path.join(this.dir, wal.name));
        recovery.droppedFiles++;
        continue;
      }
      const r = await this.replayWal(wal.seq, recovery);
      current = wal.seq;
      validEnd = r.validEnd;
      if (r.dropped > 0 || r.validEnd === null) {
        damaged = true;
        recovery.droppedBytes += r.dropped;
        this.warn(`${wal.name}: dropped a ${r.end} tail of ${r.dropped} bytes at byte ${r.validEnd ?? 0}`);
      }
    }
    // Files the snapshot made unnecessary (a removal interrupted by a crash) and unfinished snapshots.
    for (const f of files) {
      if (f.kind === 'tmp' || f.seq < base) await unlink(path.join(this.dir, f.name));
    }

    this.seq = current;
    this.walBytes = validEnd ?? 0;
    this.recovery = recovery;
    const writer = new WalWriter(this.dir, this.policy, this.fsyncIntervalMs, this.observer);
    await writer.start(current, validEnd);
    await fsyncDir(this.dir);
    this.writer = writer;
  }

  /**
   * Replay WAL `seq` into memory. Returns where its valid content ends (null when not even its
   * header is whole: the file is then recreated) and how many bytes follow that point.
   */
  private async replayWal(seq: number, recovery: WalRecovery): Promise<{ validEnd: number | null; dropped: number; end: string }> {
    const file = path.join(this.dir, walFileName(seq));
    const { size } = await stat(file);
    const fh = await open(file, 'r');
    try {
      const reader = new WalReader(fh, size);
      const first = await reader.next();
      if (first === null) return { validEnd: null, dropped: size, end: reader.end };
      const header = decodePayload(first);
      if (header.type !== 'header' || header.fileKind !== 'wal' || header.seq !== seq) {
        throw new WalFormatError(`${walFileName(seq)} does not start with its own header`);
      }
      for (let payload = await reader.next(); payload !== null; payload = await reader.next()) {
        const e = decodePayload(payload);
        if (e.type === 'header' || e.type === 'end' || e.type === 'partitionState') throw new WalFormatError(`a ${e.type} entry inside a WAL`);
        this.apply(e);
        recovery.entriesReplayed++;
      }
      recovery.walFilesReplayed++;
      return { validEnd: reader.validEnd, dropped: size - reader.validEnd, end: reader.end };
    } catch (err) {
      // A whole entry with a good checksum that does not apply: a bug or a foreign file, never a torn
      // write. Starting without it would lose acknowledged state, so refuse to start.
      throw new Error(`storage: ${file}: cannot replay the write-ahead log (${(err as Error).message})`, { cause: err });
    } finally {
      await fh.close();
    }
  }
}

function cloneTopic(t: TopicRecord): TopicRecord {
  return { name: t.name, id: t.id, partitionCount: t.partitionCount, configs: { ...t.configs } };
}
