/**
 * Log compaction (`cleanup.policy=compact`), Kafka's `LogCleaner` in miniature: keep the latest
 * record of every key in the sealed segments, drop tombstones once their delete horizon passed, and
 * never change an offset.
 *
 * One pass over a partition:
 *  1. Cleanable segments: the sealed ones (never the active segment) from the oldest on, while their
 *     newest timestamp is at least `min.compaction.lag.ms` old.
 *  2. Offset map: key → offset of its latest record in those segments (bounded by `maxKeys`; when
 *     full, the pass stops at the end of the segment that filled it).
 *  3. Each segment is rewritten to `<base>.log.cleaned`: a batch whose records all stay is copied
 *     byte for byte; otherwise it is re-encoded with the same base offset, last offset delta,
 *     producer fields, compression and timestamp type (offsets of kept records are unchanged), and
 *     a batch left with no records is dropped. Records without a key are dropped, as Kafka does.
 *  Transactions (Kafka's cleaner rules): only segments wholly below `firstUncleanableOffset` (the
 *  last stable offset) are cleanable, so every transaction in them has ended; records of aborted
 *  transactions (`abortedTransactions`) are left out of the offset map and removed. COMMIT/ABORT
 *  markers (control batches) follow Kafka's CleanedTransactionMetadata: a pass that traverses no
 *  batch of the marker's transaction (its data all removed by earlier passes: aborted data always,
 *  committed data once superseded) finds the marker removable. For an ABORT marker that is also the
 *  moment its aborted-transactions index entry goes (`abortedTransactionsEmptied`; the broker drops
 *  it): with no data left nothing is to be filtered, and an entry must never outlive its marker, or
 *  a read_committed consumer (Java's CompletedFetch) would skip the producer's later committed
 *  batches. A removable marker is kept until a delete horizon (now + `delete.retention.ms`, stamped
 *  on its batch as for tombstones below) passes, so a consumer part-way through the transaction
 *  within delete.retention.ms still sees it; the pass after the horizon removes it.
 *  4. Tombstones (null value) follow KIP-534: the first pass that keeps one stamps its batch with a
 *     delete horizon (now + `delete.retention.ms`, in the base timestamp, attribute bit 6); a pass
 *     after the horizon removes it. Consumers that read the partition within delete.retention.ms of
 *     the tombstone being compacted therefore still see it.
 *  5. Swap, under the partition's lock: the old indexes are removed, the cleaned file is fsynced and
 *     renamed over the segment (atomic), the directory fsynced, indexes rebuilt and written. A crash
 *     at any point leaves either the old or the new segment, and missing indexes are rebuilt at open.
 *     A segment left empty is deleted, except the first (its base offset is the log start).
 *
 * Reading runs outside the lock (sealed segments do not change); producers are never blocked by it.
 *
 * Callers: LogEngine.compact (the broker's maintenance loop, tests with a controlled clock).
 */
import { open, rename } from 'node:fs/promises';
import { readBatchHeader, TimestampType, type BatchHeader } from '../../protocol/records/batch.js';
import { ControlRecordType, decodeBatch, encodeBatch, type DecodedRecord } from '../../protocol/records/record.js';
import type { CompressionType } from '../../protocol/records/compression.js';
import { CLEANED_SUFFIX, fsyncDir, removeFile, writevFully } from './files.js';
import { LogSegment } from './log-segment.js';
import type { LogContext, PartitionLog } from './partition-log.js';
import type { AbortedRange, CompactOptions, CompactResult } from '../engine.js';
import { MAX_CLEANER_KEYS, MAX_DECOMPRESSED_BATCH_BYTES } from '../../base/limits.js';

export { MAX_CLEANER_KEYS };
/** Bytes buffered before the cleaner writes to the cleaned file. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/**
 * Kafka's CleanedTransactionMetadata, for one pass over the cleanable segments in offset order: which
 * transactions still have data in the log when their marker is reached.
 */
class TransactionTraversal {
  /** Producers with a committed (not aborted) transactional batch since their last marker: whether any stays. */
  private readonly committed = new Map<number, boolean>();
  /** Aborted transactions with a data batch seen in this pass (they are removed by it). */
  private readonly abortedSeen = new Set<AbortedRange>();
  /** Aborted transactions whose marker this pass found with no data left. */
  readonly emptied: AbortedRange[] = [];
  /** A marker was kept only because its data was removed by this pass: the next pass can go further. */
  passAgain = false;

