/**
 * One partition's log: its ordered segments (the last one active), the log start offset, and the
 * write path with group commit. Kafka splits this between `UnifiedLog` and `LocalLog`; here one
 * class owns it.
 *
 * Offsets. `append` assigns the base offset synchronously (before any await), so concurrent appends
 * get consecutive offsets in call order. Three positions follow each other:
 *   assigned (`nextOffset`) ≥ written to the file (`writtenOffset`) ≥ acknowledged (`highWatermark`).
 * An append resolves — and the high watermark, the only offset readers see, moves past it — once
 * its bytes are written and, when the policy asks for it, synced. So a consumer never sees a record
 * that a crash could take back (with `fsync: always`), and offsets are never reused for a different
 * record that anyone saw.
 *
 * Group commit. One writer per partition drains the queue of assigned batches with one positional
 * `writev` per group. With `fsync: always` that write goes through an O_DSYNC handle and is itself the
 * sync (LogSegment.writeDurably): the group is acknowledged when it returns, and the batches that
 * arrived meanwhile form the next group (issue 22: one trip through libuv's pool per group instead
 * of two). Otherwise (`flush.messages`, `interval`, or `dsyncAppends: false`)
 * one fsync runs at a time and covers everything written before it started;
 * appends that arrive meanwhile are written and wait for the next fsync, which they share.
 * A group with more batches queued right behind it leaves its fsync to them (requestSync), so the
 * requests a producer pipelines share one. With the
 * shared journal (`storage.journal`, journal.ts) a written group is handed to the journal instead,
 * whose one sync covers the groups of every partition; the segment is synced by the journal's
 * checkpoints, at roll and at close.
 *
 * Failure. A failed write (ENOSPC, EROFS, EIO) rejects that group and every batch queued behind it
 * (their offsets assumed the failed ones), cuts the file back to its last good size and hands out
 * the same offsets again to later appends: the partition keeps working once the disk has room. A
 * failed fsync is different (the kernel may have dropped the dirty pages): the partition refuses
 * all further appends until the broker restarts and recovers it; reads go on.
 *
 * Callers: LogEngine only (from the broker's event loop), LogCleaner through `replaceSegment`.
 */
import { writeInt64 } from '../../protocol/records/batch.js';
import type { FsyncPolicy } from '../../config/types.js';
import type { AppendBatch, ReadResult, RetentionPolicy, StorageObserver } from '../engine.js';
import { DurableWriteSyncError, LogSegment, PREALLOCATE_CHUNK_BYTES, type StoredBatchInfo } from './log-segment.js';
import { Mutex } from '../../base/mutex.js';
import { describeIoError, fsyncDir, type FaultHooks } from './files.js';
import { StorageError, isSystemError } from '../errors.js';
import { MAX_WRITE_GROUP_BYTES } from '../../base/limits.js';
import { invariant } from '../../base/assert.js';
import { PartitionSnapshots } from '../producer-snapshots.js';
import type { Journal } from './journal.js';

export { MAX_WRITE_GROUP_BYTES };
/**
 * Named limit: write groups in a row that may defer their sync to the group queued behind them
 * (requestSync), so that under a steady stream of appends a sync still starts at least every few writes.
 */
export const MAX_DEFERRED_SYNC_GROUPS = 4;
/** Kafka's "never" for long configs (Long.MAX_VALUE) as a JS number compares above any real value. */
const UNLIMITED = 2 ** 62;

/** The topic configs a partition log follows (resolved by LogEngine from overrides and defaults). */
export interface LogConfig {
  /** `internal.segment.bytes` when set, else `segment.bytes`. */
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  /** Kafka `flush.messages`: sync once this many messages are unsynced (UNLIMITED = never). */
  flushMessages: number;
  /** Kafka `flush.ms`: sync data older than this (UNLIMITED = never). */
  flushMs: number;
  /** Kafka `preallocate`: the active segment keeps a zero-filled tail ahead of its data (LogSegment.preallocate). */
  preallocate: boolean;
}

