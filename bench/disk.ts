/**
 * The disk's own limit for a durable log (issue 22): sequential writes with an fdatasync after each
 * block, on the file system the brokers' data directories are on, measured in the same run as the
 * brokers. Two block sizes — 16 KiB (one Java producer batch per sync, the worst case of a group
 * commit) and 1 MiB (many batches per sync) — each into a file that grows with every write (what an
 * fdatasync then also commits: the new length) and into a preallocated one (data only: what the log
 * engine's `preallocate` buys).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface SyncSpeed {
  blockBytes: number;
  /** The file was zero-filled and synced first: the writes do not change its length. */
  preallocated: boolean;
  mbPerSec: number;
  syncsPerSec: number;
}

/** Write `totalBytes` in `blockBytes` blocks, fdatasync after each; MB = 10⁶ bytes. */
export async function syncSpeed(dir: string, blockBytes: number, totalBytes: number, preallocated: boolean): Promise<SyncSpeed> {
  const work = await mkdtemp(path.join(dir, 'rafka-bench-disk-'));
  const file = path.join(work, 'probe');
  const h = await open(file, 'w+');
  try {
    const blocks = Math.max(1, Math.floor(totalBytes / blockBytes));
    if (preallocated) {
      const zeros = Buffer.alloc(Math.min(blocks * blockBytes, 1 << 20));
      for (let at = 0; at < blocks * blockBytes; at += zeros.length) await h.write(zeros, 0, Math.min(zeros.length, blocks * blockBytes - at), at);
      await h.sync();
    }
    const block = Buffer.alloc(blockBytes, 0x5a);
    const t0 = performance.now();
    for (let i = 0; i < blocks; i++) {
      await h.write(block, 0, blockBytes, i * blockBytes);
      await h.datasync();
    }
    const seconds = (performance.now() - t0) / 1000;
    return { blockBytes, preallocated, mbPerSec: (blocks * blockBytes) / seconds / 1e6, syncsPerSec: blocks / seconds };
  } finally {
    await h.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** The four figures, in `dir` (default: where the bench puts the brokers' data, os.tmpdir()). */
export async function diskSyncSpeeds(quick: boolean, dir = os.tmpdir()): Promise<SyncSpeed[]> {
  const small = quick ? 4 << 20 : 32 << 20;
  const large = quick ? 16 << 20 : 128 << 20;
  const out: SyncSpeed[] = [];
  for (const preallocated of [false, true]) {
    out.push(await syncSpeed(dir, 16 * 1024, small, preallocated));
    out.push(await syncSpeed(dir, 1 << 20, large, preallocated));
  }
  return out;
}

export function describeSyncSpeed(s: SyncSpeed): string {
  const size = s.blockBytes >= 1 << 20 ? `${s.blockBytes >> 20} MiB` : `${s.blockBytes >> 10} KiB`;
  return `fdatasync per ${size}${s.preallocated ? ', preallocated' : ''}: ${s.mbPerSec.toFixed(1)} MB/s (${Math.round(s.syncsPerSec).toLocaleString('en-US')} syncs/s)`;
}