  /** The aborted transactions by producer. */
  private readonly aborted = new Map<number, AbortedRange[]>();

  constructor(aborted: readonly AbortedRange[]) {
    for (const a of aborted) {
      let l = this.aborted.get(a.producerId);
      if (!l) this.aborted.set(a.producerId, (l = []));
      l.push(a);
    }
  }

  /** Which aborted transaction a (data) batch belongs to, if any. */
  abortedOf(h: BatchHeader): AbortedRange | undefined {
    if (!h.isTransactional) return undefined;
    return this.aborted.get(h.producerId)?.find((a) => a.firstOffset <= h.baseOffset && h.baseOffset < a.lastOffset);
  }

  onAbortedBatch(a: AbortedRange): void {
    this.abortedSeen.add(a);
  }

  /** A committed transactional batch, `kept` when any of its records stays after this pass. */
  onCommittedBatch(h: BatchHeader, kept: boolean): void {
    if (!h.isTransactional) return;
    this.committed.set(h.producerId, (this.committed.get(h.producerId) ?? false) || kept);
  }

  /** Whether the marker's transaction has no data left in the log (the marker may go after its horizon). */
  onMarker(h: BatchHeader, commit: boolean): boolean {
    if (commit) {
      const kept = this.committed.get(h.producerId);
      this.committed.delete(h.producerId);
      if (kept === undefined) return true;
      if (!kept) this.passAgain = true;
      return false;
    }
    this.committed.delete(h.producerId);
    const a = this.aborted.get(h.producerId)?.find((x) => x.lastOffset === h.baseOffset);
    if (a && this.abortedSeen.has(a)) {
      this.passAgain = true;
      return false;
    }
    if (a) this.emptied.push(a);
    return true;
  }
}

/** The engine interface's compaction options and result (storage/engine.ts), as the cleaner names them. */
export type CleanOptions = CompactOptions;
export type CleanResult = CompactResult;

interface CleanerProgress {
  /** Base offset of the first segment not covered by the last pass. */
  cleanedTo: number;
  /** Earliest delete horizon of a tombstone kept by the last pass (Infinity if none). */
  nextHorizonMs: number;
}

export class LogCleaner {
  private readonly progress = new WeakMap<PartitionLog, CleanerProgress>();
  private readonly running = new Map<PartitionLog, Promise<CleanResult>>();
  private stopped = false;

  constructor(private readonly ctx: LogContext) {}

  /** Clean one partition; a call while one runs for the same partition waits for it instead. */
  clean(log: PartitionLog, options: CleanOptions): Promise<CleanResult> {
    const current = this.running.get(log);
    if (current) return current;
    const run = this.cleanOnce(log, options).finally(() => this.running.delete(log));
    this.running.set(log, run);
    return run;
  }

