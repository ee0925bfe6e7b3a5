/**
 * The shared journal of the log engine (issue 22, item 2: one sync for many partitions), behind the
 * switch `storage.journal` (docs/storage.md, "The shared journal").
 *
 * With `fsync: always` and no journal, every partition's segment gets its own fdatasync. With the
 * journal, a partition writes its batches to its segment file (page cache only) and hands the same
 * bytes to the journal; one writer gathers everything handed over while the previous journal write
 * was in flight, across all partitions, into one positional writev and one fdatasync, and the appends
 * resolve when that sync is done. The segments are synced later, in bulk, by checkpoints.
 *
 * Files (in `<data>/journal/`):
 *
 *   journal-<i>.wal   a ring of JOURNAL_FILES files of `fileBytes` each, reused in turn (PostgreSQL
 *                     recycles WAL segments the same way): after the first lap every write overwrites
 *                     blocks that exist, so its fdatasync commits data only, no size change
 *   checkpoint        where replay starts: written temp + fsync + rename + directory fsync
 *
 * The journal has one linear address space: address A lies in file floor(A / fileBytes) mod files at
 * position A mod fileBytes. An entry never straddles two files; one that does not fit in the rest of
 * a file goes to the start of the next one.
 *
 * Entry (big-endian):
 *
 *   0   crc u32          CRC-32C of bytes 4 .. end (the header after it and the data)
 *   4   length u32       the whole entry, header included
 *   8   generation i64   the journal's generation (a new one each time the journal is reset)
 *   16  lsn i64          0, 1, 2, … within a generation
 *   24  segment i64      base offset of the segment the data belongs to
 *   32  position i64     byte position of the data in that segment
 *   40  partition u32
 *   44  idLength u16     then the topic id (UTF-8), then the data: whole record batches, exactly as
 *                        written to the segment
 *
 * A recycled file still holds entries of earlier laps and generations. Replay starts at the checkpoint
 * and stops at the first entry that is not the next one expected — wrong generation, wrong LSN, bad
 * CRC, a length that does not fit — after trying the start of the next file once (the writer moves
 * there when an entry does not fit): a torn tail or a stale entry ends it. Nothing after such an entry
 * was acknowledged, since an append resolves only once a sync covering every entry before it is done.
 *
 * Checkpoints. Before the writer enters a file it wrote in an earlier lap, every entry in that file
 * must be covered by the segments themselves: a checkpoint syncs every segment written since the last
 * one (big fdatasyncs, cheap per byte) and then records the journal position they cover. The writer
 * starts a checkpoint in the background each time it enters a file, so it finds the next file free
 * without waiting, in steady state, as long as the segment syncs take less time than writing
 * JOURNAL_FILES - 1 files.
 *
 * Failure. A failed journal write or sync, or a failed segment sync of a checkpoint, makes the journal
 * fail: every pending and every later append is rejected and the partitions go offline for appends as
 * after a failed segment fsync (PartitionLog), until a restart recovers them.
 *
 * Callers: PartitionLog (append), LogEngine (create, close, replay at open), tests.
 */
import { mkdir, open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32c } from '../../protocol/records/crc32c.js';
import { readInt64, writeInt64 } from '../../protocol/records/batch.js';
import { StorageError } from '../errors.js';
import type { StorageObserver } from '../engine.js';
import { describeIoError, fsyncDir, readAt, writeFileAtomic, writevFully, type FaultHooks } from './files.js';
import type { LogSegment } from './log-segment.js';
import { invariant } from '../../base/assert.js';

/** The journal's directory inside the data directory. */
export const JOURNAL_DIR = 'journal';
const CHECKPOINT_FILE = 'checkpoint';
/** Named limit: files in the ring. Four lets checkpoints run three files ahead of the writer. */
export const JOURNAL_FILES = 4;
/**
 * Named limit: bytes per journal file (4 × 16 MiB = 64 MiB of journal in the data directory). Small
 * enough that the first lap's zero-fill is short; large enough that checkpoints (a sync of every
 * segment written since the last one) come once per 16 MiB journaled.
 */
