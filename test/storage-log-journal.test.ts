/**
 * The log engine's shared journal (src/storage/log/journal.ts, `storage.journal`): the conformance
 * suite with the journal on, then crashes that lose what was never synced.
 *
 * A kill -9 keeps the page cache, so it cannot show that the journal alone carried an acknowledged
 * record. These tests simulate a power loss instead: every `.log` file is cut back to the length it
 * had when its last fdatasync started (a FaultHooks seam records it), so whatever only the journal
 * made durable is gone from the segments and must come back from the journal's replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogEngine } from '../src/storage/log/log-engine.js';
import { walkJournal, type JournalEntry } from '../src/storage/log/journal.js';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import type { TopicRecord } from '../src/storage/engine.js';
import type { FaultHooks } from '../src/storage/log/files.js';
import type { LogEngineOptions } from '../src/storage/log/log-engine.js';
import { logEngineConformance, logOptions, tempDir, valuesBatch } from './helpers/log-engine.js';

/** The smallest journal files, so that a few MiB of appends wrap the ring several times. */
const SMALL_FILE_BYTES = 64 * 1024;

const topic = (name: string, partitionCount: number, configs: Record<string, string> = {}): TopicRecord => ({
  name,
  id: `id-${name}`.padEnd(22, 'A').slice(0, 22),
  partitionCount,
  configs,
});

logEngineConformance('log engine with the shared journal (one batch per segment)', {
  fsync: 'always',
  journal: true,
  journalFileBytes: SMALL_FILE_BYTES,
  topicDefaults: { 'internal.segment.bytes': '14' },
});

interface Scene {
  dir: string;
  /** Journal on, fsync always, and the hook that records what a power loss keeps. */
  options: LogEngineOptions;
  /** Cut every segment back to its length when its last fdatasync began; returns the bytes dropped. */
  powerLoss(): number;
  remove(): void;
}

/** A temporary data directory whose engines' segment syncs are recorded, so a power loss can be simulated. */
function scene(extra: Partial<LogEngineOptions> = {}): Scene {
  const t = tempDir();
  const synced = new Map<string, number>();
  const faults: FaultHooks = {
    beforeSync(file: string) {
      if (file.endsWith('.log')) synced.set(file, statSync(file).size);
    },
  };
  return {
    dir: t.dir,
    options: logOptions(t.dir, { fsync: 'always', journal: true, faults, ...extra }),
    remove: t.remove,
    powerLoss(): number {
      const dir = t.dir;
      let dropped = 0;
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        if (!d.isDirectory() || d.name === 'journal') continue;
        for (const n of readdirSync(join(dir, d.name))) {
          if (!n.endsWith('.log')) continue;
          const file = join(dir, d.name, n);
          const keep = synced.get(file) ?? 0;
          const size = statSync(file).size;
          if (size > keep) {
            truncateSync(file, keep);
            dropped += size - keep;
          }
        }
      }
      return dropped;
    },
  };
}

/** Every batch of a partition as (base offset → bytes), read through the engine. */
async function readAll(e: LogEngine, name: string, partition: number): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  let offset = 0;
  for (;;) {
    const r = await e.read(name, partition, offset, 1 << 20, true);
    if (r.batches.length === 0) return out;
    for (const b of r.batches) {
      const h = readBatchHeader(b);
      out.set(h.baseOffset, Buffer.from(b));
      offset = h.lastOffset + 1;
    }
  }
}

interface Acked {
  partition: number;
  baseOffset: number;
  bytes: Buffer;
}

