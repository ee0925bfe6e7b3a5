/**
 * The write-ahead log's writer: one append-only file at a time, written by a single sequential
 * drain loop so entries reach the file in the order the engine applied them.
 *
 * Group commit: callers enqueue frames synchronously; everything enqueued while the loop is busy
 * (writing, or waiting for an fsync) becomes the next group, written with one writev and — under the
 * `always` policy — made durable by one fdatasync shared by every caller in the group.
 *
 * Fsync policies (`storage.fsync`, the same knob as the `log` engine):
 * - `always`: a write resolves only after its group has been fdatasync'ed;
 * - `interval`: a write resolves once it is in the file (page cache: it survives the process being
 *   killed, not a power loss); the file is fdatasync'ed every `fsyncIntervalMs` while dirty;
 * - `never`: as `interval` without the timer; the file is synced at rotation and close only.
 *
 * Any I/O error is final: the writer fails every queued and later write with it (the engine then
 * refuses all operations, as Kafka takes a failed log directory offline).
 *
 * Who calls: only WalMemoryEngine, from the broker's event loop.
 */
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { FsyncPolicy } from '../../config/types.js';
import type { StorageObserver } from '../engine.js';
import { FORMAT_VERSION, encodeFrame } from './wal-format.js';
import { fsyncDir, walFileName, writevAll } from './files.js';
import { StorageError } from '../errors.js';

interface Op {
  kind: 'write' | 'sync' | 'rotate' | 'close';
  chunks: Buffer[];
  bytes: number;
  /** For rotate: the sequence number of the new file. */
  seq: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newOp(kind: Op['kind'], seq = 0): Op {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Ops started by the writer itself (timer syncs) may have no awaiting caller; callers that do
  // await still see the rejection.
  promise.catch(() => {});
  return { kind, chunks: [], bytes: 0, seq, promise, resolve, reject };
}

export class WalWriter {
  private fh: FileHandle | null = null;
  private position = 0;
  /** Bytes written since the last fdatasync. */
  private dirty = false;
  private readonly queue: Op[] = [];
  private draining = false;
  private timer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  private closing = false;

  constructor(
    private readonly dir: string,
    private readonly policy: FsyncPolicy,
    fsyncIntervalMs: number,
    /** Times every fsync of the log (the broker's metrics); null: nothing watches. */
    private readonly observer: StorageObserver | null = null,
  ) {
    if (policy === 'interval') {
      this.timer = setInterval(() => {
        if (this.dirty && !this.failure && !this.closing) void this.enqueue(newOp('sync')).promise;
      }, fsyncIntervalMs);
      this.timer.unref();
    }
  }

  /** The error that stopped the writer, if any. */
  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Start writing to file `seq`: continue it at `validEnd` (cutting off anything after it, such as a
   * torn tail that recovery dropped), or create it when `validEnd` is null. Called once, before any
   * write.
   */
  async start(seq: number, validEnd: number | null): Promise<void> {
    if (validEnd === null) return this.create(seq);
    const fh = await open(path.join(this.dir, walFileName(seq)), 'r+');
    try {
      const { size } = await fh.stat();
      if (size !== validEnd) {
        await fh.truncate(validEnd);
        await fh.datasync();
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    this.fh = fh;
    this.position = validEnd;
  }

  /** Enqueue one frame (its chunks, which must not change afterwards); resolves per the policy. */
  write(chunks: Buffer[], bytes: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new StorageError('storage: the write-ahead log is closed'));
    let group = this.queue[this.queue.length - 1];
    if (group === undefined || group.kind !== 'write') group = this.enqueue(newOp('write'));
    for (const c of chunks) group.chunks.push(c);
    group.bytes += bytes;
    this.kick();
    return group.promise;
  }

  /**
   * Switch to a new file `seq`: everything enqueued before goes to the current file, which is
   * synced and closed; everything after goes to the new one. Resolves once the new file exists.
   */
  rotate(seq: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.enqueue(newOp('rotate', seq)).promise;
  }

  /** Write and fdatasync everything enqueued so far, then close the file. */
  close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.closing) return Promise.resolve();
    this.closing = true;
    if (this.failure) return this.closeHandle();
    return this.enqueue(newOp('close')).promise;
  }

  private enqueue(op: Op): Op {
    this.queue.push(op);
    this.kick();
    return op;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    // Start on a later tick so that every write enqueued in this turn of the event loop joins the
    // first group too.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      const op = this.queue.shift()!;
      try {
        await this.run(op);
        op.resolve();
      } catch (err) {
        this.fail(err as Error, op);
      }
    }
    this.draining = false;
  }

  private async run(op: Op): Promise<void> {
    switch (op.kind) {
      case 'write': {
        const fh = this.handle();
        await writevAll(fh, op.chunks, op.bytes, this.position);
        this.position += op.bytes;
        this.dirty = true;
        if (this.policy === 'always') await this.sync();
        return;
      }
      case 'sync':
        return this.sync();
      case 'rotate':
        await this.sync();
        await this.closeHandle();
        return this.create(op.seq);
      case 'close':
        await this.sync();
        return this.closeHandle();
    }
  }

  private handle(): FileHandle {
    if (!this.fh) throw new Error('storage: the write-ahead log has no open file');
    return this.fh;
  }

  private async sync(): Promise<void> {
    if (!this.dirty || !this.fh) return;
    this.dirty = false;
    const started = this.observer === null ? 0 : performance.now();
    await this.fh.datasync();
    this.observer?.fsync((performance.now() - started) / 1000);
  }

  private async create(seq: number): Promise<void> {
    const fh = await open(path.join(this.dir, walFileName(seq)), 'w');
    try {
      const header = encodeFrame({ type: 'header', fileKind: 'wal', version: FORMAT_VERSION, seq });
      await writevAll(fh, header.chunks, header.bytes, 0);
      await fh.datasync();
      await fsyncDir(this.dir);
      this.position = header.bytes;
    } catch (err) {
      await fh.close();
      throw err;
    }
    this.fh = fh;
    this.dirty = false;
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close();
  }

  private fail(err: Error, op: Op): void {
    this.failure = new StorageError(`storage: write-ahead log I/O failed: ${err.message}`, { cause: err });
    op.reject(this.failure);
    for (const queued of this.queue.splice(0)) queued.reject(this.failure);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    void this.closeHandle().catch(() => {});
  }
}
