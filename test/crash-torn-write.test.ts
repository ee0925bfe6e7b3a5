/**
 * Fault injection at the unit level: the last write of a partition (or of the metadata log) is torn
 * at every byte position, the way a crash or power loss can leave it, and the engine must recover
 * the exact prefix that was whole: every earlier batch served byte for byte, nothing corrupt served,
 * the torn bytes cut off, and the next append taking the first offset that was lost.
 *
 * Three kinds of tear: the file ends early (the write stopped), the unwritten bytes read as zeros
 * (the file was extended but the data never landed), and they hold garbage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import type { TopicRecord } from '../src/storage/engine.js';
import { newLogEngine, tempDir, valuesBatch } from './helpers/log-engine.js';

const topic: TopicRecord = { name: 'torn', id: 'torn-topic-id-AAAAAAAA', partitionCount: 1, configs: {} };
const SEGMENT = join('torn-0', '00000000000000000000.log');

type Tear = 'truncate' | 'zeros' | 'garbage';

function tornCopy(original: Buffer, cut: number, end: number, kind: Tear, seed: number): Buffer {
  if (kind === 'truncate') return original.subarray(0, cut);
  const out = Buffer.from(original.subarray(0, end));
  for (let i = cut; i < end; i++) out[i] = kind === 'zeros' ? 0 : (i * 131 + seed * 17 + 7) & 0xff;
  return out;
}

test('a torn last batch is cut off at every byte position; the prefix is served and offsets continue', async () => {
  const t = tempDir();
  try {
    const e = newLogEngine(t.dir, { fsync: 'always' });
    await e.open();
    await e.createTopic(topic);
    const sizes = [3, 1, 5, 2];
    for (let i = 0; i < sizes.length; i++) await e.append('torn', 0, await valuesBatch(sizes[i]!, 1000 * (i + 1), 20, i));
    const goodBytes = statSync(join(t.dir, SEGMENT)).size;
    const goodEnd = sizes.reduce((a, b) => a + b, 0);
    await e.append('torn', 0, await valuesBatch(2, 9000, 15, 99)); // the write that will be torn
    await e.simulateCrash();
    const original = readFileSync(join(t.dir, SEGMENT));
    const expected = original.subarray(0, goodBytes);
    const end = original.length;
    assert.ok(end - goodBytes > 61, 'the last batch is larger than a header');

    let checked = 0;
    for (const kind of ['truncate', 'zeros', 'garbage'] as Tear[]) {
      for (let cut = goodBytes; cut < end; cut++) {
        const torn = tornCopy(original, cut, end, kind, cut);
        if (torn.equals(original)) continue; // the "torn" bytes happened to be what was written
        writeFileSync(join(t.dir, SEGMENT), torn);
        const r = newLogEngine(t.dir);
        await r.open();
        try {
          const what = `${kind} at byte ${cut - goodBytes} of the last batch`;
          assert.equal(r.lastOpen?.cleanShutdown, false);
          assert.deepEqual(r.offsets('torn', 0), { logStartOffset: 0, highWatermark: goodEnd }, what);
          const read = await r.read('torn', 0, 0, 1 << 20, false);
          assert.deepEqual(Buffer.concat(read.batches), expected, `${what}: the whole batches are served byte for byte`);
          assert.equal(statSync(join(t.dir, SEGMENT)).size, goodBytes, `${what}: the torn tail is cut from the file`);
          const next = await r.append('torn', 0, await valuesBatch(1, 10_000, 5));
          assert.equal(next.baseOffset, goodEnd, `${what}: the lost offsets are given out again, no gap`);
        } finally {
          await r.simulateCrash();
        }
        checked++;
      }
    }
    assert.ok(checked > 3 * (end - goodBytes) - 10, `${checked} torn variants checked`);
  } finally {
    t.remove();
  }
});

test('with the shared journal, a torn acknowledged last batch is written back whole from the journal at every tear', async () => {
  const t = tempDir();
  try {
    const options = { fsync: 'always' as const, journal: true, journalFileBytes: 64 * 1024 };
    const e = newLogEngine(t.dir, options);
    await e.open();
    await e.createTopic(topic);
    const sizes = [3, 1, 5, 2];
    for (let i = 0; i < sizes.length; i++) await e.append('torn', 0, await valuesBatch(sizes[i]!, 1000 * (i + 1), 20, i));
    const goodBytes = statSync(join(t.dir, SEGMENT)).size;
    // Acknowledged: its bytes are in the journal (synced) whatever the segment file holds after a crash.
    await e.append('torn', 0, await valuesBatch(2, 9000, 15, 99));
    const end = sizes.reduce((a, b) => a + b, 0) + 2;
    await e.simulateCrash();
    const original = readFileSync(join(t.dir, SEGMENT));
    // Each open replays the journal and starts a new generation: every variant gets the journal back.
    const journalDir = join(t.dir, 'journal');
    const journal = new Map(readdirSync(journalDir).map((n) => [n, readFileSync(join(journalDir, n))]));
    let checked = 0;
    for (const kind of ['truncate', 'zeros', 'garbage'] as Tear[]) {
      for (let cut = goodBytes; cut < original.length; cut++) {
        const torn = tornCopy(original, cut, original.length, kind, cut);
        if (torn.equals(original)) continue;
        writeFileSync(join(t.dir, SEGMENT), torn);
        rmSync(journalDir, { recursive: true, force: true });
        mkdirSync(journalDir);
        for (const [n, data] of journal) writeFileSync(join(journalDir, n), data);
        const r = newLogEngine(t.dir, options);
        await r.open();
        try {
          const what = `${kind} at byte ${cut - goodBytes} of the last batch`;
          assert.deepEqual(r.offsets('torn', 0), { logStartOffset: 0, highWatermark: end }, what);
          const read = await r.read('torn', 0, 0, 1 << 20, false);
          assert.deepEqual(Buffer.concat(read.batches), original, `${what}: every batch is served byte for byte`);
          assert.equal((await r.append('torn', 0, await valuesBatch(1, 10_000, 5))).baseOffset, end, `${what}: offsets continue after it`);
        } finally {
          await r.simulateCrash();
        }
        checked++;
      }
    }
    assert.ok(checked > 3 * (original.length - goodBytes) - 10, `${checked} torn variants checked`);
  } finally {
    t.remove();
  }
});

test('after recovery from a torn tail the rebuilt indexes find every batch (many batches, small index interval)', async () => {
  const t = tempDir();
  try {
    const e = newLogEngine(t.dir);
    await e.open();
    await e.createTopic({ ...topic, configs: { 'index.interval.bytes': '256' } });
    for (let i = 0; i < 200; i++) await e.append('torn', 0, await valuesBatch(1 + (i % 4), 1000 + i, 30, i));
    await e.simulateCrash();
    const file = join(t.dir, SEGMENT);
    const data = readFileSync(file);
    writeFileSync(file, data.subarray(0, data.length - 7));
    const r = newLogEngine(t.dir);
    await r.open();
    try {
      const hw = r.offsets('torn', 0).highWatermark;
      for (let offset = 0; offset < hw; offset += 3) {
        const read = await r.read('torn', 0, offset, 1, true);
        const h = readBatchHeader(read.batches[0]!);
        assert.ok(h.baseOffset <= offset && offset <= h.lastOffset, `offset ${offset} in ${h.baseOffset}-${h.lastOffset}`);
      }
      assert.ok(readdirSync(join(t.dir, 'torn-0')).every((n) => !n.endsWith('.tmp')));
    } finally {
      await r.close();
    }
  } finally {
    t.remove();
  }
});

test('a torn last metadata record is cut at every byte position; the state before it comes back', async () => {
  const t = tempDir();
  try {
    const e = newLogEngine(t.dir);
    await e.open();
    await e.createTopic(topic);
    await e.commitOffsets('g', [{ topic: 'torn', partition: 0, committed: { offset: 5, leaderEpoch: 0, metadata: 'five', commitTimestampMs: 1 } }]);
    const metaFile = join(t.dir, 'metadata.log');
    const goodBytes = statSync(metaFile).size;
    await e.commitOffsets('g', [{ topic: 'torn', partition: 0, committed: { offset: 9, leaderEpoch: 0, metadata: 'nine', commitTimestampMs: 2 } }]);
    await e.simulateCrash();
    const original = readFileSync(metaFile);
    for (const kind of ['truncate', 'zeros', 'garbage'] as Tear[]) {
      for (let cut = goodBytes; cut < original.length; cut++) {
        const torn = tornCopy(original, cut, original.length, kind, cut);
        if (torn.equals(original)) continue;
        writeFileSync(metaFile, torn);
        const r = newLogEngine(t.dir);
        const meta = await r.open();
        try {
          assert.deepEqual(meta.topics.map((x) => x.name), ['torn']);
          assert.equal(r.fetchOffsets('g').get('torn\u00000')?.offset, 5, `${kind} at ${cut}`);
          assert.equal(statSync(metaFile).size, goodBytes);
        } finally {
          await r.simulateCrash();
        }
      }
      writeFileSync(metaFile, original);
    }
    const whole = newLogEngine(t.dir);
    await whole.open();
    assert.equal(whole.fetchOffsets('g').get('torn\u00000')?.offset, 9, 'the untorn record is kept');
    await whole.close();
  } finally {
    t.remove();
  }
});