export const JOURNAL_FILE_BYTES = 16 * 1024 * 1024;
/** The smallest file size accepted (tests use small files to make the ring wrap). */
export const MIN_JOURNAL_FILE_BYTES = 64 * 1024;
/** Named limit: bytes one journal write gathers at most (then the next write takes the rest; at most one file). */
const MAX_WINDOW_BYTES = 16 * 1024 * 1024;
/** Zeros written at once by the first lap's fill, and synced after every ZERO_SYNC_BYTES. */
const ZERO_CHUNK_BYTES = 1024 * 1024;
const ZERO_SYNC_BYTES = 4 * 1024 * 1024;
/** Segment fdatasyncs a checkpoint runs at once (libuv's pool has 4 threads by default). */
const CHECKPOINT_SYNC_CONCURRENCY = 4;
/** Bytes read at once during replay. */
const REPLAY_CHUNK_BYTES = 4 * 1024 * 1024;
/** Bytes of an entry's header before the topic id. */
const ENTRY_FIXED_BYTES = 46;
/** Named limit: a topic id longer than this is refused (Kafka's are 22-character base64 UUIDs). */
const MAX_TOPIC_ID_BYTES = 255;
const CHECKPOINT_MAGIC = 0x524a4350; // "RJCP"
const CHECKPOINT_VERSION = 1;
const CHECKPOINT_BYTES = 52;

export interface JournalOptions {
  /** The data directory; the journal lives in its `journal/` subdirectory. */
  dataDir: string;
  /** Bytes per file (default JOURNAL_FILE_BYTES). */
  fileBytes?: number;
  /**
   * Zero-fill, in the background, the files the writer has not reached yet when they are shorter
   * than `fileBytes` (a new journal): its first lap then overwrites allocated blocks too. Default true.
   */
  zeroFill?: boolean;
  faults?: FaultHooks;
  /** Times every journal fdatasync (the broker's fsync histogram). */
  observer?: StorageObserver | null;
  warn(message: string): void;
}

/** Where replay starts, and the shape of the ring it was written with. */
interface Checkpoint {
  generation: number;
  lsn: number;
  address: number;
  fileBytes: number;
  files: number;
}

/** One entry waiting to be written (a partition's write group, or a piece of a large one). */
interface Piece {
  topicId: Buffer;
  partition: number;
  segment: LogSegment;
  position: number;
  data: Buffer[];
  bytes: number;
  /** Only the last piece of an append settles it. */
  resolve: (() => void) | null;
  reject: ((e: Error) => void) | null;
}

/** What replay did (for the open report and tests). */
export interface ReplayReport {
  /** Entries read after the checkpoint (applied or skipped). */
  entries: number;
  /** Entries written back into their segments. */
  applied: number;
  /** Bytes written back. */
  bytes: number;
}

/**
 * Where replay writes an entry: the segment file's path, or null to skip it (its topic was deleted,
 * its segment deleted, or the segment is sealed — sealed segments were synced when they rolled).
 */
export type ReplayTarget = (topicId: string, partition: number, segmentBase: number) => Promise<string | null>;

export class Journal {
  private readonly dir: string;
  private readonly fileBytes: number;
  private readonly handles: FileHandle[];
  private readonly generation: number;
  private nextLsn = 0;
  /** Address of the next entry. */
  private address = 0;
  /** Replay would start here: everything before it is in synced segments. */
  private checkpointAddress = 0;
  private checkpointing: Promise<void> | null = null;
  /** Segments written since the last checkpoint took its set. */
  private dirty = new Set<LogSegment>();
  private queue: Piece[] = [];
  private writing: Promise<void> | null = null;
  private scheduled = false;
  private failure: Error | null = null;
  private closed = false;
  private abandoned = false;
  /** The zero-fills requested so far, chained: one file at a time (requestFill). */
  private filling: Promise<void> | null = null;
  /** The file the fill writes to now, and its write or sync under way. */
  private fillFile = -1;
  private fillOp: Promise<void> | null = null;
  /** Files the writer has entered: the fill keeps out of them. */
  private readonly claimed = new Set<number>();
  private readonly fillRequested = new Set<number>();
  private readonly zeroFill: boolean;
  /** A zero write failed: no more filling. */
  private fillStopped = false;
  /** Journal fdatasyncs done (tests and the bench count them). */
  syncs = 0;
  /** Checkpoints started (tests). */
  checkpoints = 0;

