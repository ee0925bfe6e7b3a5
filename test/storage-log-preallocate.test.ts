/**
 * `preallocate` (Kafka's topic config) on the log engine (issue 22): the active segment keeps a
 * zero-filled tail ahead of its data so that an append's fdatasync commits data only. The tail must
 * never be served or mistaken for damage: it is cut at roll and at a clean close, and recovery after
 * a crash cuts it silently, while a torn batch in front of it is still found and reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TopicRecord } from '../src/storage/engine.js';
import { newLogEngine, tempDir, valuesBatch } from './helpers/log-engine.js';
import { waitFor } from './helpers/robust.js';
import { PREALLOCATE_CHUNK_BYTES, PREALLOCATE_FIRST_BYTES } from '../src/storage/log/log-segment.js';

const topic: TopicRecord = { name: 'pre', id: 'pre-topic-id-AAAAAAAAAA', partitionCount: 1, configs: { preallocate: 'true' } };
const SEGMENT = join('pre-0', '00000000000000000000.log');

test('preallocate: the zero tail is never served; a crash leaves it and recovery cuts it without calling it damage', async () => {
  const t = tempDir();
  try {
    const e = newLogEngine(t.dir, { fsync: 'always' });
    await e.open();
    await e.createTopic(topic);
    for (let i = 0; i < 10; i++) await e.append('pre', 0, await valuesBatch(3, 1000 + i, 100, i));
    const dataBytes = e.sizeBytes('pre', 0);
    assert.ok(await waitFor(() => statSync(join(t.dir, SEGMENT)).size > dataBytes), 'the file is longer than its data');
    const before = Buffer.concat((await e.read('pre', 0, 0, 1 << 20, false)).batches);
    assert.equal(before.length, dataBytes, 'reads stop at the data');
    await e.simulateCrash();

    const r = newLogEngine(t.dir);
    await r.open();
    try {
      assert.equal(r.lastOpen?.cleanShutdown, false);
      assert.equal(r.lastOpen?.truncatedPartitions, 0, 'a zero tail is not damage');
      assert.deepEqual(r.offsets('pre', 0), { logStartOffset: 0, highWatermark: 30 });
      assert.deepEqual(Buffer.concat((await r.read('pre', 0, 0, 1 << 20, false)).batches), before);
      assert.equal(statSync(join(t.dir, SEGMENT)).size, dataBytes, 'the tail is cut from the file');
      assert.equal((await r.append('pre', 0, await valuesBatch(1, 5000))).baseOffset, 30);
    } finally {
      await r.simulateCrash();
    }
  } finally {
    t.remove();
  }
});

test('preallocate: a torn last batch in front of the zero tail is cut and reported, the prefix served byte for byte', async () => {
  const t = tempDir();
  try {
    const e = newLogEngine(t.dir, { fsync: 'always' });
    await e.open();
    await e.createTopic(topic);
    for (let i = 0; i < 4; i++) await e.append('pre', 0, await valuesBatch(2, 1000 + i, 50, i));
    const goodBytes = e.sizeBytes('pre', 0);
    await e.append('pre', 0, await valuesBatch(2, 9000, 40, 99));
    const end = e.sizeBytes('pre', 0);
    assert.ok(await waitFor(() => statSync(join(t.dir, SEGMENT)).size > end));
    await e.simulateCrash();
    const original = readFileSync(join(t.dir, SEGMENT));
    assert.ok(original.length > end);
    for (const cut of [goodBytes + 1, goodBytes + 30, end - 1]) {
      // Garbage from `cut` to where the batch ended; the preallocated zeros after it stay.
      const torn = Buffer.from(original);
      for (let i = cut; i < end; i++) torn[i] = (i * 131 + 7) & 0xff;
      writeFileSync(join(t.dir, SEGMENT), torn);
      const r = newLogEngine(t.dir);
      await r.open();
      try {
        assert.equal(r.lastOpen?.truncatedPartitions, 1, `cut at ${cut - goodBytes}: reported as damage`);
        assert.deepEqual(r.offsets('pre', 0), { logStartOffset: 0, highWatermark: 8 });
        assert.deepEqual(Buffer.concat((await r.read('pre', 0, 0, 1 << 20, false)).batches), original.subarray(0, goodBytes));
        assert.equal(statSync(join(t.dir, SEGMENT)).size, goodBytes);
      } finally {
        await r.simulateCrash();
      }
    }
  } finally {
    t.remove();
  }
});

test('preallocate: sealed segments and a cleanly closed active segment hold exactly their batches', async () => {
  const t = tempDir();
  try {
    const e = newLogEngine(t.dir, { fsync: 'always' });
    await e.open();
    await e.createTopic({ ...topic, configs: { preallocate: 'true', 'segment.bytes': String(64 * 1024) } });
    for (let i = 0; i < 40; i++) await e.append('pre', 0, await valuesBatch(5, 1000 + i, 1000, i));
    assert.ok(e.segmentCount('pre', 0) > 2, `rolled: ${e.segmentCount('pre', 0)} segments`);
    const all = Buffer.concat((await e.read('pre', 0, 0, 1 << 24, false)).batches);
    await e.close();
    const logs = readdirSync(join(t.dir, 'pre-0')).filter((n) => n.endsWith('.log'));
    let total = 0;
    for (const n of logs) {
      const size = statSync(join(t.dir, 'pre-0', n)).size;
      assert.ok(size <= 64 * 1024, `${n}: ${size} bytes, no tail beyond segment.bytes`);
      total += size;
    }
    assert.equal(total, all.length, 'the files hold the batches and nothing else');
    const r = newLogEngine(t.dir);
    await r.open();
    try {
      assert.equal(r.lastOpen?.cleanShutdown, true);
      assert.deepEqual(Buffer.concat((await r.read('pre', 0, 0, 1 << 24, false)).batches), all);
      assert.equal((await r.append('pre', 0, await valuesBatch(1, 5000))).baseOffset, 200);
    } finally {
      await r.close();
    }
  } finally {
    t.remove();
  }
});

test('preallocate: a failed write inside the preallocated tail is cut back, and the offsets are given out again', async () => {
  const t = tempDir();
  let failNext = false;
  try {
    const faults = {
      beforeWrite(file: string, bytes: number) {
        // Fail one data write (not the zero-fill, which writes whole MiB chunks).
        if (failNext && file.endsWith('.log') && bytes < 65536) {
          failNext = false;
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        }
      },
    };
    const e = newLogEngine(t.dir, { fsync: 'always', faults });
    await e.open();
    await e.createTopic(topic);
    await e.append('pre', 0, await valuesBatch(2, 1000, 100));
    await e.append('pre', 0, await valuesBatch(2, 1001, 100));
    failNext = true;
    await assert.rejects(e.append('pre', 0, await valuesBatch(2, 1002, 100)), /no space/);
    assert.equal((await e.append('pre', 0, await valuesBatch(3, 1003, 100, 7))).baseOffset, 4);
    const served = Buffer.concat((await e.read('pre', 0, 0, 1 << 20, false)).batches);
    await e.simulateCrash();
    const r = newLogEngine(t.dir);
    await r.open();
    try {
      assert.equal(r.lastOpen?.truncatedPartitions, 0);
      assert.deepEqual(r.offsets('pre', 0), { logStartOffset: 0, highWatermark: 7 });
      assert.deepEqual(Buffer.concat((await r.read('pre', 0, 0, 1 << 20, false)).batches), served);
    } finally {
      await r.close();
    }
  } finally {
    t.remove();
  }
});

test('preallocate: a failed fdatasync of the zero-fill fails the appends it may have covered and takes the partition offline', async () => {
  // Linux reports a writeback error to one fdatasync of the file only: if the zero-fill's sync is the
  // one told, the appends' own sync would succeed although their pages may be lost.
  const t = tempDir();
  let zerosWritten = false;
  let failed = 0;
  try {
    const faults = {
      beforeWrite(file: string, bytes: number) {
        if (file.endsWith('.log') && bytes >= 65536) zerosWritten = true;
      },
      beforeSync(file: string) {
        // The first sync after the zeros is the zero-fill's own (the first append waits for it).
        if (zerosWritten && failed === 0 && file.endsWith('.log')) {
          failed++;
          throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        }
      },
    };
    const e = newLogEngine(t.dir, { fsync: 'always', faults });
    await e.open();
    await e.createTopic(topic);
    await assert.rejects(e.append('pre', 0, await valuesBatch(2, 1000, 100)), /I\/O error|EIO/);
    assert.equal(failed, 1, 'the zero-fill fdatasync failed');
    await assert.rejects(e.append('pre', 0, await valuesBatch(2, 1001, 100)), /offline/);
    assert.deepEqual(e.offsets('pre', 0), { logStartOffset: 0, highWatermark: 0 }, 'nothing was acknowledged');
    await e.simulateCrash();
  } finally {
    t.remove();
  }
});

test('preallocate: a new segment waits for a small first zero-fill, and the tail kept ahead grows by doubling', async () => {
  const t = tempDir();
  const zeroWrites: number[] = [];
  try {
    const faults = {
      beforeWrite(file: string, bytes: number) {
        if (file.endsWith('.log') && bytes >= 65536) zeroWrites.push(bytes);
      },
    };
    const e = newLogEngine(t.dir, { fsync: 'always', faults });
    await e.open();
    await e.createTopic(topic);
    await e.append('pre', 0, await valuesBatch(2, 1000, 100));
    assert.equal(zeroWrites[0], PREALLOCATE_FIRST_BYTES, 'the first append waited for one small zero-fill only');
    // ~3 MiB of appends: the tail kept ahead doubles, so the file is extended a few times, not per append.
    for (let i = 0; i < 300; i++) await e.append('pre', 0, await valuesBatch(10, 2000 + i, 1000, i));
    const dataBytes = e.sizeBytes('pre', 0);
    assert.ok(await waitFor(() => statSync(join(t.dir, SEGMENT)).size > dataBytes));
    const fileBytes = statSync(join(t.dir, SEGMENT)).size;
    assert.ok(fileBytes - dataBytes <= PREALLOCATE_CHUNK_BYTES, `at most the largest tail ahead: ${fileBytes - dataBytes}`);
    const total = zeroWrites.reduce((a, b) => a + b, 0);
    assert.ok(total < 2 * PREALLOCATE_CHUNK_BYTES, `zeros written: ${total}`);
    await e.close();
    assert.equal(statSync(join(t.dir, SEGMENT)).size, dataBytes, 'closing cuts the tail');
  } finally {
    t.remove();
  }
});