  /** Let running passes finish; later calls do nothing. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running.values()]);
  }

  private async cleanOnce(log: PartitionLog, o: CleanOptions): Promise<CleanResult> {
    const result: CleanResult = { segmentsCleaned: 0, recordsRemoved: 0, tombstonesRemoved: 0, markersRemoved: 0, abortedTransactionsEmptied: [], bytesBefore: 0, bytesAfter: 0, skipped: null };
    if (this.stopped) return { ...result, skipped: 'the engine is closing' };
    const segs = log.segments;
    const cleanable: LogSegment[] = [];
    const uncleanable = o.firstUncleanableOffset ?? Infinity;
    for (let i = 0; i < segs.length - 1; i++) {
      const seg = segs[i]!;
      if (seg.maxTimestamp > o.nowMs - o.minCompactionLagMs) break;
      if (segs[i + 1]!.baseOffset > uncleanable) break; // holds offsets of an open transaction
      cleanable.push(seg);
    }
    if (cleanable.length === 0) return { ...result, skipped: 'no sealed segment is old enough to clean, or below the last stable offset' };
    const txns = new TransactionTraversal(o.abortedTransactions ?? []);
    const last = cleanable[cleanable.length - 1]!;
    const end = segs[segs.indexOf(last) + 1]!.baseOffset;
    const before = this.progress.get(log);
    if (before && end <= before.cleanedTo && o.nowMs < before.nextHorizonMs) return { ...result, skipped: 'nothing new to clean' };

    for (const s of cleanable) s.acquire();
    try {
      const { map, segments } = await this.buildOffsetMap(cleanable, o.maxKeys ?? MAX_CLEANER_KEYS, txns);
      let nextHorizonMs = Infinity;
      for (const seg of segments) {
        if (this.stopped) break;
        const rewritten = await this.rewrite(seg, map, o, result, txns);
        nextHorizonMs = Math.min(nextHorizonMs, rewritten.minHorizonMs);
        result.bytesBefore += seg.size;
        result.bytesAfter += rewritten.bytes;
        if (!rewritten.changed) {
          await removeFile(rewritten.file);
          continue;
        }
        await this.swap(log, seg, rewritten.file, rewritten.bytes, o.nowMs);
        result.segmentsCleaned++;
      }
      const covered = segments[segments.length - 1]!;
      const coveredEnd = segs[segs.indexOf(covered) + 1]!.baseOffset;
      // A marker kept only for data this pass removed becomes removable on the next pass.
      if (txns.passAgain) nextHorizonMs = Math.min(nextHorizonMs, o.nowMs);
      this.progress.set(log, { cleanedTo: coveredEnd, nextHorizonMs });
      result.abortedTransactionsEmptied = txns.emptied;
    } finally {
      for (const s of cleanable) s.release();
    }
    return result;
  }

  /** Latest offset of every key, segment by segment, until `maxKeys` is reached (at a segment's end). */
  private async buildOffsetMap(segments: LogSegment[], maxKeys: number, txns: TransactionTraversal): Promise<{ map: Map<string, number>; segments: LogSegment[] }> {
    const map = new Map<string, number>();
    const covered: LogSegment[] = [];
    for (const seg of segments) {
      for await (const bytes of seg.batchesFrom(0)) {
        const h = readBatchHeader(bytes);
        if (h.isControl || txns.abortedOf(h)) continue;
        const { records } = await decodeBatch(bytes, { maxDecompressedBytes: MAX_DECOMPRESSED_BATCH_BYTES, verifyCrc: false });
        for (const r of records) if (r.key !== null) map.set(r.key.toString('latin1'), r.offset);
      }
      covered.push(seg);
      if (map.size >= maxKeys) break;
    }
    return { map, segments: covered };
  }

