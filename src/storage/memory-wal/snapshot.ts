/**
 * Snapshots of the write-ahead-logged memory engine: the whole state as WAL-format entries, written
 * atomically (a temp file, fdatasync, rename, directory fsync) so a crash leaves either the complete
 * new snapshot or none, never a partial one under the final name.
 *
 * Who calls: WalMemoryEngine (writes while appends continue: the frames come from a copy of the
 * state taken synchronously, so later mutations never reach this snapshot; they go to the new WAL).
 */
import { open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { WalFormatError, WalReader, decodePayload, type WalEntry } from './wal-format.js';
import { fsyncDir, snapshotFileName, snapshotTempName, writevAll } from './files.js';

/** Bytes gathered before each write, so a snapshot of gigabytes still yields the event loop often. */
const WRITE_CHUNK_BYTES = 8 << 20;

/** Write snapshot `seq` from `frames`; resolves with its size once it is durable under its final name. */
export async function writeSnapshot(dir: string, seq: number, frames: Iterable<{ chunks: Buffer[]; bytes: number }>): Promise<number> {
  const tmp = path.join(dir, snapshotTempName(seq));
  const fh = await open(tmp, 'w');
  let position = 0;
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for (const f of frames) {
      for (const c of f.chunks) pending.push(c);
      pendingBytes += f.bytes;
      if (pendingBytes >= WRITE_CHUNK_BYTES) {
        await writevAll(fh, pending, pendingBytes, position);
        position += pendingBytes;
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pendingBytes > 0) await writevAll(fh, pending, pendingBytes, position);
    position += pendingBytes;
    await fh.datasync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, path.join(dir, snapshotFileName(seq)));
  await fsyncDir(dir);
  return position;
}

/**
 * Read snapshot `seq`, handing each state entry (not the header or end) to `apply` in order. Throws
 * if the snapshot is incomplete or damaged: it was renamed into place only after being synced, so
 * that means the disk lost or changed data, and starting from it would silently lose state.
 */
export async function readSnapshot(dir: string, seq: number, apply: (e: WalEntry) => void): Promise<number> {
  const file = path.join(dir, snapshotFileName(seq));
  const { size } = await stat(file);
  const fh = await open(file, 'r');
  try {
    const reader = new WalReader(fh, size);
    let count = 0;
    let ended = false;
    for (let payload = await reader.next(); payload !== null; payload = await reader.next()) {
      if (ended) throw new WalFormatError('entries after the end entry');
      const e = decodePayload(payload);
      if (count === 0) {
        if (e.type !== 'header' || e.fileKind !== 'snapshot' || e.seq !== seq) {
          throw new WalFormatError(`expected the header of snapshot ${seq}, found ${describe(e)}`);
        }
      } else if (e.type === 'end') {
        if (e.entries !== count) throw new WalFormatError(`end entry counts ${e.entries} entries, the file has ${count}`);
        ended = true;
      } else if (e.type === 'header') {
        throw new WalFormatError('a second header entry');
      } else {
        apply(e);
      }
      count++;
    }
    if (!ended || reader.end !== 'clean') {
      throw new WalFormatError(`the snapshot is ${reader.end === 'clean' ? 'missing its end entry' : `${reader.end} at byte ${reader.validEnd}`}`);
    }
    return size;
  } catch (err) {
    throw new Error(`storage: snapshot ${file} is damaged (${(err as Error).message}); refusing to start from it`, { cause: err });
  } finally {
    await fh.close();
  }
}

function describe(e: WalEntry): string {
  return e.type === 'header' ? `the header of ${e.fileKind} ${e.seq}` : `a ${e.type} entry`;
}