  private constructor(
    private readonly options: JournalOptions,
    handles: FileHandle[],
    generation: number,
    fileBytes: number,
  ) {
    this.dir = path.join(options.dataDir, JOURNAL_DIR);
    this.handles = handles;
    this.generation = generation;
    this.zeroFill = options.zeroFill !== false;
    // The writer starts in file 0, which grows in the first lap.
    this.claimed.add(0);
    this.fileBytes = fileBytes;
  }

  /**
   * Start a new generation (replay, if a previous one needed it, must be done): the checkpoint is
   * written before anything else, so entries of earlier generations are never taken for current ones.
   * Files that exist are reused as they are; missing ones are created empty (zero-filled ahead of the
   * writer in the first lap, see requestFill).
   */
  static async create(options: JournalOptions): Promise<Journal> {
    const fileBytes = options.fileBytes ?? JOURNAL_FILE_BYTES;
    if (!Number.isSafeInteger(fileBytes) || fileBytes < MIN_JOURNAL_FILE_BYTES) throw new Error(`journal: file size ${fileBytes} is below ${MIN_JOURNAL_FILE_BYTES} bytes`);
    const dir = path.join(options.dataDir, JOURNAL_DIR);
    await mkdir(dir, { recursive: true });
    const previous = await readCheckpoint(dir);
    // A new generation; a random one when there is no previous checkpoint to count on from.
    const generation = previous ? previous.generation + 1 : randomBytes(6).readUIntBE(0, 6);
    const handles: FileHandle[] = [];
    try {
      let created = false;
      for (let i = 0; i < JOURNAL_FILES; i++) {
        const file = journalFile(dir, i);
        let h: FileHandle;
        try {
          h = await open(file, 'r+');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          h = await open(file, 'w+');
          created = true;
        }
        handles.push(h);
      }
      if (created) await fsyncDir(dir);
      await writeCheckpoint(dir, { generation, lsn: 0, address: 0, fileBytes, files: JOURNAL_FILES }, options.faults);
    } catch (err) {
      for (const h of handles) await h.close().catch(() => {});
      throw new StorageError(`journal: cannot start in ${dir}: ${describeIoError(err)}`, { cause: err });
    }
    return new Journal(options, handles, generation, fileBytes);
  }

  /**
   * First lap of a new journal: a file the writer has not entered yet is filled with zeros and
   * synced before it gets there, so that the writer's fdatasyncs in it commit data, not a growing
   * size (an ext4 journal commit each). One file ahead at a time, so the zeros are spread over the
   * first lap: file 1 once the first journal sync is done (the first acknowledgement never shares
   * the disk with zeros), file k + 1 when the writer enters file k. File 0 grows as it is written. A
   * file the writer enters while it is being filled is left as far as it got (the writer waits for
   * the one chunk under way, never for the rest). A failed zero write just stops the fill (the
   * writer grows the file instead); a failed sync of zeros fails the journal, as a writeback error
   * may be reported to one fdatasync of a file only.
   */
  private requestFill(i: number): void {
    if (!this.zeroFill || i >= JOURNAL_FILES || this.claimed.has(i) || this.fillRequested.has(i) || this.closed) return;
    this.fillRequested.add(i);
    this.filling = (this.filling ?? Promise.resolve()).then(() => this.fill(i));
  }

  private async fill(i: number): Promise<void> {
    const zeros = Buffer.alloc(ZERO_CHUNK_BYTES);
    const h = this.handles[i]!;
    const file = journalFile(this.dir, i);
    if (this.claimed.has(i) || this.closed || this.failure || this.fillStopped) return;
    this.fillFile = i;
    try {
      let at = (await h.stat()).size;
      let unsynced = 0;
      while (at < this.fileBytes || unsynced > 0) {
        if (this.claimed.has(i) || this.closed || this.failure) break;
        const zeroWrite = at < this.fileBytes && unsynced < ZERO_SYNC_BYTES;
        const n = Math.min(ZERO_CHUNK_BYTES, this.fileBytes - at);
        const position = at;
        this.fillOp = zeroWrite
          ? (async () => {
              this.options.faults?.beforeWrite?.(file, n);
              await writevFully(h, [n === zeros.length ? zeros : zeros.subarray(0, n)], position);
            })()
          : (async () => {
              this.options.faults?.beforeSync?.(file);
              await h.datasync();
            })();
        try {
          await this.fillOp;
        } catch (err) {
          if (!zeroWrite) this.fail(err, []);
          this.fillStopped = true; // e.g. ENOSPC: the writer grows the files instead
          return;
        } finally {
          this.fillOp = null;
        }
        if (zeroWrite) {
          at += n;
          unsynced += n;
        } else unsynced = 0;
      }
    } finally {
      this.fillFile = -1;
    }
  }

