/**
 * File names and small file-system helpers of the write-ahead-logged memory engine.
 *
 * A data directory holds `wal-<seq>.log` and `snapshot-<seq>.snap` files. Snapshot `seq` is the
 * state before the first entry of `wal-<seq>.log`; recovery loads the newest snapshot and replays
 * the WAL files numbered from it upwards. `*.tmp` files are snapshots that were being written when
 * the process stopped; they were never renamed into place, so they are ignored and removed.
 */
import { open, readFile, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DirLock, DirLockHeldError } from '../dir-lock.js';

export function walFileName(seq: number): string {
  return `wal-${String(seq).padStart(10, '0')}.log`;
}

export function snapshotFileName(seq: number): string {
  return `snapshot-${String(seq).padStart(10, '0')}.snap`;
}

export function snapshotTempName(seq: number): string {
  return `snapshot-${String(seq).padStart(10, '0')}.tmp`;
}

export type DataFile = { kind: 'wal' | 'snapshot' | 'tmp'; seq: number; name: string };

/** Classify a directory entry; null for names this engine does not own. */
export function parseDataFileName(name: string): DataFile | null {
  const m = /^(wal|snapshot)-(\d+)\.(log|snap|tmp)$/.exec(name);
  if (!m) return null;
  const seq = Number(m[2]);
  if (m[1] === 'wal' && m[3] === 'log') return { kind: 'wal', seq, name };
  if (m[1] === 'snapshot' && m[3] === 'snap') return { kind: 'snapshot', seq, name };
  if (m[1] === 'snapshot' && m[3] === 'tmp') return { kind: 'tmp', seq, name };
  return null;
}

/** fsync a directory so that files created, renamed or removed in it survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write all of `chunks` (`bytes` in total) at `position`, continuing after short writes. */
export async function writevAll(fh: FileHandle, chunks: Buffer[], bytes: number, position: number): Promise<void> {
  let written = 0;
  let rest = chunks;
  while (written < bytes) {
    const { bytesWritten } = await fh.writev(rest, position + written);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    written += bytesWritten;
    if (written < bytes) rest = dropFront(rest, bytesWritten);
  }
}

function dropFront(chunks: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (n > 0 && n >= chunks[i]!.length) n -= chunks[i++]!.length;
  const out = chunks.slice(i);
  if (n > 0) out[0] = out[0]!.subarray(n);
  return out;
}

export const LOCK_FILE = 'LOCK';

/**
 * Claim the data directory for this process: two engines appending to one WAL would interleave
 * their entries. The lock is a kernel object released when its holder dies (../dir-lock.ts); the
 * LOCK file beside it names the holder's pid, for the message only.
 */
export async function acquireDirLock(dir: string): Promise<DirLock> {
  const file = path.join(dir, LOCK_FILE);
  let lock: DirLock;
  try {
    lock = await DirLock.acquire(dir);
  } catch (err) {
    if (!(err instanceof DirLockHeldError)) throw err;
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (owner === process.pid) throw new Error(`storage: ${dir} is already open in this process`);
    throw new Error(`storage: ${dir} is in use by ${Number.isInteger(owner) && owner > 0 ? `process ${owner}` : 'another process'}`);
  }
  await writeFile(file, `${process.pid}\n`);
  return lock;
}

export async function releaseDirLock(dir: string, lock: DirLock): Promise<void> {
  await unlink(path.join(dir, LOCK_FILE)).catch(() => {});
  await lock.release();
}
