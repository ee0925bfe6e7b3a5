/**
 * One segment of a partition's log, Kafka's `LogSegment`: the file `<20-digit baseOffset>.log`
 * holding record batches exactly as stored (concatenated, nothing added), with its sparse offset
 * and time indexes (indexes.ts) kept in memory and written beside it when it is sealed.
 *
 * Reads are positional (`FileHandle.read` at a byte position found through the offset index and a
 * short walk over batch headers); a segment is never loaded whole. Appends go only to the active
 * (last) segment of a log and only from its PartitionLog's single writer.
 *
 * Callers: PartitionLog (append, read, roll, delete), LogLoader (open and recover), LogCleaner
 * (rewrite). A segment being read is pinned (`acquire`/`release`) so that deleting or replacing it
 * closes the file only after the last read finished.
 */
import { constants as fsConstants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '../../protocol/records/crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  batchBaseOffset,
  batchByteLength,
  batchLastOffset,
  batchMaxTimestamp,
} from '../../protocol/records/batch.js';
import { OffsetIndex, TimeIndex } from './indexes.js';
import {
  INDEX_SUFFIX,
  LOG_SUFFIX,
  TIME_INDEX_SUFFIX,
  readAt,
  removeFile,
  segmentFileName,
  writeFileAtomic,
  writevFully,
  type FaultHooks,
} from './files.js';
import { StorageError, isSystemError } from '../errors.js';

/** Bytes read at once when walking batch headers (finding an offset, loading, recovering). */
const SCAN_WINDOW_BYTES = 64 * 1024;
/** Bytes read at once when recovering a segment (every batch's CRC is checked). */
const RECOVERY_CHUNK_BYTES = 4 * 1024 * 1024;
/** Named limit: the largest batch recovery accepts; anything larger is treated as a torn length. */
export const MAX_STORED_BATCH_BYTES = 0x7fffffff;
/**
 * With `preallocate`, the active segment's file is kept zero-filled (and synced) ahead of its data:
 * an append then writes inside the file's length, and its fdatasync has no size change to commit,
 * only data (about half the time of one that grows the file on this project's machines). The tail
 * kept ahead starts at PREALLOCATE_FIRST_BYTES and doubles with each extension up to this many
 * bytes, so that a new segment's first append waits for a small zero-fill (one 128 KiB write and
 * sync), not for 8 MiB of zeros, while a partition written fast gets extensions rarely.
 */
export const PREALLOCATE_CHUNK_BYTES = 8 * 1024 * 1024;
/** The first zero-filled tail of a preallocated segment (see PREALLOCATE_CHUNK_BYTES). */
export const PREALLOCATE_FIRST_BYTES = 128 * 1024;
/** Zeros written at once while extending a preallocated file. */
const ZERO_FILL_BYTES = 1024 * 1024;

/**
 * Errors of a durable append's `writev` (O_DSYNC, see LogSegment.append) that refuse the write before
 * any of it needs syncing: the partition cuts the file back and keeps working, as after any failed
 * write. Every other error of a durable append may come from its sync and is a failed fsync.
 */
const WRITE_REFUSED_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);

/**
 * Whether this platform's node:fs has `O_DSYNC` (Linux and macOS do; Windows does not). Without it
 * the log engine keeps write-then-fdatasync (LogEngine's `dsyncAppends` default).
 */
export const O_DSYNC_AVAILABLE = typeof fsConstants.O_DSYNC === 'number' && fsConstants.O_DSYNC !== 0;

/**
 * A durable append (O_DSYNC) failed in its sync, or after the segment's last sync failed: the caller
 * treats it as a failed fsync (the partition goes offline). `cause` is the error itself.
 */
export class DurableWriteSyncError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
    this.name = 'DurableWriteSyncError';
  }
}

/** What an appended batch contributes to the segment's indexes and statistics. */
export interface StoredBatchInfo {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: number;
}

/** Result of a recovery scan. */
export interface RecoveryResult {
  /** Bytes removed from the end of the file (a torn or corrupt tail). */
  truncatedBytes: number;
  /** Why the scan stopped before the end of the file, if it did. */
  problem: string | null;
  /** Zero bytes removed after the last batch: a preallocated tail, not damage (not in truncatedBytes). */
  zeroTailBytes: number;
}