  /** The writer enters file `i`: the zero-fill keeps out of it from now on. */
  private async claim(i: number): Promise<void> {
    if (this.claimed.has(i)) return;
    this.claimed.add(i);
    this.requestFill(i + 1);
    while (this.fillFile === i && this.fillOp !== null) await this.fillOp.catch(() => {});
    if (this.failure) throw this.failure;
  }

  /** Whether a checkpoint runs now (tests wait for it to be done). */
  get checkpointRunning(): boolean {
    return this.checkpointing !== null;
  }

  /** The error that made the journal fail, or null. */
  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Journal `data` (already written to `segment` at `position`); resolves once a journal fdatasync
   * covers it. Appends resolve in call order. The buffers are not copied: the caller must not change them.
   */
  append(topicId: string, partition: number, segment: LogSegment, position: number, data: Buffer[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageError('journal: closed'));
    const id = Buffer.from(topicId, 'utf8');
    if (id.length > MAX_TOPIC_ID_BYTES) return Promise.reject(new StorageError(`journal: topic id of ${id.length} bytes (at most ${MAX_TOPIC_ID_BYTES})`));
    this.dirty.add(segment);
    return new Promise((resolve, reject) => {
      // An entry fits in one file: a larger write group is journaled in pieces (each its own position).
      const most = this.fileBytes - ENTRY_FIXED_BYTES - id.length;
      let piece: Buffer[] = [];
      let pieceBytes = 0;
      let at = position;
      const flush = (last: boolean) => {
        this.queue.push({ topicId: id, partition, segment, position: at, data: piece, bytes: pieceBytes, resolve: last ? resolve : null, reject: last ? reject : null });
        at += pieceBytes;
        piece = [];
        pieceBytes = 0;
      };
      for (let b of data) {
        while (pieceBytes + b.length > most) {
          const n = most - pieceBytes;
          piece.push(b.subarray(0, n));
          pieceBytes += n;
          b = b.subarray(n);
          flush(false);
        }
        if (b.length > 0) {
          piece.push(b);
          pieceBytes += b.length;
        }
      }
      flush(true);
      this.schedule();
    });
  }

