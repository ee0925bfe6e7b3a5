/**
 * The `log` engine: the shared conformance suite (with clean restarts), then what is particular to
 * segments on disk — a model check against the in-memory reference engine across many segments and
 * restarts, group commit, segment roll by size and time, indexes, disk errors, the directory lock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LogEngine } from '../src/storage/log/log-engine.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import { errnoError } from '../src/storage/log/files.js';
import type { TopicRecord } from '../src/storage/engine.js';
import { logEngineConformance, logOptions, newLogEngine, tempDir, valuesBatch } from './helpers/log-engine.js';

const topic = (name: string, partitionCount = 1, configs: Record<string, string> = {}): TopicRecord => ({
  name,
  id: `id-${name}`.padEnd(22, 'A').slice(0, 22),
  partitionCount,
  configs,
});

// Every batch in its own segment (internal.segment.bytes below any batch), so that retention and
// DeleteRecords, which remove whole segments, can be observed on a handful of batches.
for (const fsync of ['always', 'never'] as const) {
  logEngineConformance(`log engine (fsync ${fsync}, one batch per segment)`, { fsync, topicDefaults: { 'internal.segment.bytes': '14' } });
}

/** A small deterministic PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('log engine reads exactly what the memory engine reads, across segments, restarts and retention', async () => {
  const t = tempDir();
  const rnd = prng(7);
  const cfg = { 'internal.segment.bytes': '16384', 'index.interval.bytes': '512' };
  let log: LogEngine = newLogEngine(t.dir);
  const mem = new MemoryEngine();
  try {
    await log.open();
    await mem.open();
    await log.createTopic(topic('m', 1, cfg));
    await mem.createTopic(topic('m', 1, cfg));
    const appendBoth = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const count = 1 + Math.floor(rnd() * 8);
        const ts = 1_000_000 + Math.floor(rnd() * 100_000);
        const a = await valuesBatch(count, ts, 1 + Math.floor(rnd() * 400), i);
        const b = { ...a, bytes: Buffer.from(a.bytes) };
        const [x, y] = await Promise.all([log.append('m', 0, a), mem.append('m', 0, b)]);
        assert.equal(x.baseOffset, y.baseOffset);
      }
    };
    const compare = async (label: string) => {
      assert.deepEqual(log.offsets('m', 0), mem.offsets('m', 0), label);
      const { logStartOffset, highWatermark } = mem.offsets('m', 0);
      for (let i = 0; i < 60; i++) {
        const offset = logStartOffset + Math.floor(rnd() * (highWatermark - logStartOffset + 2));
        const maxBytes = Math.floor(rnd() * 40_000);
        const minOne = rnd() < 0.5;
        const [a, b] = await Promise.all([log.read('m', 0, offset, maxBytes, minOne), mem.read('m', 0, offset, maxBytes, minOne)]);
        assert.equal(a.bytes, b.bytes, `${label}: read(${offset}, ${maxBytes}, ${minOne}) bytes`);
        assert.deepEqual(a.batches, b.batches, `${label}: read(${offset}, ${maxBytes}, ${minOne})`);
      }
      for (let i = 0; i < 30; i++) {
        const ts = 990_000 + Math.floor(rnd() * 120_000);
        const [a, b] = await Promise.all([log.findBatchByTimestamp('m', 0, ts), mem.findBatchByTimestamp('m', 0, ts)]);
        assert.deepEqual(a, b, `${label}: findBatchByTimestamp(${ts})`);
      }
      assert.deepEqual(await log.findMaxTimestampBatch('m', 0), await mem.findMaxTimestampBatch('m', 0), `${label}: max timestamp`);
    };
    await appendBoth(400);
    assert.ok(readdirSync(join(t.dir, 'm-0')).filter((n) => n.endsWith('.log')).length > 5, 'several segments');
    await compare('fresh');
    await log.close();
    log = newLogEngine(t.dir);
    await log.open();
    assert.equal(log.lastOpen?.cleanShutdown, true);
    await compare('after a clean restart');
    await appendBoth(100);
    await compare('appending after the restart');
    // DeleteRecords in the middle of a batch: both engines serve the batch holding the new start.
    const mid = Math.floor(mem.offsets('m', 0).highWatermark / 3);
    assert.equal(await log.deleteRecordsBefore('m', 0, mid), await mem.deleteRecordsBefore('m', 0, mid));
    await compare('after DeleteRecords');
    // Unclean: the engine is dropped without close (no marker, active indexes never written).
    await log.simulateCrash();
    log = newLogEngine(t.dir);
    await log.open();
    assert.equal(log.lastOpen?.cleanShutdown, false);
    await compare('after an unclean restart');
  } finally {
    await log.close();
    t.remove();
  }
});

test('group commit: concurrent appends share fsyncs and resolve only after theirs', async () => {
  const t = tempDir();
  let syncs = 0;
  let syncedAppends = 0;
  let resolvedBeforeSync = 0;
  const e = newLogEngine(t.dir, {
    fsync: 'always',
    faults: {
      beforeSync: (file) => {
        if (file.endsWith('.log') && file.includes('gc-0')) syncs++;
      },
    },
  });
  try {
    await e.open();
    await e.createTopic(topic('gc'));
    syncs = 0;
    const n = 300;
    const batches = await Promise.all(Array.from({ length: n }, (_, i) => valuesBatch(2, 1000 + i, 100)));
    const results = await Promise.all(
      batches.map(async (b) => {
        const r = await e.append('gc', 0, b);
        // Every resolved append must be covered by a completed fsync of its bytes.
        if (syncs === 0) resolvedBeforeSync++;
        syncedAppends++;
        return r.baseOffset;
      }),
    );
    assert.deepEqual(results, Array.from({ length: n }, (_, i) => i * 2), 'offsets in call order');
    assert.equal(resolvedBeforeSync, 0);
    assert.equal(syncedAppends, n);
    assert.ok(syncs >= 1 && syncs < n / 4, `${syncs} fsyncs for ${n} concurrent appends`);
    assert.equal(e.offsets('gc', 0).highWatermark, 2 * n);
  } finally {
    await e.close();
    t.remove();
  }
});

test('with fsync interval appends resolve before any fsync; the timer syncs later', async () => {
  const t = tempDir();
  let syncs = 0;
  const e = newLogEngine(t.dir, { fsync: 'interval', fsyncIntervalMs: 50, faults: { beforeSync: (f) => void (f.endsWith('.log') && syncs++) } });
  try {
    await e.open();
    await e.createTopic(topic('iv'));
    syncs = 0;
    await e.append('iv', 0, await valuesBatch(1, 1));
    assert.equal(syncs, 0);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(syncs >= 1, 'the interval timer synced');
  } finally {
    await e.close();
    t.remove();
  }
});

test('topic flush.messages makes every Nth append wait for an fsync under fsync=never', async () => {
  const t = tempDir();
  let syncs = 0;
  const e = newLogEngine(t.dir, { fsync: 'never', faults: { beforeSync: (f) => void (f.endsWith('.log') && syncs++) } });
  try {
    await e.open();
    await e.createTopic(topic('fm', 1, { 'flush.messages': '3' }));
    syncs = 0;
    for (let i = 0; i < 6; i++) await e.append('fm', 0, await valuesBatch(1, i));
    assert.equal(syncs, 2);
  } finally {
    await e.close();
    t.remove();
  }
});

test('segments roll by segment.bytes and by segment.ms (batch timestamps), and are named by base offset', async () => {
  const t = tempDir();
  const e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(topic('roll', 1, { 'internal.segment.bytes': '1000', 'segment.ms': '60000' }));
    for (let i = 0; i < 10; i++) await e.append('roll', 0, await valuesBatch(2, 1000, 150)); // ~390 bytes each
    const logs = () => readdirSync(join(t.dir, 'roll-0')).filter((n) => n.endsWith('.log')).sort();
    assert.deepEqual(logs(), ['00000000000000000000.log', '00000000000000000004.log', '00000000000000000008.log', '00000000000000000012.log', '00000000000000000016.log']);
    // Sealed segments got their indexes when rolled.
    assert.ok(existsSync(join(t.dir, 'roll-0', '00000000000000000000.index')));
    assert.ok(existsSync(join(t.dir, 'roll-0', '00000000000000000000.timeindex')));
    // A batch more than segment.ms newer than the active segment's first batch rolls it.
    await e.append('roll', 0, await valuesBatch(1, 1001 + 60_001, 10));
    assert.equal(logs().at(-1), '00000000000000000020.log');
    await e.append('roll', 0, await valuesBatch(1, 1001 + 60_002, 10));
    assert.equal(logs().length, 6, 'within segment.ms of the new segment: no roll');
  } finally {
    await e.close();
    t.remove();
  }
});

test('retention deletes whole sealed segments only and never the active one', async () => {
  const t = tempDir();
  const e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(topic('ret', 1, { 'internal.segment.bytes': '1000' }));
    for (let i = 0; i < 10; i++) await e.append('ret', 0, await valuesBatch(2, 1000 * (i + 1), 150));
    // Segments: [0-3] ts ≤ 2001, [4-7] ≤ 4001, [8-11], [12-15], [16-19] (active).
    assert.equal(await e.applyRetention('ret', 0, { retentionMs: 1000, retentionBytes: -1, nowMs: 5500 }), 8);
    assert.equal(await e.applyRetention('ret', 0, { retentionMs: 0, retentionBytes: -1, nowMs: 1e13 }), 16);
    assert.deepEqual(readdirSync(join(t.dir, 'ret-0')).filter((n) => n.endsWith('.log')), ['00000000000000000016.log']);
    const read = await e.read('ret', 0, 0, 1 << 20, false);
    assert.equal(readBatchHeader(read.batches[0]!).baseOffset, 16, 'reads below the log start begin at the log start');
  } finally {
    await e.close();
    t.remove();
  }
});

test('a full or read-only disk fails the append with a storage error; offsets are reused and reads go on', async () => {
  const t = tempDir();
  let failWith: string | null = null;
  const e = newLogEngine(t.dir, {
    faults: {
      beforeWrite: (file, bytes) => {
        if (failWith && file.endsWith('.log')) throw errnoError(failWith, 'write', file, `${bytes} bytes`);
      },
    },
  });
  try {
    await e.open();
    await e.createTopic(topic('disk'));
    assert.equal((await e.append('disk', 0, await valuesBatch(2, 1))).baseOffset, 0);
    for (const code of ['ENOSPC', 'EROFS']) {
      failWith = code;
      const failures = await Promise.allSettled([e.append('disk', 0, await valuesBatch(1, 2)), e.append('disk', 0, await valuesBatch(1, 3))]);
      for (const f of failures) {
        assert.equal(f.status, 'rejected');
        assert.match(String((f as PromiseRejectedResult).reason.message), code === 'ENOSPC' ? /no space left/ : /read-only/);
        assert.equal((f as PromiseRejectedResult).reason.code, 'KAFKA_STORAGE_ERROR');
      }
      assert.deepEqual(e.offsets('disk', 0), { logStartOffset: 0, highWatermark: 2 });
      const read = await e.read('disk', 0, 0, 1 << 20, true);
      assert.equal(read.batches.length, 1, 'reads keep working');
    }
    failWith = null;
    assert.equal((await e.append('disk', 0, await valuesBatch(1, 4))).baseOffset, 2, 'the failed offsets are handed out again');
    assert.equal(statSync(join(t.dir, 'disk-0', '00000000000000000000.log')).size, e.sizeBytes('disk', 0), 'no partial bytes left behind');
  } finally {
    await e.close();
    t.remove();
  }
});

test('a failed fsync takes the partition offline for appends (reads continue) until a restart', async () => {
  const t = tempDir();
  let failSync = false;
  const e = newLogEngine(t.dir, {
    faults: {
      beforeSync: (file) => {
        if (failSync && file.endsWith('.log')) throw errnoError('EIO', 'fsync', file);
      },
    },
  });
  try {
    await e.open();
    await e.createTopic(topic('io'));
    await e.append('io', 0, await valuesBatch(1, 1));
    failSync = true;
    await assert.rejects(e.append('io', 0, await valuesBatch(1, 2)), /I\/O error/);
    failSync = false;
    await assert.rejects(e.append('io', 0, await valuesBatch(1, 3)), /offline/);
    assert.equal((await e.read('io', 0, 0, 1 << 20, true)).batches.length, 1);
  } finally {
    await e.close();
  }
  const again = newLogEngine(t.dir);
  try {
    await again.open();
    assert.equal(again.lastOpen?.cleanShutdown, false, 'no clean-shutdown marker after a failed partition');
    const hw = again.offsets('io', 0).highWatermark;
    assert.equal((await again.append('io', 0, await valuesBatch(1, 4))).baseOffset, hw);
  } finally {
    await again.close();
    t.remove();
  }
});

test('the data directory is locked, owned by the log engine, and an unusable path is a clear error', async () => {
  const t = tempDir();
  const a = newLogEngine(t.dir);
  try {
    await a.open();
    // A second engine on the same directory (another broker in another process alike: the lock is a
    // kernel socket, see test/storage-dir-lock.test.ts).
    await assert.rejects(newLogEngine(t.dir).open(), new RegExp(`in use by another broker \\(pid ${process.pid}\\)`));
  } finally {
    await a.close();
  }
  writeFileSync(join(t.dir, 'storage.json'), '{"engine":"rocksdb","version":1}');
  await assert.rejects(newLogEngine(t.dir).open(), /holds data of the rocksdb engine/);
  const file = join(t.dir, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(newLogEngine(join(file, 'sub')).open(), /cannot use data directory .*a-file\/sub/);
  await assert.rejects(newLogEngine(file).open(), /cannot use data directory/);
  t.remove();
});

test('deleting a topic removes its directories; a recreated topic starts empty', async () => {
  const t = tempDir();
  let e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(topic('gone', 2));
    await e.append('gone', 1, await valuesBatch(3, 1));
    await e.deleteTopic('gone');
    assert.ok(!existsSync(join(t.dir, 'gone-0')) && !existsSync(join(t.dir, 'gone-1')));
    await e.createTopic(topic('gone', 2));
    assert.deepEqual(e.offsets('gone', 1), { logStartOffset: 0, highWatermark: 0 });
    // A partition directory no topic owns (a create cut short by a crash) is removed at open.
    mkdirSync(join(t.dir, 'stray-0'));
    await e.close();
    e = newLogEngine(t.dir);
    await e.open();
    assert.ok(!existsSync(join(t.dir, 'stray-0')));
    assert.deepEqual(e.offsets('gone', 1), { logStartOffset: 0, highWatermark: 0 });
  } finally {
    await e.close();
    t.remove();
  }
});

test('storage.fsync and storage.fsync.interval.ms are read from the file and the environment, and checked', async () => {
  const { loadConfig, parseConfigText } = await import('../src/config/load.js');
  const fromFile = parseConfigText('storage:\n  type: log\n  fsync: interval\n  fsync.interval.ms: 250\n', 'r.yaml');
  assert.deepEqual(fromFile.storage, { type: 'log', fsync: 'interval', fsyncIntervalMs: 250 });
  const c = loadConfig({ env: { RAFKA_STORAGE_FSYNC: 'never', RAFKA_STORAGE_FSYNC_INTERVAL_MS: '5' } });
  assert.equal(c.storage.fsync, 'never');
  assert.equal(c.storage.fsyncIntervalMs, 5);
  assert.throws(() => parseConfigText('storage:\n  fsync: sometimes\n', 'r.yaml'), /r\.yaml:2:10: storage\.fsync: must be one of always, interval, never \(got "sometimes"\)/);
  assert.throws(() => parseConfigText('storage:\n  fsnyc: always\n', 'r.yaml'), /did you mean "fsync"/);
  assert.equal(loadConfig({ env: {} }).logRetentionCheckIntervalMs, 300000);
});
