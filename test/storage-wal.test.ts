/**
 * The `memory` engine with a write-ahead log and snapshots (src/storage/memory-wal/): the shared
 * conformance suite with real restarts, then fault injection on the files themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storageConformance } from './storage-conformance.js';
import { WalMemoryEngine, type WalEngineOptions } from '../src/storage/memory-wal/wal-engine.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { createStorageEngine } from '../src/storage/index.js';
import type { StorageEngine, TopicRecord } from '../src/storage/engine.js';
import { valuesBatch } from './helpers/log-engine.js';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import { FRAME_HEADER_BYTES } from '../src/storage/memory-wal/wal-format.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'rafka-wal-'));
  dirs.push(d);
  return d;
}
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const topic = (name: string, partitionCount = 1): TopicRecord => ({ name, id: `id-${name}`.padEnd(22, 'A').slice(0, 22), partitionCount, configs: {} });

const batchOf = valuesBatch;

async function openEngine(dir: string, options: Partial<WalEngineOptions> = {}): Promise<WalMemoryEngine> {
  const e = new WalMemoryEngine({ path: dir, ...options });
  await e.open();
  return e;
}

/** Everything observable about an engine's state, for comparing two engines. */
async function dump(e: StorageEngine) {
  const meta = await e.open();
  const partitions: unknown[] = [];
  for (const t of meta.topics) {
    for (let p = 0; p < t.partitionCount; p++) {
      const read = await e.read(t.name, p, 0, Number.MAX_SAFE_INTEGER, true);
      partitions.push([t.name, p, e.offsets(t.name, p), e.sizeBytes(t.name, p), read.batches.map((b) => b.toString('base64'))]);
    }
  }
  const groups = e.listOffsetGroups().sort().map((g) => [g, [...e.fetchOffsets(g).entries()].sort()]);
  const metadata = [...e.groupMetadata()].map(([k, v]) => [k, v.toString('hex')]).sort();
  const txnStates = [...e.transactionStates()].map(([k, v]) => [k, v.toString('hex')]).sort();
  return { meta, partitions, groups, metadata, txnStates };
}

// ---- conformance ---------------------------------------------------------------------------------

for (const fsync of ['always', 'interval', 'never'] as const) {
  storageConformance(
    `memory+WAL engine (fsync ${fsync})`,
    async () => new WalMemoryEngine({ path: tempDir(), fsync, fsyncIntervalMs: 5 }),
    {
      reopen: async (engine) => {
        await engine.close();
        return new WalMemoryEngine({ path: (engine as WalMemoryEngine).dir, fsync, fsyncIntervalMs: 5 });
      },
    },
  );
}

// A snapshot after almost every mutation: every conformance restart then goes through snapshot load.
storageConformance('memory+WAL engine (snapshot on every write)', async () => new WalMemoryEngine({ path: tempDir(), snapshotBytes: 1 }), {
  reopen: async (engine) => {
    await engine.close();
    return new WalMemoryEngine({ path: (engine as WalMemoryEngine).dir, snapshotBytes: 1 });
  },
});

test('createStorageEngine: memory with a path is the WAL engine, without one the pure memory engine', async () => {
  const dir = tempDir();
  const durable = await createStorageEngine({ type: 'memory', path: dir, fsync: 'never' });
  assert.ok(durable instanceof WalMemoryEngine);
  assert.equal(durable.kind, 'memory');
  assert.equal(durable.durable, true);
  await durable.open();
  await durable.close();
  const pure = await createStorageEngine({ type: 'memory', path: null });
  assert.ok(pure instanceof MemoryEngine && !(pure instanceof WalMemoryEngine));
  assert.equal(pure.durable, false);
});

// ---- torn writes ---------------------------------------------------------------------------------

/**
 * Writes a WAL of known entries, then for every byte position of the file cuts it there (as a crash
 * in the middle of a write would) and recovers: exactly the entries wholly before the cut survive,
 * the state equals a reference engine that applied just those, and appends continue from there.
 */