  /**
   * Start the writer after the current turn of the event loop, so that the segment writes that
   * completed in this turn share its write; while a write is in flight, new pieces wait for the next.
   */
  private schedule(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.writing) return;
      this.writing = this.run().finally(() => {
        this.writing = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.failure || this.abandoned) {
        this.rejectAll(this.failure ?? new StorageError('journal: the engine stopped'));
        return;
      }
      let n = 0;
      let bytes = 0;
      while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= MAX_WINDOW_BYTES)) bytes += this.queue[n++]!.bytes;
      const window = this.queue.splice(0, n);
      try {
        await this.writeWindow(window);
      } catch (err) {
        this.fail(err, window);
        return;
      }
      for (const p of window) p.resolve?.();
    }
  }

  /** One writev per file touched (one, or two when the window reaches the next file), then their fdatasyncs. */
  private async writeWindow(window: Piece[]): Promise<void> {
    const writes: { file: number; position: number; buffers: Buffer[] }[] = [];
    let current: { file: number; position: number; buffers: Buffer[] } | null = null;
    for (const p of window) {
      const length = ENTRY_FIXED_BYTES + p.topicId.length + p.bytes;
      let position = this.address % this.fileBytes;
      if (position + length > this.fileBytes) {
        // The rest of this file is too short: the entry goes to the start of the next file.
        this.address += this.fileBytes - position;
        position = 0;
      }
      if (position === 0) await this.enterFile(this.address);
      const file = Math.floor(this.address / this.fileBytes) % JOURNAL_FILES;
      await this.claim(file);
      if (current === null || current.file !== file) {
        current = { file, position, buffers: [] };
        writes.push(current);
      }
      current.buffers.push(this.encodeHeader(p, length), ...p.data);
      this.address += length;
      this.nextLsn++;
    }
    for (const w of writes) {
      const handle = this.handles[w.file]!;
      const file = journalFile(this.dir, w.file);
      let total = 0;
      for (const b of w.buffers) total += b.length;
      this.options.faults?.beforeWrite?.(file, total);
      await writevFully(handle, w.buffers, w.position);
    }
    const observer = this.options.observer ?? null;
    const started = observer === null ? 0 : performance.now();
    await Promise.all(
      writes.map(async (w) => {
        this.options.faults?.beforeSync?.(journalFile(this.dir, w.file));
        await this.handles[w.file]!.datasync();
        this.syncs++;
      }),
    );
    observer?.fsync((performance.now() - started) / 1000);
    this.requestFill(1);
  }

  private encodeHeader(p: Piece, length: number): Buffer {
    const h = Buffer.allocUnsafe(ENTRY_FIXED_BYTES + p.topicId.length);
    h.writeUInt32BE(length, 4);
    writeInt64(h, 8, this.generation);
    writeInt64(h, 16, this.nextLsn);
    writeInt64(h, 24, p.segment.baseOffset);
    writeInt64(h, 32, p.position);
    h.writeUInt32BE(p.partition, 40);
    h.writeUInt16BE(p.topicId.length, 44);
    p.topicId.copy(h, ENTRY_FIXED_BYTES);
    let crc = crc32c(h.subarray(4));
    for (const d of p.data) crc = crc32c(d, crc);
    h.writeUInt32BE(crc >>> 0, 0);
    return h;
  }

  /**
   * The writer is about to write at the start of the file at `address`: the entries that file holds
   * from the previous lap must be behind the checkpoint. A checkpoint of everything before `address`
   * starts in the background here, so the file after the next ones is free in time.
   */
  private async enterFile(address: number): Promise<void> {
    const needed = address - (JOURNAL_FILES - 1) * this.fileBytes;
    while (this.checkpointAddress < needed) {
      if (this.checkpointing === null) this.startCheckpoint();
      await this.checkpointing;
      if (this.failure) throw this.failure;
    }
    if (address > 0 && this.checkpointing === null) this.startCheckpoint();
  }

  /** Sync every segment written so far and record that replay may start at the current address. */
  private startCheckpoint(): void {
    const address = this.address;
    const lsn = this.nextLsn;
    const segments = [...this.dirty];
    this.dirty = new Set();
    this.checkpoints++;
    this.checkpointing = (async () => {
      try {
        let next = 0;
        const worker = async () => {
          while (next < segments.length) await segments[next++]!.syncIfOpen();
        };
        await Promise.all(Array.from({ length: Math.min(CHECKPOINT_SYNC_CONCURRENCY, segments.length) }, worker));
        await writeCheckpoint(this.dir, { generation: this.generation, lsn, address, fileBytes: this.fileBytes, files: JOURNAL_FILES }, this.options.faults);
        invariant(address >= this.checkpointAddress, 'the checkpoint only moves forward', address, this.checkpointAddress);
        this.checkpointAddress = address;
      } catch (err) {
        this.fail(err, []);
      }
    })().finally(() => (this.checkpointing = null));
  }

  private fail(err: unknown, window: Piece[]): void {
    if (!this.failure) {
      this.failure = err instanceof StorageError ? err : new StorageError(`journal: ${describeIoError(err)}`, { cause: err });
      this.options.warn(`the journal failed, appends are refused until a restart: ${this.failure.message}`);
    }
    for (const p of window) p.reject?.(this.failure);
    this.rejectAll(this.failure);
  }

  private rejectAll(err: Error): void {
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.reject?.(err);
  }

  /**
   * Clean close, after every partition log closed (and synced its segments): a last checkpoint at the
   * end, so that the next open replays nothing.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing || this.scheduled) await (this.writing ?? new Promise((r) => setImmediate(r)));
    await this.filling;
    try {
      while (this.checkpointing) await this.checkpointing;
      if (!this.failure) {
        this.startCheckpoint();
        await this.checkpointing;
      }
    } finally {
      for (const h of this.handles) await h.close().catch(() => {});
    }
    if (this.failure) throw this.failure;
  }

  /** Tests only: stop as kill -9 would — no checkpoint, files closed after the write in flight. */
  async abandon(): Promise<void> {
    this.closed = true;
    this.abandoned = true;
    while (this.writing || this.scheduled) await (this.writing ?? new Promise((r) => setImmediate(r)));
    await this.filling;
    while (this.checkpointing) await this.checkpointing;
    for (const h of this.handles) await h.close().catch(() => {});
  }
}

