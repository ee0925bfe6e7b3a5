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
 *  transactions (`abortedTransactions`) are left out of the offset map and removed; COMMIT/ABORT
 *  markers (control batches) are always kept — Kafka removes a marker once its transaction's data
 *  is gone and delete.retention.ms has passed; Rafka keeps it (one small batch per transaction and
 *  partition), which read_committed consumers handle the same way.
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
import { decodeBatch, encodeBatch, type DecodedRecord } from '../../protocol/records/record.js';
import type { CompressionType } from '../../protocol/records/compression.js';
import { CLEANED_SUFFIX, fsyncDir, removeFile, writevFully } from './files.js';
import { LogSegment } from './log-segment.js';
import type { LogContext, PartitionLog } from './partition-log.js';
import type { AbortedRange, CompactOptions, CompactResult } from '../engine.js';
import { MAX_CLEANER_KEYS, MAX_DECOMPRESSED_BATCH_BYTES } from '../../base/limits.js';

export { MAX_CLEANER_KEYS };
/** Bytes buffered before the cleaner writes to the cleaned file. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

type AbortedLookup = (h: BatchHeader) => boolean;

/** Whether a (non-control) batch belongs to one of the aborted transactions. */
function abortedLookup(list: readonly AbortedRange[]): AbortedLookup {
  if (list.length === 0) return () => false;
  const byProducer = new Map<number, AbortedRange[]>();
  for (const a of list) {
    let l = byProducer.get(a.producerId);
    if (!l) byProducer.set(a.producerId, (l = []));
    l.push(a);
  }
  return (h) => h.isTransactional && (byProducer.get(h.producerId)?.some((a) => a.firstOffset <= h.baseOffset && h.baseOffset < a.lastOffset) ?? false);
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
    const result: CleanResult = { segmentsCleaned: 0, recordsRemoved: 0, tombstonesRemoved: 0, bytesBefore: 0, bytesAfter: 0, skipped: null };
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
    const aborted = abortedLookup(o.abortedTransactions ?? []);
    const last = cleanable[cleanable.length - 1]!;
    const end = segs[segs.indexOf(last) + 1]!.baseOffset;
    const before = this.progress.get(log);
    if (before && end <= before.cleanedTo && o.nowMs < before.nextHorizonMs) return { ...result, skipped: 'nothing new to clean' };

    for (const s of cleanable) s.acquire();
    try {
      const { map, segments } = await this.buildOffsetMap(cleanable, o.maxKeys ?? MAX_CLEANER_KEYS, aborted);
      let nextHorizonMs = Infinity;
      for (const seg of segments) {
        if (this.stopped) break;
        const rewritten = await this.rewrite(seg, map, o, result, aborted);
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
      this.progress.set(log, { cleanedTo: coveredEnd, nextHorizonMs });
    } finally {
      for (const s of cleanable) s.release();
    }
    return result;
  }

  /** Latest offset of every key, segment by segment, until `maxKeys` is reached (at a segment's end). */
  private async buildOffsetMap(segments: LogSegment[], maxKeys: number, aborted: AbortedLookup): Promise<{ map: Map<string, number>; segments: LogSegment[] }> {
    const map = new Map<string, number>();
    const covered: LogSegment[] = [];
    for (const seg of segments) {
      for await (const bytes of seg.batchesFrom(0)) {
        const h = readBatchHeader(bytes);
        if (h.isControl || aborted(h)) continue;
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
    aborted: AbortedLookup,
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
          await emit(batch);
          continue;
        }
        if (aborted(header)) {
          // Data of an aborted transaction: no consumer may ever see it (Kafka's cleaner discards it).
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