test('WAL: a write torn at every byte position recovers to the last whole entry', async () => {
  const source = tempDir();
  // Each step is one WAL entry; `boundaries[i]` is the file size after step i.
  const steps: Array<(e: StorageEngine) => Promise<unknown>> = [
    (e) => e.createTopic(topic('t', 2)),
    async (e) => e.append('t', 0, await batchOf(2, 1000, 5, 1)),
    async (e) => e.append('t', 1, await batchOf(1, 2000, 5, 2)),
    (e) => e.commitOffsets('g', [{ topic: 't', partition: 0, committed: { offset: 1, leaderEpoch: 0, metadata: 'm', commitTimestampMs: 5 } }]),
    async (e) => e.append('t', 0, await batchOf(3, 3000, 5, 3)),
    (e) => e.deleteRecordsBefore('t', 0, 2),
    (e) => e.putGroupMetadata('g', Buffer.from('state')),
    async (e) => e.append('t', 0, await batchOf(1, 4000, 5, 4)),
  ];
  const walFile = () => path.join(source, readdirSync(source).find((n) => n.startsWith('wal-'))!);
  const e = await openEngine(source, { fsync: 'always' });
  const boundaries = [statSync(walFile()).size];
  for (const step of steps) {
    await step(e);
    boundaries.push(statSync(walFile()).size);
  }
  await e.close();
  const full = readFileSync(walFile());
  assert.equal(full.length, boundaries[boundaries.length - 1]);

  // Reference states: a pure memory engine after the first k steps.
  const expected: Array<Awaited<ReturnType<typeof dump>>> = [];
  for (let k = 0; k <= steps.length; k++) {
    const ref = new MemoryEngine();
    await ref.open();
    for (const step of steps.slice(0, k)) await step(ref);
    expected.push(await dump(ref));
  }

  for (let cut = 0; cut <= full.length; cut++) {
    const dir = tempDir();
    writeFileSync(path.join(dir, path.basename(walFile())), full.subarray(0, cut));
    const r = await openEngine(dir);
    const whole = boundaries.filter((b) => b <= cut).length - 1; // steps wholly in the file
    const survived = Math.max(whole, 0);
    assert.deepEqual(await dump(r), expected[survived], `cut at byte ${cut}: expected the first ${survived} entries`);
    assert.equal(r.recovery!.droppedBytes, cut < boundaries[0]! ? cut : cut - boundaries[survived]!, `cut at ${cut}`);
    // Offsets continue after the dropped tail, and the new entry is durable after another restart.
    if (survived >= 1) {
      const hw = r.offsets('t', 0).highWatermark;
      assert.equal((await r.append('t', 0, await batchOf(1, 9000, 5, 9))).baseOffset, hw);
      await r.close();
      const again = await openEngine(dir);
      assert.equal(again.offsets('t', 0).highWatermark, hw + 1, `cut at ${cut}: the append after recovery survives`);
      assert.equal(again.recovery!.droppedBytes, 0, 'recovery cut the torn tail off, so the next open finds none');
      await again.close();
    } else {
      await r.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAL: a corrupt entry (bit flip) ends replay there; the entries after it are never served', async () => {
  const dir = tempDir();
  const e = await openEngine(dir);
  await e.createTopic(topic('c'));
  for (let i = 0; i < 5; i++) await e.append('c', 0, await batchOf(1, i, 20, i));
  await e.close();
  const file = path.join(dir, readdirSync(dir).find((n) => n.startsWith('wal-'))!);
  const bytes = readFileSync(file);
  // Entries are header, createTopic, then 5 appends of equal size: flip a byte inside the third append.
  const appendFrame = (bytes.length - frameEnd(bytes, 2)) / 5;
  const third = frameEnd(bytes, 2) + 2 * appendFrame;
  bytes[third + FRAME_HEADER_BYTES + 30] ^= 0x40;
  writeFileSync(file, bytes);
  const r = await openEngine(dir);
  assert.deepEqual(r.offsets('c', 0), { logStartOffset: 0, highWatermark: 2 });
  assert.equal(r.recovery!.droppedBytes, 3 * appendFrame);
  const read = await r.read('c', 0, 0, 1 << 20, false);
  assert.deepEqual(read.batches.map((b) => readBatchHeader(b).baseOffset), [0, 1]);
  assert.equal((await r.append('c', 0, await batchOf(1, 99))).baseOffset, 2, 'offset 2 is reused: it was never acknowledged as durable');
  await r.close();
});

/** Byte position after the first `n` frames of a file. */
function frameEnd(file: Buffer, n: number): number {
  let pos = 0;
  for (let i = 0; i < n; i++) pos += FRAME_HEADER_BYTES + file.readUInt32BE(pos);
  return pos;
}

test('WAL: all-zero bytes after the last entry (a preallocated block) are dropped', async () => {
  const dir = tempDir();
  const e = await openEngine(dir);
  await e.createTopic(topic('z'));
  await e.append('z', 0, await batchOf(2, 1));
  await e.close();
  const file = path.join(dir, readdirSync(dir).find((n) => n.startsWith('wal-'))!);
  const size = statSync(file).size;
  truncateSync(file, size + 4096);
  const r = await openEngine(dir);
  assert.equal(r.offsets('z', 0).highWatermark, 2);
  assert.equal(r.recovery!.droppedBytes, 4096);
  await r.close();
  assert.equal(statSync(file).size, size, 'the zeros were cut off');
});

// ---- snapshots -----------------------------------------------------------------------------------

test('WAL: snapshots are taken as the WAL grows; snapshot + replay rebuild the state after many mutations', async () => {
  const dir = tempDir();
  const e = await openEngine(dir, { snapshotBytes: 16 * 1024, fsync: 'never' });
  const ref = new MemoryEngine();
  await ref.open();
  const both = async (f: (x: StorageEngine) => Promise<unknown>) => {
    await f(e);
    await f(ref);
    await e.snapshotSettled(); // one mutation at a time meets a finished snapshot: deterministic count
  };
  await both((x) => x.setClusterId('snap-cluster'));
  await both((x) => x.createTopic(topic('a', 3)));
  await both((x) => x.createTopic(topic('b', 1)));
  let seed = 1;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let i = 0; i < 600; i++) {
    const op = rand(20);
    if (op < 14) {
      const b = await batchOf(1 + rand(4), 1000 + i, 50 + rand(200), i);
      await both((x) => x.append('a', i % 3, { ...b, bytes: Buffer.from(b.bytes) }));
    } else if (op < 15) {
      const p = rand(3);
      const target = Math.floor(ref.offsets('a', p).highWatermark * 0.7);
      await both((x) => x.deleteRecordsBefore('a', p, target));
    } else if (op < 16) {
      const p = rand(3);
      await both((x) => x.applyRetention('a', p, { retentionMs: -1, retentionBytes: 4000, nowMs: 0 }));
    } else if (op < 18) {
      const [g, p] = [rand(3), rand(3)];
      await both((x) => x.commitOffsets(`g${g}`, [{ topic: 'a', partition: p, committed: { offset: i, leaderEpoch: 1, metadata: null, commitTimestampMs: i } }]));
    } else if (op < 19) {
      const [g, del] = [rand(3), rand(4) === 0];
      await both((x) => x.putGroupMetadata(`g${g}`, del ? null : Buffer.from(`gen-${i}`)));
      await both((x) => x.putTransactionState(`tx${g}`, del ? null : Buffer.from(`state-${i}`)));
    } else {
      await both((x) => x.setNextProducerId(i * 10));
    }
    if (i === 300) {
      await both((x) => x.deleteTopic('b'));
      await both((x) => x.createTopic(topic('b', 2)));
      await both((x) => x.updateTopic({ ...topic('a', 4), configs: { 'retention.ms': '5' } }));
    }
  }
  await e.close();
  assert.ok(e.snapshotsWritten >= 3, `snapshots written: ${e.snapshotsWritten}`);
  const files = readdirSync(dir).sort();
  assert.equal(files.filter((f) => f.endsWith('.snap')).length, 1, `one snapshot is kept: ${files}`);
  assert.ok(!files.some((f) => f.endsWith('.tmp')));

  const r = await openEngine(dir, { snapshotBytes: 16 * 1024 });
  assert.notEqual(r.recovery!.snapshotSeq, null);
  assert.ok(r.recovery!.entriesReplayed > 0, 'entries after the snapshot came from the WAL');
  assert.deepEqual(await dump(r), await dump(ref));
  await r.close();
});

test('WAL: a snapshot interrupted before its rename is ignored; recovery replays the WAL files instead', async () => {
  const dir = tempDir();
  const e = await openEngine(dir);
  await e.createTopic(topic('s'));
  await e.append('s', 0, await batchOf(3, 1));
  await e.snapshotNow();
  await e.append('s', 0, await batchOf(2, 2));
  await e.close();
  // Make it look as if the process died while writing snapshot 2: WAL 1 holds the last append.
  writeFileSync(path.join(dir, 'snapshot-0000000002.tmp'), Buffer.from('half a snapshot'));
  const r = await openEngine(dir);
  assert.equal(r.recovery!.snapshotSeq, 1);
  assert.deepEqual(r.offsets('s', 0), { logStartOffset: 0, highWatermark: 5 });
  await r.close();
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')), 'the unfinished snapshot was removed');
});

test('WAL: a damaged snapshot stops the engine from starting instead of losing its state', async () => {
  const dir = tempDir();
  const e = await openEngine(dir);
  await e.createTopic(topic('d'));
  await e.append('d', 0, await batchOf(3, 1, 100));
  await e.snapshotNow();
  await e.close();
  const snap = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.snap'))!);
  const bytes = readFileSync(snap);
  bytes[bytes.length - 40] ^= 1;
  writeFileSync(snap, bytes);
  await assert.rejects(openEngine(dir), /snapshot .* is damaged/);
});

test('WAL: operations after an I/O failure are refused with a storage error', async () => {
  const dir = tempDir();
  const e = await openEngine(dir);
  await e.createTopic(topic('f'));
  // Simulate the disk going away under the writer: close its file handle behind its back.
  await (e as unknown as { writer: { fh: { close(): Promise<void> } } }).writer.fh.close();
  await assert.rejects(e.append('f', 0, await batchOf(1, 1)), /write-ahead log I\/O failed/);
  await assert.rejects(e.read('f', 0, 0, 100, true), /write-ahead log I\/O failed/);
  await assert.rejects(e.createTopic(topic('g')), /write-ahead log I\/O failed/);
  await e.close();
});

test('WAL: a data directory is used by one engine at a time; a dead owner\'s LOCK file does not block', async () => {
  const dir = tempDir();
  const first = await openEngine(dir);
  await assert.rejects(openEngine(dir), /already open in this process/);
  await first.close();
  // The LOCK file of a process that was killed (it only names the holder; the lock is a kernel socket).
  writeFileSync(path.join(dir, 'LOCK'), `${4194305}\n`);
  const second = await openEngine(dir);
  await second.close();
  assert.ok(!readdirSync(dir).includes('LOCK'), 'close releases the lock');
});