function journalFile(dir: string, i: number): string {
  return path.join(dir, `journal-${i}.wal`);
}

async function writeCheckpoint(dir: string, c: Checkpoint, faults?: FaultHooks): Promise<void> {
  const b = Buffer.alloc(CHECKPOINT_BYTES);
  b.writeUInt32BE(CHECKPOINT_MAGIC, 0);
  b.writeUInt32BE(CHECKPOINT_VERSION, 4);
  writeInt64(b, 8, c.generation);
  writeInt64(b, 16, c.lsn);
  writeInt64(b, 24, c.address);
  writeInt64(b, 32, c.fileBytes);
  b.writeUInt32BE(c.files, 40);
  b.writeUInt32BE(crc32c(b.subarray(0, 48)) >>> 0, 48);
  await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), b, faults);
}

/** The checkpoint, or null when there is none (no journal was ever started here). */
async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  let b: Buffer;
  try {
    b = await readFile(path.join(dir, CHECKPOINT_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  // Written atomically (temp, fsync, rename): anything else is damage, and replaying from a guess
  // could lose acknowledged data, so start-up stops and says so.
  if (b.length !== CHECKPOINT_BYTES || b.readUInt32BE(0) !== CHECKPOINT_MAGIC || (crc32c(b.subarray(0, 48)) >>> 0) !== b.readUInt32BE(48)) {
    throw new StorageError(`journal: ${path.join(dir, CHECKPOINT_FILE)} is damaged; it says where acknowledged data must be replayed from`);
  }
  if (b.readUInt32BE(4) !== CHECKPOINT_VERSION) throw new StorageError(`journal: checkpoint version ${b.readUInt32BE(4)}; this broker reads version ${CHECKPOINT_VERSION}`);
  return { generation: readInt64(b, 8), lsn: readInt64(b, 16), address: readInt64(b, 24), fileBytes: readInt64(b, 32), files: b.readUInt32BE(40) };
}

/** Reads a journal file sequentially in large chunks. */
class ChunkReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;
  constructor(
    private readonly handle: FileHandle,
    private readonly limit: number,
  ) {}

  /** Bytes [position, position + length), or fewer at the end of the file or of the journal's size. */
  async get(position: number, length: number): Promise<Buffer> {
    const want = Math.min(length, this.limit - position);
    if (want <= 0) return Buffer.alloc(0);
    if (position < this.chunkStart || position + want > this.chunkStart + this.chunk.length) {
      this.chunkStart = position;
      this.chunk = await readAt(this.handle, position, Math.min(this.limit - position, Math.max(want, REPLAY_CHUNK_BYTES)));
    }
    return this.chunk.subarray(position - this.chunkStart, Math.min(this.chunk.length, position - this.chunkStart + want));
  }
}

/** One entry found after the checkpoint (replay, and tests that inspect the journal). */
export interface JournalEntry {
  lsn: number;
  /** Which journal file, where in it, and the entry's whole length there. */
  file: string;
  filePosition: number;
  length: number;
  topicId: string;
  partition: number;
  segmentBase: number;
  segmentPosition: number;
  data: Buffer;
}

/**
 * Visit the entries after the checkpoint of `dataDir`'s journal, in order, up to the first that is not
 * the next one expected; false when there is no journal.
 */
export async function walkJournal(dataDir: string, visit: (e: JournalEntry) => Promise<void> | void): Promise<boolean> {
  const dir = path.join(dataDir, JOURNAL_DIR);
  const cp = await readCheckpoint(dir);
  if (cp === null) return false;
  const readers: (ChunkReader | null)[] = [];
  const handles: FileHandle[] = [];
  try {
    for (let i = 0; i < cp.files; i++) {
      try {
        const h = await open(journalFile(dir, i), 'r');
        handles.push(h);
        readers.push(new ChunkReader(h, cp.fileBytes));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        readers.push(null);
      }
    }
    let address = cp.address;
    let lsn = cp.lsn;
    const end = cp.address + cp.files * cp.fileBytes;
    const entryAt = async (at: number): Promise<JournalEntry | null> => {
      const index = Math.floor(at / cp.fileBytes) % cp.files;
      const reader = readers[index];
      const position = at % cp.fileBytes;
      if (!reader || position + ENTRY_FIXED_BYTES > cp.fileBytes) return null;
      const head = await reader.get(position, ENTRY_FIXED_BYTES);
      if (head.length < ENTRY_FIXED_BYTES) return null;
      const length = head.readUInt32BE(4);
      const idLength = head.readUInt16BE(44);
      if (readInt64(head, 8) !== cp.generation || readInt64(head, 16) !== lsn) return null;
      if (length < ENTRY_FIXED_BYTES + idLength || position + length > cp.fileBytes) return null;
      const whole = await reader.get(position, length);
      if (whole.length < length || (crc32c(whole.subarray(4)) >>> 0) !== whole.readUInt32BE(0)) return null;
      return {
        lsn,
        file: journalFile(dir, index),
        filePosition: position,
        length,
        topicId: whole.subarray(ENTRY_FIXED_BYTES, ENTRY_FIXED_BYTES + idLength).toString('utf8'),
        partition: whole.readUInt32BE(40),
        segmentBase: readInt64(whole, 24),
        segmentPosition: readInt64(whole, 32),
        data: whole.subarray(ENTRY_FIXED_BYTES + idLength),
      };
    };
    while (address < end) {
      let entry = await entryAt(address);
      if (entry === null && address % cp.fileBytes !== 0) {
        // The writer moves to the next file when an entry does not fit in the rest of one.
        address += cp.fileBytes - (address % cp.fileBytes);
        if (address >= end) break;
        entry = await entryAt(address);
      }
      if (entry === null) break;
      await visit(entry);
      address += entry.length;
      lsn++;
    }
  } finally {
    for (const h of handles) await h.close().catch(() => {});
  }
  return true;
}

/**
 * Replay the journal of `dataDir` after its checkpoint, if there is one: every entry is written back
 * at its recorded position in its segment (the same bytes, so replaying twice changes nothing), the
 * segments written are fdatasynced, and the report says what was done. Returns null when there is no
 * journal. Runs at LogEngine open, before the partitions are loaded (and their tails recovered).
 */
export async function replayJournal(dataDir: string, target: ReplayTarget, faults?: FaultHooks): Promise<ReplayReport | null> {
  const report: ReplayReport = { entries: 0, applied: 0, bytes: 0 };
  const segments = new Map<string, FileHandle | null>();
  try {
    const found = await walkJournal(dataDir, async (e) => {
      report.entries++;
      const file = await target(e.topicId, e.partition, e.segmentBase);
      if (file === null) return;
      let handle = segments.get(file);
      if (handle === undefined) {
        try {
          handle = await open(file, 'r+');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          handle = null; // the segment was deleted (retention, DeleteRecords): nothing to restore
        }
        segments.set(file, handle);
      }
      if (handle === null) return;
      faults?.beforeWrite?.(file, e.data.length);
      await writevFully(handle, [e.data], e.segmentPosition);
      report.applied++;
      report.bytes += e.data.length;
    });
    if (!found) return null;
    for (const [file, h] of segments) {
      if (h === null) continue;
      faults?.beforeSync?.(file);
      await h.datasync();
    }
  } finally {
    for (const h of segments.values()) await h?.close().catch(() => {});
  }
  return report;
}

/** Remove the journal (the switch is off and its replay is done). */
export async function removeJournal(dataDir: string): Promise<void> {
  const dir = path.join(dataDir, JOURNAL_DIR);
  try {
    await stat(dir);
  } catch {
    return;
  }
  // The checkpoint first: a crash midway leaves no checkpoint, hence nothing to replay.
  await rm(path.join(dir, CHECKPOINT_FILE), { force: true });
  await fsyncDir(dir);
  await rm(dir, { recursive: true, force: true });
  await fsyncDir(dataDir);
}