/** Append `rounds` batches to each partition concurrently; returns what was acknowledged. */
async function produce(e: LogEngine, name: string, partitions: number, rounds: number, size: number, seed: number): Promise<Acked[]> {
  const acked: Acked[] = [];
  await Promise.all(
    Array.from({ length: partitions }, async (_, p) => {
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < rounds; i++) {
        const batch = await valuesBatch(1 + (i % 3), 1000 + i, size, seed + p * 7 + i);
        inFlight.push(e.append(name, p, batch).then((r) => void acked.push({ partition: p, baseOffset: r.baseOffset, bytes: Buffer.from(batch.bytes) })));
        if (inFlight.length >= 4) await inFlight.shift();
      }
      await Promise.all(inFlight);
    }),
  );
  return acked;
}

async function checkAcked(e: LogEngine, name: string, partitions: number, acked: Acked[], label: string): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    const all = await readAll(e, name, p);
    for (const a of acked.filter((x) => x.partition === p)) {
      assert.ok(all.get(a.baseOffset)?.equals(a.bytes), `${label}: partition ${p}, the acknowledged batch at ${a.baseOffset} is there byte for byte`);
    }
    let next = 0;
    for (const [base, b] of [...all.entries()].sort((x, y) => x[0] - y[0])) {
      assert.equal(base, next, `${label}: partition ${p} has no gap or overlap at ${base}`);
      next = readBatchHeader(b).lastOffset + 1;
    }
    assert.equal(e.offsets(name, p).highWatermark, next, `${label}: partition ${p}'s high watermark is its last batch's end`);
  }
}

test('journal: acknowledged batches of 8 partitions survive a power loss that drops every unsynced segment byte (the ring wraps)', async () => {
  const t = scene({ journalFileBytes: SMALL_FILE_BYTES });
  const options = t.options;
  try {
    const e = new LogEngine(options);
    await e.open();
    await e.createTopic(topic('j', 8));
    const acked = await produce(e, 'j', 8, 120, 900, 1);
    const journal = e.journal!;
    assert.ok(journal.syncs < acked.length / 2, `one journal sync covers many appends (${journal.syncs} syncs for ${acked.length} appends)`);
    assert.ok(journal.checkpoints >= 8, `the ring wrapped: ${journal.checkpoints} checkpoints`);
    // A last few appends that no checkpoint covers (a checkpoint syncs the segments): only the
    // journal holds them once the power is gone.
    for (let tries = 0; ; tries++) {
      while (journal.checkpointRunning) await new Promise((r) => setTimeout(r, 5));
      const before = journal.checkpoints;
      acked.push(...(await produce(e, 'j', 8, 1, 30, 77 + tries)));
      if (journal.checkpoints === before) break;
      assert.ok(tries < 5, 'appends without a checkpoint in between');
    }
    await e.simulateCrash();
    const dropped = t.powerLoss();
    assert.ok(dropped > 0, 'the power loss took bytes that only the journal made durable');

    const r = new LogEngine(options);
    await r.open();
    try {
      assert.ok(r.lastOpen!.journalReplay!.applied > 0, 'the journal was replayed into the segments');
      await checkAcked(r, 'j', 8, acked, 'after the power loss');
      const more = await produce(r, 'j', 8, 10, 100, 50);
      await checkAcked(r, 'j', 8, [...acked, ...more], 'after producing on');
      // A second crash and power loss in the new generation: stale entries of the first one stay in
      // the files and must never be taken for current ones.
      await r.simulateCrash();
      t.powerLoss();
      const again = new LogEngine(options);
      await again.open();
      await checkAcked(again, 'j', 8, [...acked, ...more], 'after a second power loss');
      more.push(...(await produce(again, 'j', 8, 3, 40, 90)));
      await again.close();
      // A power loss right after a clean close: the close synced every segment before its last
      // checkpoint, so nothing is missing although the journal has nothing to replay.
      t.powerLoss();
      const clean = new LogEngine(options);
      await clean.open();
      assert.equal(clean.lastOpen!.journalReplay!.entries, 0, 'after a clean close the checkpoint is at the end: nothing to replay');
      await checkAcked(clean, 'j', 8, [...acked, ...more], 'after a clean restart');
      await clean.close();
    } finally {
      await r.close().catch(() => {});
    }
  } finally {
    t.remove();
  }
});