export class LogSegment {
  readonly file: string;
  /** Bytes in the file that hold whole batches (the next append's position). */
  size = 0;
  /** Last offset of the last batch, or baseOffset - 1 while the segment is empty. */
  lastOffset: number;
  /** Largest batch max timestamp, and the base offset of the first batch that has it. */
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** The first batch's max timestamp (Kafka's rolling-based timestamp for `segment.ms`), or null. */
  firstBatchTimestamp: number | null = null;
  /** Wall-clock time the segment was created or opened (fallback for segment.ms on an empty one). */
  readonly createdMs: number;
  private offsetIndex: OffsetIndex;
  private timeIndex: TimeIndex;
  private bytesSinceIndexEntry = 0;
  /** Where the last read of this segment ended: lets a consumer's next fetch skip the index walk. */
  private readHint: { offset: number; position: number } | null = null;
  private readers = 0;
  /** The file's length: `size` plus a zero-filled preallocated tail (see preallocate). */
  private allocated = 0;
  /** Bytes to keep preallocated ahead of the data now (doubling up to the most); 0: the file grows with each append. */
  private preallocateBytes = 0;
  /** The most `preallocateBytes` grows to. */
  private preallocateMost = 0;
  /** At most this long a file is preallocated (the segment's roll size). */
  private preallocateLimit = 0;
  /** An extension of the preallocated tail under way (zeros written, then synced). */
  private extending: Promise<void> | null = null;
  private extendFailure: Error | null = null;
  /** The extension's fdatasync while it runs (see sync: it may be the one told of a writeback error). */
  private extendSync: Promise<void> | null = null;
  /**
   * A failed fdatasync of the extension. Linux reports a writeback error to one fdatasync of the
   * open file only, so this one may have taken the error of appended data: every later sync fails.
   */
  private syncFailure: Error | null = null;
  /**
   * The active segment's second handle for durable appends, opened `O_WRONLY | O_DSYNC` on first use
   * (append with `durable`): one `writev` through it both writes and syncs the group — one trip
   * through libuv's pool instead of a write and then an fdatasync, and the kernel syncs only the
   * written range. Closed when the segment is sealed (trim) or closed.
   */
  private durableHandle: FileHandle | null = null;
  private closed = false;
  private closeWhenUnpinned = false;
  private deleteWhenClosed = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private handle: FileHandle,
    private readonly indexIntervalBytes: number,
    private readonly faults: FaultHooks | undefined,
    nowMs: number,
  ) {
    this.file = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    this.lastOffset = baseOffset - 1;
    this.offsetIndex = new OffsetIndex(baseOffset);
    this.timeIndex = new TimeIndex(baseOffset);
    this.createdMs = nowMs;
  }

  /** Create a new, empty segment file (truncating a leftover of the same name). */
  static async create(dir: string, baseOffset: number, indexIntervalBytes: number, nowMs: number, faults?: FaultHooks): Promise<LogSegment> {
    const file = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    const h = await open(file, 'w+');
    const seg = new LogSegment(dir, baseOffset, h, indexIntervalBytes, faults, nowMs);
    await removeFile(seg.indexFile);
    await removeFile(seg.timeIndexFile);
    return seg;
  }

  /**
   * Open an existing segment. With `trustIndexes` (a clean shutdown, or a sealed segment whose
   * indexes were written when it was rolled) the index files are used when they look sane and only
   * the stretch after the last index entry is walked; otherwise, or when they are missing or
   * malformed, the whole segment is recovered: every batch is validated and the indexes rebuilt.
   */
  static async open(
    dir: string,
    baseOffset: number,
    indexIntervalBytes: number,
    nowMs: number,
    trustIndexes: boolean,
    faults?: FaultHooks,
  ): Promise<{ segment: LogSegment; recovery: RecoveryResult | null }> {
    const file = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    const h = await open(file, 'r+');
    const seg = new LogSegment(dir, baseOffset, h, indexIntervalBytes, faults, nowMs);
    try {
      seg.size = (await h.stat()).size;
      seg.allocated = seg.size;
      if (trustIndexes && (await seg.loadIndexes())) return { segment: seg, recovery: null };
      return { segment: seg, recovery: await seg.recover() };
    } catch (err) {
      await h.close();
      throw err;
    }
  }

  get indexFile(): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, INDEX_SUFFIX));
  }

  get timeIndexFile(): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, TIME_INDEX_SUFFIX));
  }

  /** The next offset after this segment's last batch. */
  get nextOffset(): number {
    return this.lastOffset + 1;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  // ---- append (the partition's writer only) -----------------------------------------------------

  /**
   * Write whole batches at the end of the file with one positional write, then index them. On a
   * failed write nothing is indexed and the caller truncates the file back (`truncateTo`).
   */
  async append(buffers: Buffer[], infos: StoredBatchInfo[], durable = false): Promise<void> {
    let total = 0;
    for (const b of buffers) total += b.length;
    if (this.size + total > 0xffffffff) throw new RangeError(`segment ${this.file} would exceed 4 GiB`);
    // Never write where the zero-fill may still be writing: wait for it past the allocated length.
    if (this.extending !== null && this.size + total > this.allocated) await this.extending;
    this.faults?.beforeWrite?.(this.file, total);
    if (durable) await this.writeDurably(buffers);
    else await writevFully(this.handle, buffers, this.size);
    for (const info of infos) {
      this.indexBatch(info, this.size);
      this.size += info.bytes;
    }
    if (this.size > this.allocated) this.allocated = this.size;
    this.maybeExtend();
  }

  /**
   * `fsync: always` (PartitionLog): write the group through the O_DSYNC handle, so it is on disk when
   * the write returns. A refusal before anything needs syncing (WRITE_REFUSED_CODES, or the handle
   * could not be opened) is thrown as is: a failed write. Anything else — the sync failed, or an
   * earlier sync of this file did (syncFailure, see sync) — is a DurableWriteSyncError: a failed fsync.
   */
  private async writeDurably(buffers: Buffer[]): Promise<void> {
    if (this.syncFailure !== null) throw new DurableWriteSyncError(this.syncFailure);
    try {
      this.faults?.beforeSync?.(this.file);
    } catch (err) {
      throw new DurableWriteSyncError(err as Error);
    }
    // Never a handle that merely writes: without O_DSYNC, durable appends are not used (LogEngine).
    if (!O_DSYNC_AVAILABLE) throw new DurableWriteSyncError(new Error('O_DSYNC is not available on this platform'));
    this.durableHandle ??= await open(this.file, fsConstants.O_WRONLY | fsConstants.O_DSYNC);
    try {
      await writevFully(this.durableHandle, buffers, this.size);
    } catch (err) {
      if (isSystemError(err) && WRITE_REFUSED_CODES.has(err.code!)) throw err;
      throw new DurableWriteSyncError(err as Error);
    }
    const failure = await this.extensionSyncFailure();
    if (failure !== null) throw new DurableWriteSyncError(failure);
  }

  /**
   * After a sync of appended data: wait for an extension's fdatasync that ran beside it (it may be the
   * one the kernel told of a writeback error), then say whether any sync of the file failed.
   */
  private async extensionSyncFailure(): Promise<Error | null> {
    while (this.extendSync !== null) await this.extendSync.catch(() => {});
    return this.syncFailure;
  }

  /** Close the durable-append handle (the segment is sealed or closing); appends after this reopen it. */
  private async closeDurableHandle(): Promise<void> {
    const h = this.durableHandle;
    this.durableHandle = null;
    await h?.close();
  }

  /**
   * Keep `bytes` zero-filled ahead of the data from now on (up to `limit`, the segment's roll size):
   * Kafka's `preallocate`, done with written zeros rather than a sparse length so that the blocks
   * exist and a later fdatasync commits data only. The tail is cut at roll and close (`trim`) and
   * by recovery, which tells a zero tail from a torn one.
   */
  get preallocating(): boolean {
    return this.preallocateBytes > 0;
  }

  /** Keep up to `most` bytes zero-filled ahead (starting smaller, see PREALLOCATE_CHUNK_BYTES), never past `limit`. */
  preallocate(most: number, limit: number): void {
    this.preallocateMost = most;
    this.preallocateBytes = Math.min(PREALLOCATE_FIRST_BYTES, most);
    this.preallocateLimit = limit;
    this.maybeExtend();
  }

  /** Start extending the zero-filled tail in the background once less than half of it is left. */
  private maybeExtend(): void {
    if (this.preallocateBytes <= 0 || this.extending !== null || this.extendFailure !== null || this.closed) return;
    if (this.allocated - this.size >= this.preallocateBytes / 2) return;
    const from = this.allocated;
    const to = Math.min(this.size + this.preallocateBytes, Math.max(this.preallocateLimit, this.size));
    if (to <= from) return;
    // The next extension keeps twice as much ahead: a partition written fast extends rarely.
    this.preallocateBytes = Math.min(this.preallocateBytes * 2, this.preallocateMost);
    this.extending = (async () => {
      try {
        try {
          const zeros = Buffer.alloc(Math.min(ZERO_FILL_BYTES, to - from));
          for (let at = from; at < to; at += zeros.length) {
            const n = Math.min(zeros.length, to - at);
            this.faults?.beforeWrite?.(this.file, n);
            await writevFully(this.handle, [n === zeros.length ? zeros : zeros.subarray(0, n)], at);
          }
        } catch (err) {
          // Appends go on growing the file as without preallocation; the partial zeros are cut by trim.
          this.extendFailure = err as Error;
          return;
        }
        // The new length is metadata: fdatasync commits it (and the zeros), once per extension.
        this.extendSync = (async () => {
          this.faults?.beforeSync?.(this.file);
          await this.handle.datasync();
        })();
        try {
          await this.extendSync;
          this.allocated = Math.max(this.allocated, to);
        } catch (err) {
          this.extendFailure = err as Error;
          this.syncFailure ??= err as Error;
        } finally {
          this.extendSync = null;
        }
      } finally {
        this.extending = null;
      }
    })();
  }

  /**
   * Cut the preallocated zeros after the data and commit the new length (fsync: the size is
   * metadata). At roll and at close, so a sealed segment's file is exactly its batches.
   */
  async trim(): Promise<void> {
    this.preallocateBytes = 0;
    await this.closeDurableHandle();
    while (this.extending !== null) await this.extending;
    if (this.allocated === this.size && this.extendFailure === null) return;
    await this.handle.truncate(this.size);
    this.faults?.beforeSync?.(this.file);
    await this.handle.sync();
    this.allocated = this.size;
    this.extendFailure = null;
  }

  /** Account one batch that now lies at `position` (append, load and recovery share this). */
  private indexBatch(info: StoredBatchInfo, position: number): void {
    if (this.firstBatchTimestamp === null) this.firstBatchTimestamp = info.maxTimestamp;
    if (info.maxTimestamp > this.maxTimestamp || this.offsetOfMaxTimestamp < 0) {
      this.maxTimestamp = info.maxTimestamp;
      this.offsetOfMaxTimestamp = info.baseOffset;
    }
    if (this.bytesSinceIndexEntry >= this.indexIntervalBytes) {
      this.offsetIndex.append(info.baseOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += info.bytes;
    this.lastOffset = info.lastOffset;
  }

  /** Cut the file back to `bytes` after a failed write (the in-memory state never moved past it). */
  async truncateTo(bytes: number): Promise<void> {
    // A preallocated tail goes too (the failed write may lie in it); the next append extends it again.
    while (this.extending !== null) await this.extending;
    await this.handle.truncate(bytes);
    this.size = bytes;
    this.allocated = bytes;
  }

  /**
   * fdatasync the file. Also fails when the preallocation's own fdatasync failed, before or while
   * this one ran: the writeback error of appended data may have been reported to that one only.
   */
  async sync(): Promise<void> {
    if (this.syncFailure !== null) throw this.syncFailure;
    this.faults?.beforeSync?.(this.file);
    await this.handle.datasync();
    const failure = await this.extensionSyncFailure();
    if (failure !== null) throw failure;
  }

  /**
   * A journal checkpoint's sync (journal.ts): a segment closed meanwhile needs none — it was synced
   * when it was sealed or closed, or it was deleted.
   */
  async syncIfOpen(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
    } catch (err) {
      if (this.closed) return;
      throw err;
    }
  }

  /**
   * Write the indexes beside the segment (atomically, each one temp + fsync + rename): done when the
   * segment is sealed by a roll, at a clean shutdown and after compaction rewrote it. The time index
   * gets the exact (max timestamp, offset) last, as Kafka does when a segment becomes inactive.
   */
  async writeIndexes(): Promise<void> {
    if (this.offsetOfMaxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    await writeFileAtomic(this.indexFile, this.offsetIndex.encode(), this.faults);
    await writeFileAtomic(this.timeIndexFile, this.timeIndex.encode(), this.faults);
  }

  // ---- load and recovery -------------------------------------------------------------------------

  /** Use the index files; false when they are missing or malformed (the caller then recovers). */
  private async loadIndexes(): Promise<boolean> {
    let offsetData: Buffer;
    let timeData: Buffer;
    try {
      [offsetData, timeData] = await Promise.all([readWhole(this.indexFile), readWhole(this.timeIndexFile)]);
    } catch {
      return false;
    }
    const oi = OffsetIndex.decode(this.baseOffset, offsetData, this.size);
    const ti = TimeIndex.decode(this.baseOffset, timeData);
    if (!oi || !ti) return false;
    if (this.size > 0 && ti.entryCount === 0) return false;
    // Walk the stretch after the last index entry for the last offset (headers only, no CRC).
    const from = oi.lastPosition();
    let pos = from;
    let last = this.baseOffset - 1;
    let firstTs: number | null = null;
    let window: Buffer = Buffer.alloc(0);
    let windowStart = pos;
    while (pos < this.size) {
      if (pos + BATCH_HEADER_BYTES > windowStart + window.length) {
        windowStart = pos;
        window = await readAt(this.handle, pos, Math.min(SCAN_WINDOW_BYTES, this.size - pos));
        if (window.length < BATCH_HEADER_BYTES) return false;
      }
      const at = pos - windowStart;
      const len = batchByteLength(window, at);
      if (len < BATCH_HEADER_BYTES || pos + len > this.size) return false;
      if (pos === 0) firstTs = batchMaxTimestamp(window, at);
      last = batchLastOffset(window, at);
      pos += len;
    }
    if (this.size > 0 && from > 0) {
      const head = await readAt(this.handle, 0, BATCH_HEADER_BYTES);
      if (head.length === BATCH_HEADER_BYTES) firstTs = batchMaxTimestamp(head, 0);
    }
    if (this.size > 0 && last < this.baseOffset) return false;
    this.offsetIndex = oi;
    this.timeIndex = ti;
    this.lastOffset = this.size > 0 ? last : this.baseOffset - 1;
    this.maxTimestamp = this.size > 0 ? ti.lastTimestamp : -1;
    this.offsetOfMaxTimestamp = this.size > 0 ? ti.lastOffset : -1;
    this.firstBatchTimestamp = firstTs;
    this.bytesSinceIndexEntry = this.size - from;
    return true;
  }

  /**
   * Kafka's `LogSegment.recover`: read the whole file in large chunks, check every batch (length
   * within the file, magic 2, CRC-32C, offsets increasing from the segment's base), rebuild the
   * indexes, and truncate the file at the first batch that fails (a torn or corrupt tail).
   */
  async recover(): Promise<RecoveryResult> {
    this.offsetIndex = new OffsetIndex(this.baseOffset);
    this.timeIndex = new TimeIndex(this.baseOffset);
    this.bytesSinceIndexEntry = 0;
    this.lastOffset = this.baseOffset - 1;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.firstBatchTimestamp = null;
    this.readHint = null;
    const fileSize = this.size;
    this.size = 0;
    let problem: string | null = null;
    let pos = 0;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    while (pos < fileSize) {
      const avail = chunkStart + chunk.length - pos;
      if (avail < LOG_OVERHEAD || (avail >= LOG_OVERHEAD && avail < batchByteLength(chunk, pos - chunkStart))) {
        // Need the next batch whole in memory: read from `pos`, at least its declared length.
        let want = RECOVERY_CHUNK_BYTES;
        if (avail >= LOG_OVERHEAD) want = Math.max(want, batchByteLength(chunk, pos - chunkStart));
        want = Math.min(want, fileSize - pos);
        chunkStart = pos;
        chunk = await readAt(this.handle, pos, want);
      }
      const at = pos - chunkStart;
      const left = chunk.length - at;
      if (left < BATCH_HEADER_BYTES) {
        problem = `partial batch header at byte ${pos} (${left} bytes)`;
        break;
      }
      const len = batchByteLength(chunk, at);
      if (len < BATCH_HEADER_BYTES || len > MAX_STORED_BATCH_BYTES || len > left) {
        problem = len > left ? `partial batch at byte ${pos}` : `invalid batch size ${len} at byte ${pos}`;
        break;
      }
      if (chunk.readInt8(at + MAGIC_OFFSET) !== CURRENT_MAGIC) {
        problem = `magic ${chunk.readInt8(at + MAGIC_OFFSET)} at byte ${pos}`;
        break;
      }
      if ((crc32c(chunk.subarray(at + ATTRIBUTES_OFFSET, at + len)) >>> 0) !== chunk.readUInt32BE(at + CRC_OFFSET)) {
        problem = `CRC mismatch in batch at byte ${pos}`;
        break;
      }
      const base = batchBaseOffset(chunk, at);
      const last = batchLastOffset(chunk, at);
      // Offsets only grow; the bytes 0-7 (base offset) are outside the CRC, so check them here.
      if (base <= this.lastOffset || base < this.baseOffset || last < base) {
        problem = `batch at byte ${pos} has offsets ${base}-${last} after ${this.lastOffset}`;
        break;
      }
      this.indexBatch({ baseOffset: base, lastOffset: last, maxTimestamp: batchMaxTimestamp(chunk, at), bytes: len }, pos);
      pos += len;
      this.size = pos;
    }
    const cut = fileSize - this.size;
    if (cut === 0) return { truncatedBytes: 0, problem: null, zeroTailBytes: 0 };
    // Only zeros after the last whole batch: a preallocated tail (or one whose data never reached the
    // disk). Cut either way; only damage is reported as such.
    const zeroTail = await this.allZero(this.size, fileSize);
    await this.handle.truncate(this.size);
    this.allocated = this.size;
    return zeroTail ? { truncatedBytes: 0, problem: null, zeroTailBytes: cut } : { truncatedBytes: cut, problem, zeroTailBytes: 0 };
  }

  /** Whether bytes [from, to) of the file are all zero. */
  private async allZero(from: number, to: number): Promise<boolean> {
    const zeros = Buffer.alloc(Math.min(RECOVERY_CHUNK_BYTES, to - from));
    for (let at = from; at < to; at += RECOVERY_CHUNK_BYTES) {
      const chunk = await readAt(this.handle, at, Math.min(RECOVERY_CHUNK_BYTES, to - at));
      if (!chunk.equals(zeros.subarray(0, chunk.length))) return false;
    }
    return true;
  }

  // ---- reads ---------------------------------------------------------------------------------------

  acquire(): void {
    this.readers++;
  }

  release(): void {
    this.readers--;
    if (this.readers === 0 && this.closeWhenUnpinned) void this.closeNow();
  }

  /**
   * Position of the batch holding `offset`, or of the first batch after it; null when every batch
   * of the segment lies below `offset`.
   */
  async findBatch(offset: number): Promise<{ position: number; baseOffset: number; lastOffset: number } | null> {
    if (offset > this.lastOffset || this.size === 0) return null;
    let pos = this.offsetIndex.lookup(offset).position;
    // A consumer reading on from where its last fetch ended skips the index walk.
    const hint = this.readHint;
    if (hint && hint.offset <= offset && hint.position > pos && hint.position < this.size) pos = hint.position;
    for await (const h of this.headersFrom(pos)) {
      if (h.lastOffset >= offset) return { position: h.position, baseOffset: h.baseOffset, lastOffset: h.lastOffset };
    }
    return null;
  }

  /** Read bytes [position, position + length) (clamped to the segment). */
  async read(position: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.size - position));
    return n === 0 ? Buffer.alloc(0) : readAt(this.handle, position, n);
  }

  /** Remember where a read ended (the next batch), so the next sequential read starts there. */
  noteReadEnd(nextOffset: number, position: number): void {
    this.readHint = { offset: nextOffset, position };
  }

  /** Where a search for the first batch with max timestamp ≥ `timestamp` may start. */
  timeLookup(timestamp: number): number {
    return this.timeIndex.lookup(timestamp);
  }

  /** Headers of every batch from `position` on, in order, read in windows (for time lookups, cleaning). */
  async *headersFrom(position: number): AsyncGenerator<{ position: number; baseOffset: number; lastOffset: number; maxTimestamp: number; bytes: number }> {
    let pos = position;
    let window: Buffer = Buffer.alloc(0);
    let windowStart = pos;
    while (pos < this.size) {
      if (pos + BATCH_HEADER_BYTES > windowStart + window.length) {
        windowStart = pos;
        window = await readAt(this.handle, pos, Math.min(SCAN_WINDOW_BYTES, this.size - pos));
        if (window.length < BATCH_HEADER_BYTES) throw new StorageError(`${this.file}: short read at ${pos}`);
      }
      const at = pos - windowStart;
      const bytes = batchByteLength(window, at);
      if (bytes < BATCH_HEADER_BYTES) throw new StorageError(`${this.file}: invalid batch length ${bytes} at ${pos}`);
      yield { position: pos, baseOffset: batchBaseOffset(window, at), lastOffset: batchLastOffset(window, at), maxTimestamp: batchMaxTimestamp(window, at), bytes };
      pos += bytes;
    }
  }

  /** Every whole batch from `position` on, read in large chunks (compaction reads segments this way). */
  async *batchesFrom(position: number): AsyncGenerator<Buffer> {
    let pos = position;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = pos;
    while (pos < this.size) {
      let at = pos - chunkStart;
      if (chunk.length - at < LOG_OVERHEAD || chunk.length - at < batchByteLength(chunk, at)) {
        const need = chunk.length - at >= LOG_OVERHEAD ? batchByteLength(chunk, at) : 0;
        chunkStart = pos;
        chunk = await readAt(this.handle, pos, Math.min(Math.max(RECOVERY_CHUNK_BYTES, need), this.size - pos));
        at = 0;
      }
      if (chunk.length - at < BATCH_HEADER_BYTES) throw new StorageError(`${this.file}: short read at ${pos}`);
      const len = batchByteLength(chunk, at);
      if (len < BATCH_HEADER_BYTES || at + len > chunk.length) throw new StorageError(`${this.file}: invalid batch length ${len} at ${pos}`);
      yield chunk.subarray(at, at + len);
      pos += len;
    }
  }

  // ---- life cycle ----------------------------------------------------------------------------------

  /** Close the file now, or once the last pinned read releases it. */
  close(): Promise<void> {
    if (this.readers > 0) {
      this.closeWhenUnpinned = true;
      return Promise.resolve();
    }
    return this.closeNow();
  }

  private async closeNow(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeDurableHandle();
    await this.handle.close();
    if (this.deleteWhenClosed) await this.removeFiles();
  }

  /**
   * Remove the segment's files. The `.log` is unlinked at once (a pinned reader keeps reading the
   * unlinked file through its open handle, as on any POSIX system) and the handle closed when free.
   */
  async delete(): Promise<void> {
    await this.removeFiles();
    await this.close();
  }

  async removeFiles(): Promise<void> {
    await removeFile(this.file);
    await removeFile(this.indexFile);
    await removeFile(this.timeIndexFile);
  }

  /** Only for LogCleaner: after the cleaned file was renamed over ours, read from the new file. */
  static async reopenAfterSwap(old: LogSegment, nowMs: number): Promise<LogSegment> {
    const { segment } = await LogSegment.open(old.dir, old.baseOffset, old.indexIntervalBytes, nowMs, false, old.faults);
    return segment;
  }
}

async function readWhole(file: string): Promise<Buffer> {
  const s = await stat(file);
  const h = await open(file, 'r');
  try {
    return await readAt(h, 0, s.size);
  } finally {
    await h.close();
  }
}