/** What every log of an engine shares. */
export interface LogContext {
  fsync: FsyncPolicy;
  now(): number;
  faults?: FaultHooks;
  warn(message: string): void;
  /** Times every fsync of appended data (the broker's metrics); null: nothing watches. */
  observer?: StorageObserver | null;
  /**
   * With `fsync: always` and no journal, write each group through the segment's O_DSYNC handle (one
   * write that is also the sync) instead of a write and then an fdatasync. Default true; false keeps
   * the write-then-fdatasync pipeline (its tests, and the bench's A/B).
   */
  dsyncAppends?: boolean;
}

export { StorageError };

/** A partition's place in the shared journal (journal.ts): its topic id and partition index. */
export interface JournalSlot {
  journal: Journal;
  topicId: string;
  partition: number;
}

interface Pending {
  bytes: Buffer;
  info: StoredBatchInfo;
  resolve(r: { baseOffset: number }): void;
  reject(e: Error): void;
}

interface Written {
  baseOffset: number;
  end: number;
  needsSync: boolean;
  resolve(r: { baseOffset: number }): void;
  reject(e: Error): void;
}

export function parseLongConfig(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export class PartitionLog {
  /** Segments in offset order; replaced (never mutated) on change, so a reader can hold a snapshot. */
  segments: readonly LogSegment[];
  logStartOffset: number;
  /** Offset the next `append` call gets. */
  nextOffset: number;
  /** Offset after the last batch written to the file. */
  private writtenOffset: number;
  /** Offset after the last batch known synced. */
  private syncedOffset: number;
  /** Offset after the last acknowledged batch: what readers may see. */
  highWatermark: number;
  /** Sum of the segments' sizes. */
  sizeBytes = 0;
  private queue: Pending[] = [];
  private unacked: Written[] = [];
  private writing: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  /** Write groups in a row whose sync waited for the group queued behind them (requestSync). */
  private deferredSyncGroups = 0;
  private unflushedMessages = 0;
  private lastSyncMs: number;
  private failure: Error | null = null;
  private closed = false;
  /** Offsets of the producer-state snapshot files in the directory (LogEngine writes and prunes them). */
  readonly snapshots = new PartitionSnapshots();
  /** Serialises structural changes: write groups, rolls, retention, DeleteRecords, cleaning swaps. */
  readonly lock = new Mutex();
  /**
   * With the shared journal (`storage.journal`, fsync always): a written group is journaled instead
   * of syncing the segment, and counts as synced once the journal's sync covering it is done.
   * Set by LogEngine right after the log is loaded.
   */
  journal: JournalSlot | null = null;

  constructor(
    readonly dir: string,
    readonly name: string,
    segments: LogSegment[],
    logStartOffset: number,
    public config: LogConfig,
    private readonly ctx: LogContext,
  ) {
    if (segments.length === 0) throw new Error(`${name}: a log needs at least one segment`);
    this.segments = segments;
    const active = segments[segments.length - 1]!;
    this.nextOffset = active.isEmpty ? active.baseOffset : active.nextOffset;
    this.writtenOffset = this.nextOffset;
    this.syncedOffset = this.nextOffset;
    this.highWatermark = this.nextOffset;
    this.logStartOffset = Math.max(logStartOffset, segments[0]!.baseOffset);
    for (const s of segments) this.sizeBytes += s.size;
    this.lastSyncMs = ctx.now();
  }

  get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Whether the partition refuses appends after a failed fsync (until a restart recovers it). */
  get failed(): Error | null {
    return this.failure;
  }

  // ---- append --------------------------------------------------------------------------------------

  append(batch: AppendBatch): Promise<{ baseOffset: number }> {
    if (this.closed) return Promise.reject(new StorageError(`${this.name}: the log is closed`));
    if (this.failure) return Promise.reject(new StorageError(`${this.name}: the log is offline after a failed fsync (${this.failure.message}); restart the broker to recover it`));
    const base = this.nextOffset;
    // The interface lets the engine stamp the base offset into the caller's bytes (no copy).
    writeInt64(batch.bytes, 0, base);
    this.nextOffset = base + batch.recordCount;
    const info: StoredBatchInfo = { baseOffset: base, lastOffset: base + batch.recordCount - 1, maxTimestamp: batch.maxTimestamp, bytes: batch.bytes.length };
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes: batch.bytes, info, resolve, reject });
      this.kickWriter();
    });
  }

  /** Start the writer unless it runs; it re-checks the queue after it stopped (an append may slip in). */
  private kickWriter(): void {
    if (this.writing) return;
    this.writing = (async () => {
      try {
        while (this.queue.length > 0) await this.lock.run(() => this.writeGroup());
      } finally {
        this.writing = null;
        if (this.queue.length > 0) this.kickWriter();
      }
    })();
  }

  /** Write the next group of queued batches (one roll at most first). */
  private async writeGroup(): Promise<void> {
    if (this.queue.length === 0) return;
    if (this.failure) {
      // Offline after a failed fsync: nothing more is written (queued appends were accepted before it).
      this.rejectQueued(this.failure);
      return;
    }
    try {
      if (this.shouldRoll(this.queue[0]!.info)) await this.roll(this.queue[0]!.info.baseOffset);
    } catch (err) {
      this.rejectQueued(err);
      return;
    }
    const seg = this.active;
    if (this.config.preallocate && !seg.preallocating) seg.preallocate(PREALLOCATE_CHUNK_BYTES, this.config.segmentBytes);
    const group: Pending[] = [];
    let bytes = 0;
    for (const p of this.queue) {
      if (group.length > 0 && (bytes + p.info.bytes > MAX_WRITE_GROUP_BYTES || this.wouldOverflow(seg, seg.size + bytes, p.info))) break;
      group.push(p);
      bytes += p.info.bytes;
    }
    this.queue.splice(0, group.length);
    // Offsets are assigned in call order and written in that order, without gaps or overlaps.
    invariant(group[0]!.info.baseOffset === this.writtenOffset, 'a write group starts where the written log ends', group[0]!.info.baseOffset, this.writtenOffset);
    for (let i = 1; i < group.length; i++) {
      invariant(group[i]!.info.baseOffset === group[i - 1]!.info.lastOffset + 1, 'batches of a write group are consecutive', group[i]!.info.baseOffset, group[i - 1]!.info.lastOffset);
    }
    const startSize = seg.size;
    const always = this.ctx.fsync === 'always';
    // Durable appends: the write is the sync (LogSegment.writeDurably), so a group is acknowledged as
    // soon as its one write returns and the next group is written right after it (group commit).
    const durable = always && this.journal === null && this.ctx.dsyncAppends !== false;
    const observer = durable ? (this.ctx.observer ?? null) : null;
    const started = observer === null ? 0 : performance.now();
    try {
      await seg.append(
        group.map((p) => p.bytes),
        group.map((p) => p.info),
        durable,
      );
    } catch (err) {
      if (err instanceof DurableWriteSyncError) {
        // A failed fsync: the group may be partly on disk, nothing of it is acknowledged, and the
        // partition refuses appends from now on (as when a segment's fdatasync fails).
        this.queue.unshift(...group);
        this.goOffline(err.cause as Error);
        this.rejectQueued(this.failure);
        return;
      }
      try {
        await seg.truncateTo(startSize);
      } catch (truncErr) {
        this.goOffline(truncErr as Error);
      }
      this.queue.unshift(...group);
      this.rejectQueued(err);
      return;
    }
    this.sizeBytes += bytes;
    const last = group[group.length - 1]!.info;
    this.writtenOffset = last.lastOffset + 1;
    for (const p of group) {
      const count = p.info.lastOffset - p.info.baseOffset + 1;
      this.unflushedMessages += count;
      const needsSync = always || this.unflushedMessages >= this.config.flushMessages;
      this.unacked.push({ baseOffset: p.info.baseOffset, end: p.info.lastOffset + 1, needsSync, resolve: p.resolve, reject: p.reject });
    }
    if (always && this.journal !== null) {
      this.journalGroup(this.journal, seg, startSize, group, this.writtenOffset);
      return;
    }
    if (durable) {
      observer?.fsync((performance.now() - started) / 1000);
      this.syncedOffset = this.writtenOffset;
      this.unflushedMessages = 0;
      this.lastSyncMs = this.ctx.now();
    }
    this.settle();
    if (this.unacked.some((w) => w.needsSync)) this.requestSync();
  }

  /**
   * Start the sync that written appends wait for — unless more batches are queued right behind this
   * group: then it waits for their write (at most MAX_DEFERRED_SYNC_GROUPS groups in a row), so one
   * fdatasync covers the requests in flight together. Before, the first group of a burst took its own
   * sync and the rest waited for a second one (issue 22: half the fsyncs on the 1 KiB 1-partition
   * rows, bench/README.md). Every path that empties the queue without writing (rejectQueued) syncs.
   */
  private requestSync(): void {
    if (this.queue.length > 0 && this.failure === null && this.deferredSyncGroups < MAX_DEFERRED_SYNC_GROUPS) {
      this.deferredSyncGroups++;
      return;
    }
    this.deferredSyncGroups = 0;
    void this.sync().catch(() => {});
  }

  /**
   * Hand a written group to the shared journal: once its sync covers the group, everything up to
   * `end` counts as synced (journal appends resolve in order, so this never moves backwards). A failed
   * journal takes the partition offline, as a failed fsync of its segment does.
   */
  private journalGroup(slot: JournalSlot, seg: LogSegment, position: number, group: Pending[], end: number): void {
    this.unflushedMessages = 0;
    slot.journal.append(slot.topicId, slot.partition, seg, position, group.map((p) => p.bytes)).then(
      () => {
        this.syncedOffset = Math.max(this.syncedOffset, end);
        this.lastSyncMs = this.ctx.now();
        this.settle();
      },
      (err: Error) => this.goOffline(err),
    );
  }

  /** Reject every queued batch: their offsets are handed out again (nothing after them was written). */
  private rejectQueued(err: unknown): void {
    const rejected = this.queue;
    this.queue = [];
    this.nextOffset = this.writtenOffset;
    const e = err instanceof StorageError ? err : new StorageError(`${this.name}: write failed: ${describeIoError(err)}`, { cause: err });
    for (const p of rejected) p.reject(e);
    // Groups written before the failed one may have deferred their sync to it (requestSync; with the
    // journal, groups never defer: the journal syncs them).
    if (this.journal === null && this.unacked.some((w) => w.needsSync && this.syncedOffset < w.end)) this.requestSync();
  }

  /** Resolve written appends in order, as far as their durability allows; moves the high watermark. */
  private settle(): void {
    if (this.failure) {
      // A group written while the failing fsync ran can never be synced now: it fails too.
      const lost = this.unacked.filter((w) => this.syncedOffset < w.end);
      if (lost.length > 0) {
        this.unacked = this.unacked.filter((w) => this.syncedOffset >= w.end);
        for (const w of lost) w.reject(this.failure);
      }
    }
    let n = 0;
    for (const w of this.unacked) {
      if (w.needsSync && this.syncedOffset < w.end) break;
      // assigned ≥ written ≥ acknowledged: the high watermark never passes what is in the file.
      invariant(w.end <= this.writtenOffset && this.writtenOffset <= this.nextOffset, 'the high watermark stays within the written log', w.end, this.writtenOffset);
      this.highWatermark = w.end;
      w.resolve({ baseOffset: w.baseOffset });
      n++;
    }
    if (n > 0) this.unacked.splice(0, n);
  }

  private shouldRoll(next: StoredBatchInfo): boolean {
    const seg = this.active;
    if (seg.isEmpty) return false;
    if (seg.size + next.bytes > this.config.segmentBytes) return true;
    // Kafka's segment.ms: the incoming batch's timestamp against the segment's first batch's.
    const since = seg.firstBatchTimestamp !== null && seg.firstBatchTimestamp >= 0 ? next.maxTimestamp - seg.firstBatchTimestamp : this.ctx.now() - seg.createdMs;
    if (since > this.config.segmentMs) return true;
    return this.wouldOverflow(seg, seg.size, next);
  }

  /** Index entries hold 32-bit relative offsets and positions. */
  private wouldOverflow(seg: LogSegment, size: number, next: StoredBatchInfo): boolean {
    return next.lastOffset - seg.baseOffset > 0x7fffffff || size + next.bytes > 0x7fffffff;
  }

  /**
   * Seal the active segment (sync it, write its indexes) and start a new one at `baseOffset`.
   * Called under the lock, by the writer or by DeleteRecords.
   */
  private async roll(baseOffset: number): Promise<void> {
    const old = this.active;
    if (!old.isEmpty) {
      await old.sync();
      this.syncedOffset = Math.max(this.syncedOffset, old.nextOffset);
      this.lastSyncMs = this.ctx.now();
      // A sealed segment's file is exactly its batches: its preallocated tail goes before its indexes are written.
      await old.trim();
      await old.writeIndexes();
    }
    const seg = await LogSegment.create(this.dir, baseOffset, this.config.indexIntervalBytes, this.ctx.now(), this.ctx.faults);
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      await seg.delete().catch(() => {});
      throw err;
    }
    this.segments = [...this.segments, seg];
    this.settle();
  }

  // ---- durability ------------------------------------------------------------------------------

  /**
   * Sync everything written so far. Only one fsync runs at a time; a call while one runs waits for
   * it and then starts the next, which covers every write made meanwhile (group commit).
   */
  async sync(): Promise<void> {
    while (this.syncing) await this.syncing.catch(() => {});
    if (this.syncedOffset >= this.writtenOffset || this.failure) {
      if (this.failure) throw this.failure;
      return;
    }
    const target = this.writtenOffset;
    const seg = this.active;
    this.unflushedMessages = 0;
    this.syncing = (async () => {
      const observer = this.ctx.observer ?? null;
      const started = observer === null ? 0 : performance.now();
      try {
        await seg.sync();
      } catch (err) {
        this.goOffline(err as Error);
        throw this.failure!;
      }
      observer?.fsync((performance.now() - started) / 1000);
      this.syncedOffset = Math.max(this.syncedOffset, target);
      this.lastSyncMs = this.ctx.now();
      this.settle();
    })().finally(() => (this.syncing = null));
    await this.syncing;
    if (this.unacked.some((w) => w.needsSync)) void this.sync().catch(() => {});
  }

  /** The `interval` policy and `flush.ms`: sync if data has waited long enough. */
  async periodicFlush(nowMs: number, intervalPolicy: boolean): Promise<void> {
    if (this.closed || this.failure || this.syncedOffset >= this.writtenOffset) return;
    if (intervalPolicy || nowMs - this.lastSyncMs >= this.config.flushMs) await this.sync();
  }

  private goOffline(err: Error): void {
    if (this.failure) return;
    this.failure = new StorageError(`${this.name}: ${describeIoError(err)}`, { cause: err });
    this.ctx.warn(`partition ${this.name} is offline for appends: ${this.failure.message}`);
    const waiting = this.unacked.filter((w) => this.syncedOffset < w.end);
    this.unacked = this.unacked.filter((w) => this.syncedOffset >= w.end);
    for (const w of waiting) w.reject(this.failure);
    this.settle();
  }

  // ---- reads ---------------------------------------------------------------------------------------

  /** Index of the segment that may hold `offset` (the last one whose base offset is ≤ it). */
  private segmentFor(segs: readonly LogSegment[], offset: number): number {
    let lo = 0;
    let hi = segs.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (segs[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Run `fn` over the segments from the one holding `offset` on, pinned against deletion. */
  private async withSegmentsFrom<T>(offset: number, fn: (segs: readonly LogSegment[]) => Promise<T>): Promise<T> {
    const all = this.segments;
    const segs = all.slice(this.segmentFor(all, offset));
    for (const s of segs) s.acquire();
    try {
      return await fn(segs);
    } catch (err) {
      if (isSystemError(err)) throw new StorageError(`${this.name}: read failed: ${describeIoError(err)}`, { cause: err });
      throw err;
    } finally {
      for (const s of segs) s.release();
    }
  }

  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    const hw = this.highWatermark;
    let from = Math.max(offset, this.logStartOffset);
    const batches: Buffer[] = [];
    let bytes = 0;
    if (from >= hw) return { batches, bytes };
    await this.withSegmentsFrom(from, async (segs) => {
      for (const seg of segs) {
        const found = await seg.findBatch(from);
        if (!found) continue; // `from` lies past this segment's last batch (or in a compaction gap)
        if (found.baseOffset >= hw) return;
        const first = batches.length === 0 && minOneBatch;
        let want = Math.min(maxBytes - bytes, seg.size - found.position);
        if (first) {
          const head = await seg.read(found.position, 12);
          want = Math.max(want, head.readInt32BE(8) + 12);
        }
        if (want < 61) return;
        const buf = await seg.read(found.position, want);
        let at = 0;
        let stop = false;
        while (at + 61 <= buf.length) {
          const len = buf.readInt32BE(at + 8) + 12;
          if (len < 61 || at + len > buf.length) {
            stop = true;
            break;
          }
          const base = Number(buf.readBigInt64BE(at));
          if (base >= hw) {
            stop = true;
            break;
          }
          if (bytes + len > maxBytes && !(minOneBatch && batches.length === 0)) {
            stop = true;
            break;
          }
          batches.push(buf.subarray(at, at + len));
          bytes += len;
          from = base + buf.readInt32BE(at + 23) + 1;
          at += len;
        }
        if (at > 0) seg.noteReadEnd(from, found.position + at);
        if (stop || bytes >= maxBytes || found.position + at < seg.size) return;
      }
    });
    return { batches, bytes };
  }

  /** The first acknowledged batch at or above the log start whose max timestamp is ≥ `timestamp`. */
  async findBatchByTimestamp(timestamp: number): Promise<Buffer | null> {
    const hw = this.highWatermark;
    const start = this.logStartOffset;
    return this.withSegmentsFrom(start, async (segs) => {
      for (const seg of segs) {
        if (seg.maxTimestamp < timestamp || seg.isEmpty) continue;
        const found = await seg.findBatch(Math.max(seg.timeLookup(timestamp), start));
        if (!found) continue;
        for await (const h of seg.headersFrom(found.position)) {
          if (h.baseOffset >= hw) return null;
          if (h.maxTimestamp >= timestamp && h.lastOffset >= start) return seg.read(h.position, h.bytes);
        }
      }
      return null;
    });
  }

  /** The first batch holding the largest timestamp of the acknowledged log, or null when empty. */
  async findMaxTimestampBatch(): Promise<Buffer | null> {
    const hw = this.highWatermark;
    return this.withSegmentsFrom(this.logStartOffset, async (segs) => {
      let best: LogSegment | null = null;
      for (const seg of segs) if (!seg.isEmpty && (best === null || seg.maxTimestamp > best.maxTimestamp)) best = seg;
      if (best === null || best.offsetOfMaxTimestamp >= hw) return null;
      const found = await best.findBatch(best.offsetOfMaxTimestamp);
      if (!found) return null;
      const head = await best.read(found.position, 12);
      return best.read(found.position, head.readInt32BE(8) + 12);
    });
  }

  // ---- log start, retention ------------------------------------------------------------------------

  /**
   * DeleteRecords: move the log start to `offset` (clamped to [log start, high watermark]) and delete
   * segments that lie wholly below it. When everything is below it, the active segment is rolled
   * first (at the new log start) so that it too can go, as Kafka does. `persist` records the new log
   * start durably (LogEngine's metadata) before it takes effect.
   */
  async deleteRecordsBefore(offset: number, persist: (logStartOffset: number) => Promise<void>): Promise<number> {
    return this.lock.run(async () => {
      const target = Math.min(Math.max(offset, this.logStartOffset), this.highWatermark);
      if (target === this.logStartOffset) return target;
      // Persisted before anything is deleted or served differently: records below it never come back.
      await persist(target);
      this.logStartOffset = target;
      const active = this.active;
      if (!active.isEmpty && active.lastOffset < target && this.queue.length === 0 && this.writtenOffset === target) {
        // Only so that the old active segment can go too: a failure (a full disk) is not DeleteRecords'.
        await this.roll(target).catch((err: Error) => this.ctx.warn(`${this.name}: could not roll at the new log start ${target}: ${err.message}`));
      }
      await this.deleteSegmentsWhile((_seg, next) => next.baseOffset <= this.logStartOffset);
      return this.logStartOffset;
    });
  }

  /** Kafka's retention: delete the oldest sealed segments while a rule says so; never the active one. */
  async applyRetention(policy: RetentionPolicy): Promise<number> {
    return this.lock.run(async () => {
      let size = this.sizeBytes;
      await this.deleteSegmentsWhile((seg, next) => {
        const belowStart = next.baseOffset <= this.logStartOffset;
        const tooOld = policy.retentionMs >= 0 && seg.maxTimestamp < policy.nowMs - policy.retentionMs;
        const tooBig = policy.retentionBytes >= 0 && size - seg.size >= policy.retentionBytes;
        if (!belowStart && !tooOld && !tooBig) return false;
        size -= seg.size;
        return true;
      });
      return this.logStartOffset;
    });
  }

  /** Delete a prefix of sealed segments; `rule(segment, nextSegment)` decides, oldest first. Under the lock. */
  private async deleteSegmentsWhile(rule: (seg: LogSegment, next: LogSegment) => boolean): Promise<void> {
    const segs = this.segments;
    let n = 0;
    while (n < segs.length - 1 && rule(segs[n]!, segs[n + 1]!)) n++;
    if (n === 0) return;
    const gone = segs.slice(0, n);
    this.segments = segs.slice(n);
    this.logStartOffset = Math.max(this.logStartOffset, this.segments[0]!.baseOffset);
    for (const s of gone) {
      this.sizeBytes -= s.size;
      await s.delete();
    }
  }

  /** LogCleaner: swap in a rewritten segment for `old` (same base offset). Under the lock. */
  replaceSegment(old: LogSegment, replacement: LogSegment | null): void {
    const i = this.segments.indexOf(old);
    if (i < 0) throw new Error(`${this.name}: segment ${old.baseOffset} is no longer in the log`);
    const next = [...this.segments];
    if (replacement) next[i] = replacement;
    else next.splice(i, 1);
    this.sizeBytes += (replacement?.size ?? 0) - old.size;
    this.segments = next;
  }

  // ---- life cycle --------------------------------------------------------------------------------

  /** Wait for queued writes, sync, write the active segment's indexes and close every file. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
    await this.lock.run(async () => {
      try {
        if (!this.failure) {
          await this.sync();
          // With the journal, "synced" meant the journal's sync: the journal's last checkpoint, at
          // close, counts on the segment itself being synced.
          if (this.journal !== null) await this.active.sync();
          await this.active.trim();
          await this.active.writeIndexes();
        }
      } finally {
        for (const s of this.segments) await s.close();
      }
    });
  }

  /** Tests only: what kill -9 leaves behind — close the files without syncing or writing indexes. */
  async abandon(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing.catch(() => {});
    for (const s of this.segments) await s.close();
  }

  /** For topic deletion: refuse further appends, let the queue drain, close files without syncing. */
  async closeForDelete(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing.catch(() => {});
    // Appends still waiting for an fsync will not get one: their topic is gone.
    const waiting = this.unacked;
    this.unacked = [];
    for (const w of waiting) w.reject(new StorageError(`${this.name}: the topic was deleted`));
    await this.lock.run(async () => {
      for (const s of this.segments) await s.close();
    });
  }
}

export { UNLIMITED };