test('journal: a torn or corrupt entry ends replay there; what follows it is not applied, what precedes it is', async () => {
  // One partition and a segment size that never rolls: every entry belongs to the same segment.
  const t = scene();
  const options = t.options;
  try {
    const e = new LogEngine(options);
    await e.open();
    await e.createTopic(topic('torn', 1));
    const acked: Acked[] = [];
    for (let i = 0; i < 6; i++) {
      const b = await valuesBatch(2, 100 + i, 50, i);
      const r = await e.append('torn', 0, b);
      acked.push({ partition: 0, baseOffset: r.baseOffset, bytes: Buffer.from(b.bytes) });
    }
    await e.simulateCrash();
    const entries: JournalEntry[] = [];
    await walkJournal(t.dir, (x) => void entries.push(x));
    assert.equal(entries.length, 6, 'one entry per append (each waited for its own sync)');
    entries.forEach((x, i) => {
      assert.equal(x.lsn, i);
      assert.equal(x.topicId, topic('torn', 1).id);
      assert.deepEqual(x.data, acked[i]!.bytes, 'an entry holds the batch bytes as written to the segment');
    });
    t.powerLoss();
    // Damage the fourth entry: the power loss tore it (its appends were never acknowledged then).
    const fourth = entries[3]!;
    const journalBytes = readFileSync(fourth.file);
    journalBytes[fourth.filePosition + fourth.length - 3]! ^= 0xff;
    writeFileSync(fourth.file, journalBytes);

    const r = new LogEngine(options);
    await r.open();
    try {
      assert.equal(r.lastOpen!.journalReplay!.entries, 3, 'replay stops at the damaged entry');
      const all = await readAll(r, 'torn', 0);
      assert.deepEqual([...all.keys()], acked.slice(0, 3).map((a) => a.baseOffset), 'the first three come back, nothing after the damage');
      assert.equal(r.offsets('torn', 0).highWatermark, acked[3]!.baseOffset, 'offsets continue where the replayed log ends');
      const next = await r.append('torn', 0, await valuesBatch(1, 999, 5));
      assert.equal(next.baseOffset, acked[3]!.baseOffset);
    } finally {
      await r.close();
    }
  } finally {
    t.remove();
  }
});

test('journal: entries of a deleted topic, and of one created again under its name, are not replayed into it', async () => {
  const t = scene();
  const options = t.options;
  try {
    const e = new LogEngine(options);
    await e.open();
    await e.createTopic(topic('gone', 2));
    await produce(e, 'gone', 2, 20, 200, 3);
    await e.deleteTopic('gone');
    await e.createTopic({ ...topic('gone', 2), id: 'a-new-id-for-gone-AAAA' });
    const acked = await produce(e, 'gone', 2, 3, 20, 9);
    await e.simulateCrash();
    t.powerLoss();
    const r = new LogEngine(options);
    await r.open();
    try {
      const report = r.lastOpen!.journalReplay!;
      assert.ok(report.entries > report.applied, `the old topic's entries are skipped (${report.entries} read, ${report.applied} applied)`);
      await checkAcked(r, 'gone', 2, acked, 'the new topic holds only its own batches');
    } finally {
      await r.close();
    }
  } finally {
    t.remove();
  }
});

