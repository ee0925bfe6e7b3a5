/**
 * File-system helpers of the log engine: file names, directory fsync, atomic replacement, and the
 * fault-injection seam tests use to make writes and syncs fail like a full or read-only disk.
 *
 * Callers: every class of src/storage/log/. Nothing here keeps state except the fault hooks.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Kafka's file name width: the base offset zero-padded to 20 digits (`00000000000000000042.log`). */
export const OFFSET_DIGITS = 20;
export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
/** A producer-state snapshot taken at the offset in its name (Kafka's `<offset>.snapshot`). */
export const SNAPSHOT_SUFFIX = '.snapshot';
/** A compacted segment being written; a leftover one (crash while cleaning) is deleted at open. */
export const CLEANED_SUFFIX = '.cleaned';
/** An index being replaced (temp + rename); a leftover one is deleted at open. */
export const TMP_SUFFIX = '.tmp';
/** Suffix of a partition directory renamed for deletion (Kafka renames to `<dir>.<id>-delete`). */
export const DELETE_DIR_SUFFIX = '-delete';

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, '0') + suffix;
}

/** The base offset of a `<20 digits>.log` name, or null for any other name. */
export function parseSegmentFileName(name: string, suffix = LOG_SUFFIX): number | null {
  if (!name.endsWith(suffix)) return null;
  const digits = name.slice(0, -suffix.length);
  if (digits.length !== OFFSET_DIGITS || !/^\d+$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}

/** Kafka's partition directory name: `<topic>-<partition>` (topic names cannot contain `/`). */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * Fault injection for tests (a full disk, a read-only file system, a failing fsync): each hook may
 * throw an errno-style error, which then surfaces exactly where the real one would. The engine
 * never sets these itself.
 */
export interface FaultHooks {
  /** Before every write to a data or metadata file. */
  beforeWrite?(file: string, bytes: number): void;
  /** Before every fsync of a file. */
  beforeSync?(file: string): void;
}

/** An errno-style error, as node:fs throws them (`code`, `syscall`, `path`). */
export function errnoError(code: string, syscall: string, file: string, message = code): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${message}, ${syscall} '${file}'`);
  e.code = code;
  e.syscall = syscall;
  e.path = file;
  return e;
}

/** fsync a directory so that entries created, renamed or removed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Write all of `data` at `position`, looping over short writes. */
export async function writeFully(h: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await h.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
    done += bytesWritten;
  }
}

/** Write several buffers at `position` with as few system calls as possible. */
export async function writevFully(h: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = 0;
  let list = buffers;
  while (written < total) {
    const { bytesWritten } = await h.writev(list, position + written);
    if (bytesWritten <= 0) throw new Error(`short write at ${position + written}`);
    written += bytesWritten;
    if (written < total) list = dropBytes(list, bytesWritten);
  }
  return total;
}

function dropBytes(list: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of list) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

/** Read exactly `length` bytes at `position` (fewer only at end of file). */
export async function readAt(h: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await h.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/**
 * Replace `file` atomically with `data`: write a temp file, fsync it, rename it over `file`, fsync
 * the directory. After a crash the file holds either the old or the new content, never a mix.
 */
export async function writeFileAtomic(file: string, data: Buffer, faults?: FaultHooks): Promise<void> {
  const tmp = file + TMP_SUFFIX;
  const h = await open(tmp, 'w');
  try {
    faults?.beforeWrite?.(tmp, data.length);
    await writeFully(h, data, 0);
    faults?.beforeSync?.(tmp);
    await h.datasync();
  } finally {
    await h.close();
  }
  await rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

/** Remove a file if present. */
export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** A Kafka-style storage error message: what failed, where, and the errno code. */
export function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const where = e.path ? ` (${e.path})` : '';
  switch (e.code) {
    case 'ENOSPC':
      return `no space left on device${where}`;
    case 'EROFS':
      return `read-only file system${where}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied${where}`;
    case 'EIO':
      return `I/O error${where}`;
    case 'EDQUOT':
      return `disk quota exceeded${where}`;
    default:
      return e.message ?? String(err);
  }
}
