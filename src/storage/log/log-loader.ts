/**
 * Opens one partition directory and hands back its PartitionLog: Kafka's `LogLoader`.
 *
 * - Leftovers of interrupted work are removed first: `*.cleaned` (a compaction that did not finish
 *   its swap), `*.tmp` (an index being replaced), index files without their `.log`.
 * - After a clean shutdown every segment's index files are trusted (sanity-checked, rebuilt if
 *   missing or malformed), so opening costs a few small reads per segment.
 * - After an unclean shutdown the tail (active) segment is recovered: every batch is checked (length,
 *   magic, CRC-32C, increasing offsets), the file is cut at the first bad byte (a torn write), and its
 *   indexes are rebuilt. Sealed segments were synced and their indexes written when they were rolled,
 *   so they are opened as after a clean shutdown.
 * - Offsets continue from the last valid batch, so nothing is given out twice and nothing skipped.
 * - Producer-state snapshots (`<offset>.snapshot`) are listed, not read: the broker decides which to
 *   load (one above the recovered log end is ignored there and replaced by the next one written).
 *
 * Callers: LogEngine.open (one call per partition).
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  CLEANED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  SNAPSHOT_SUFFIX,
  TIME_INDEX_SUFFIX,
  TMP_SUFFIX,
  fsyncDir,
  parseSegmentFileName,
  removeFile,
} from './files.js';
import { LogSegment } from './log-segment.js';
import { PartitionLog, type LogConfig, type LogContext } from './partition-log.js';

export interface LoadOptions {
  dir: string;
  name: string;
  /** The previous run ended with a clean shutdown (its marker was present). */
  cleanShutdown: boolean;
  /** The log start offset persisted by DeleteRecords (0 when never moved). */
  logStartOffset: number;
  config: LogConfig;
  ctx: LogContext;
}

export interface LoadReport {
  log: PartitionLog;
  /** Bytes cut from a torn tail, and why. */
  truncatedBytes: number;
  problem: string | null;
  segmentsRecovered: number;
}

export class LogLoader {
  static async load(o: LoadOptions): Promise<LoadReport> {
    await mkdir(o.dir, { recursive: true });
    const names = await readdir(o.dir);
    const logs = new Set<number>();
    const snapshots: number[] = [];
    for (const n of names) {
      const base = parseSegmentFileName(n, LOG_SUFFIX);
      if (base !== null) logs.add(base);
      const at = parseSegmentFileName(n, SNAPSHOT_SUFFIX);
      if (at !== null) snapshots.push(at);
    }
    for (const n of names) {
      const stale =
        n.endsWith(CLEANED_SUFFIX) ||
        n.endsWith(TMP_SUFFIX) ||
        ((n.endsWith(INDEX_SUFFIX) || n.endsWith(TIME_INDEX_SUFFIX)) &&
          !logs.has(parseSegmentFileName(n, n.endsWith(INDEX_SUFFIX) ? INDEX_SUFFIX : TIME_INDEX_SUFFIX) ?? -1));
      if (stale) await removeFile(path.join(o.dir, n));
    }
    const bases = [...logs].sort((a, b) => a - b);
    const now = o.ctx.now();
    const interval = o.config.indexIntervalBytes;
    const segments: LogSegment[] = [];
    let truncatedBytes = 0;
    let problem: string | null = null;
    let segmentsRecovered = 0;
    try {
      for (let i = 0; i < bases.length; i++) {
        const tail = i === bases.length - 1;
        const { segment, recovery } = await LogSegment.open(o.dir, bases[i]!, interval, now, o.cleanShutdown || !tail, o.ctx.faults);
        segments.push(segment);
        if (recovery) {
          segmentsRecovered++;
          if (recovery.truncatedBytes > 0) {
            truncatedBytes += recovery.truncatedBytes;
            problem = recovery.problem;
            o.ctx.warn(`${o.name}: recovery cut ${recovery.truncatedBytes} bytes from ${segment.file}: ${recovery.problem}`);
          }
        }
      }
      if (segments.length === 0) {
        segments.push(await LogSegment.create(o.dir, o.logStartOffset, interval, now, o.ctx.faults));
        await fsyncDir(o.dir);
      }
      // DeleteRecords moved the log start past everything that survived: start afresh there.
      const last = segments[segments.length - 1]!;
      const end = last.isEmpty ? last.baseOffset : last.nextOffset;
      if (o.logStartOffset > end) {
        for (const s of segments) await s.delete();
        segments.length = 0;
        segments.push(await LogSegment.create(o.dir, o.logStartOffset, interval, now, o.ctx.faults));
        await fsyncDir(o.dir);
      }
    } catch (err) {
      for (const s of segments) await s.close().catch(() => {});
      throw err;
    }
    const log = new PartitionLog(o.dir, o.name, segments, o.logStartOffset, o.config, o.ctx);
    log.snapshots.items = snapshots.sort((a, b) => a - b).map((offset) => ({ offset, data: null }));
    return { log, truncatedBytes, problem, segmentsRecovered };
  }
}