  /** Write the cleaned copy of `seg`; reports whether anything changed. */
  private async rewrite(
    seg: LogSegment,
    map: Map<string, number>,
    o: CleanOptions,
    result: CleanResult,
    txns: TransactionTraversal,
  ): Promise<{ file: string; bytes: number; changed: boolean; minHorizonMs: number }> {
    const file = seg.file + CLEANED_SUFFIX;
    const h = await open(file, 'w');
    let bytes = 0;
    let changed = false;
    let minHorizonMs = Infinity;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      this.ctx.faults?.beforeWrite?.(file, pendingBytes);
      await writevFully(h, pending, bytes);
      bytes += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };
    const emit = async (b: Buffer) => {
      pending.push(b);
      pendingBytes += b.length;
      if (pendingBytes >= WRITE_BUFFER_BYTES) await flush();
    };
    try {
      for await (const batch of seg.batchesFrom(0)) {
        const header = readBatchHeader(batch);
        if (header.isControl) {
          const marker = await this.cleanMarker(batch, header, o, txns);
          if (marker.horizonMs !== null) minHorizonMs = Math.min(minHorizonMs, marker.horizonMs);
          if (marker.out === batch) {
            await emit(batch);
            continue;
          }
          changed = true;
          if (marker.out === null) result.markersRemoved++;
          else await emit(marker.out);
          continue;
        }
        const abortedTxn = txns.abortedOf(header);
        if (abortedTxn) {
          // Data of an aborted transaction: no consumer may ever see it (Kafka's cleaner discards it).
          txns.onAbortedBatch(abortedTxn);
          result.recordsRemoved += header.recordCount;
          changed = true;
          continue;
        }
        const { records } = await decodeBatch(batch, { maxDecompressedBytes: MAX_DECOMPRESSED_BATCH_BYTES, verifyCrc: false });
        const horizon = header.hasDeleteHorizon ? header.baseTimestamp : null;
        const kept: DecodedRecord[] = [];
        let keptTombstone = false;
        for (const r of records) {
          if (r.key === null || map.get(r.key.toString('latin1'))! > r.offset) {
            result.recordsRemoved++;
            continue;
          }
          if (r.value === null) {
            if (horizon !== null && o.nowMs >= horizon) {
              result.tombstonesRemoved++;
              result.recordsRemoved++;
              continue;
            }
            keptTombstone = true;
          }
          kept.push(r);
        }
        txns.onCommittedBatch(header, kept.length > 0);
        const newHorizon = keptTombstone ? (horizon ?? o.nowMs + o.deleteRetentionMs) : null;
        if (newHorizon !== null) minHorizonMs = Math.min(minHorizonMs, newHorizon);
        if (kept.length === records.length && newHorizon === horizon) {
          await emit(batch);
          continue;
        }
        changed = true;
        if (kept.length === 0) continue;
        await emit(
          await encodeBatch({
            records: kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offsetDelta, attributes: r.attributes })),
            baseOffset: header.baseOffset,
            compression: header.compression as CompressionType,
            timestampType: header.timestampType,
            isTransactional: header.isTransactional,
            partitionLeaderEpoch: header.partitionLeaderEpoch,
            producerId: header.producerId,
            producerEpoch: header.producerEpoch,
            baseSequence: header.baseSequence,
            lastOffsetDelta: header.lastOffsetDelta,
            ...(newHorizon !== null ? { deleteHorizonMs: newHorizon } : {}),
            ...(header.timestampType === TimestampType.logAppendTime ? { maxTimestamp: header.maxTimestamp } : {}),
            now: o.nowMs,
          }),
        );
      }
      await flush();
      this.ctx.faults?.beforeSync?.(file);
      await h.datasync();
    } catch (err) {
      await h.close();
      await removeFile(file);
      throw err;
    }
    await h.close();
    return { file, bytes, changed, minHorizonMs };
  }

  /**
   * What becomes of a control batch: itself (kept as it is), a copy stamped with a delete horizon (its
   * transaction has no data left: removable once the horizon passes), or null (removed). Control
   * batches other than COMMIT/ABORT are kept.
   */
  private async cleanMarker(batch: Buffer, h: BatchHeader, o: CleanOptions, txns: TransactionTraversal): Promise<{ out: Buffer | null; horizonMs: number | null }> {
    const { records } = await decodeBatch(batch, { maxDecompressedBytes: MAX_DECOMPRESSED_BATCH_BYTES, verifyCrc: false });
    const type = records[0]?.control?.type;
    if (records.length === 0) return { out: null, horizonMs: null }; // an empty control batch: nothing to keep (Kafka)
    if (type !== ControlRecordType.commit && type !== ControlRecordType.abort) return { out: batch, horizonMs: null };
    if (!txns.onMarker(h, type === ControlRecordType.commit)) return { out: batch, horizonMs: null };
    if (h.hasDeleteHorizon) {
      if (o.nowMs >= h.baseTimestamp) return { out: null, horizonMs: null };
      return { out: batch, horizonMs: h.baseTimestamp };
    }
    const horizonMs = o.nowMs + o.deleteRetentionMs;
    const out = await encodeBatch({
      records: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offsetDelta, attributes: r.attributes })),
      baseOffset: h.baseOffset,
      compression: h.compression as CompressionType,
      timestampType: h.timestampType,
      isTransactional: h.isTransactional,
      isControl: true,
      partitionLeaderEpoch: h.partitionLeaderEpoch,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      lastOffsetDelta: h.lastOffsetDelta,
      deleteHorizonMs: horizonMs,
      now: o.nowMs,
    });
    return { out, horizonMs };
  }

  /** Put the cleaned file in place of `seg` (see step 5 above). */
  private async swap(log: PartitionLog, seg: LogSegment, cleaned: string, bytes: number, nowMs: number): Promise<void> {
    await log.lock.run(async () => {
      if (!log.segments.includes(seg)) {
        await removeFile(cleaned); // retention deleted it meanwhile
        return;
      }
      // Indexes first: from here until new ones are written, a crash leaves none, so open rebuilds them.
      await removeFile(seg.indexFile);
      await removeFile(seg.timeIndexFile);
      if (bytes === 0 && log.segments[0] !== seg) {
        await removeFile(cleaned);
        await removeFile(seg.file);
        await fsyncDir(seg.dir);
        log.replaceSegment(seg, null);
        await seg.close();
        return;
      }
      await rename(cleaned, seg.file);
      await fsyncDir(seg.dir);
      const fresh = await LogSegment.reopenAfterSwap(seg, nowMs);
      await fresh.writeIndexes();
      log.replaceSegment(seg, fresh);
      await seg.close(); // the old file stays readable to pinned readers until they finish
    });
  }
}