test('journal: a failed journal sync rejects every pending append and takes the partitions offline; none hangs', async () => {
  const t = tempDir();
  let failSync = false;
  try {
    const e = new LogEngine(
      logOptions(t.dir, {
        fsync: 'always',
        journal: true,
        faults: {
          beforeSync(file: string) {
            if (failSync && file.endsWith('.wal')) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
          },
        },
      }),
    );
    await e.open();
    await e.createTopic(topic('off', 2));
    await e.append('off', 0, await valuesBatch(1, 1));
    failSync = true;
    const outcomes = await Promise.race([
      Promise.allSettled([0, 1, 2, 3].map(async (i) => e.append('off', i % 2, await valuesBatch(1, 10 + i, 100, i)))),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000).unref()),
    ]);
    assert.notEqual(outcomes, 'hung', 'every append settles');
    for (const o of outcomes as PromiseSettledResult<unknown>[]) assert.equal(o.status, 'rejected');
    assert.deepEqual([e.offsets('off', 0).highWatermark, e.offsets('off', 1).highWatermark], [1, 0], 'nothing after the failed sync is acknowledged');
    await assert.rejects(e.append('off', 0, await valuesBatch(1, 99)), /offline|journal/);
    await e.simulateCrash();
  } finally {
    t.remove();
  }
});

test('journal: switched off after a crash, its entries are still replayed once and the journal removed', async () => {
  const t = scene();
  try {
    const e = new LogEngine(t.options);
    await e.open();
    await e.createTopic(topic('sw', 3));
    const acked = await produce(e, 'sw', 3, 15, 300, 5);
    await e.simulateCrash();
    t.powerLoss();
    const r = new LogEngine(logOptions(t.dir, { fsync: 'always' }));
    await r.open();
    try {
      assert.ok(r.lastOpen!.journalReplay!.applied > 0);
      assert.ok(!readdirSync(t.dir).includes('journal'), 'the journal directory is gone');
      await checkAcked(r, 'sw', 3, acked, 'replayed with the switch off');
    } finally {
      await r.close();
    }
  } finally {
    t.remove();
  }
});

test('journal: a new journal zero-fills the file ahead of its writer, in the background; entries are never overwritten', async () => {
  const t = tempDir();
  try {
    const e = new LogEngine(logOptions(t.dir, { fsync: 'always', journal: true, journalFileBytes: SMALL_FILE_BYTES }));
    await e.open();
    await e.createTopic(topic('z', 1));
    const file = (i: number) => join(t.dir, 'journal', `journal-${i}.wal`);
    const size = (i: number) => statSync(file(i)).size;
    assert.deepEqual([0, 1, 2, 3].map(size), [0, 0, 0, 0], 'nothing is filled before the first write: start-up does not wait for zeros');
    // Into the third file (about 2.5 files of 64 KiB): the fourth is then filled ahead of the writer.
    const acked = await produce(e, 'z', 1, 150, 500, 1);
    for (let waited = 0; size(3) < SMALL_FILE_BYTES; waited += 10) {
      assert.ok(waited < 10_000, 'the fill of the file ahead finishes');
      await new Promise((r) => setTimeout(r, 10));
    }
    const ahead = readFileSync(file(3));
    assert.equal(size(1), SMALL_FILE_BYTES, 'journal-1.wal was filled (or written) to its size');
    assert.ok(size(0) <= SMALL_FILE_BYTES, 'journal-0.wal, where the writer starts, only grows with its entries');
    const entries: JournalEntry[] = [];
    await e.simulateCrash();
    await walkJournal(t.dir, (x) => void entries.push(x));
    const bytes = Buffer.concat(acked.sort((x, y) => x.baseOffset - y.baseOffset).map((a) => a.bytes));
    // Replay starts at the checkpoint (taken when the writer entered the third file): the entries after
    // it are the end of the segment, byte for byte.
    const journaled = Buffer.concat(entries.map((x) => x.data));
    assert.equal(entries[0]!.segmentPosition, bytes.length - journaled.length);
    assert.deepEqual(journaled, bytes.subarray(bytes.length - journaled.length), 'the entries after the checkpoint hold the appended bytes, in order (the fill never overwrote one)');
    assert.equal(entries[entries.length - 1]!.file, file(2), 'the writer got into the third file');
    assert.ok(ahead.every((b) => b === 0), 'journal-3.wal, ahead of the writer, held zeros');
  } finally {
    t.remove();
  }
});
