/**
 * A failed fsync takes a partition offline for appends (partition-log.ts). Appends queued or written
 * while that fsync ran can never be synced: they must fail too, not wait forever — pipelined
 * produce (issue 22) relies on "an append that fails makes every later one fail".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TopicRecord } from '../src/storage/engine.js';
import { newLogEngine, tempDir, valuesBatch } from './helpers/log-engine.js';

const topic: TopicRecord = { name: 'off', id: 'off-topic-id-AAAAAAAAAA', partitionCount: 1, configs: {} };

for (const dsyncAppends of [true, false]) {
  test(`after a failed fsync every append queued or written meanwhile is rejected, none hangs${dsyncAppends ? ' (O_DSYNC appends)' : ' (write, then fdatasync)'}`, async () => {
    const t = tempDir();
    let failSync = false;
    try {
      const e = newLogEngine(t.dir, {
        fsync: 'always',
        dsyncAppends,
        faults: {
          beforeSync(file: string) {
            if (failSync && file.endsWith('.log')) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
          },
        },
      });
      await e.open();
      await e.createTopic(topic);
      await e.append('off', 0, await valuesBatch(1, 1));
      failSync = true;
      // Larger than half a write group (MAX_WRITE_GROUP_BYTES, 8 MiB) each: one group per batch, so
      // later groups are written while the first one's fsync fails.
      const batches = await Promise.all([0, 1, 2, 3, 4].map((i) => valuesBatch(1, 10 + i, 5 * 1024 * 1024, i)));
      const outcomes = await Promise.race([
        Promise.allSettled(batches.map((b) => e.append('off', 0, b))),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000).unref()),
      ]);
      assert.notEqual(outcomes, 'hung', 'every append settles');
      for (const o of outcomes as PromiseSettledResult<unknown>[]) assert.equal(o.status, 'rejected');
      assert.equal(e.offsets('off', 0).highWatermark, 1, 'nothing after the failed fsync is acknowledged');
      await assert.rejects(e.append('off', 0, await valuesBatch(1, 99)), /offline/);
      await e.simulateCrash();
    } finally {
      t.remove();
    }
  });
}

test('with the shared journal, a failed segment sync of a checkpoint rejects what is pending and takes the partitions offline; none hangs', async () => {
  const t = tempDir();
  let failSync = false;
  try {
    const e = newLogEngine(t.dir, {
      fsync: 'always',
      journal: true,
      // Small journal files: the writer enters a new file, and starts a checkpoint, every 64 KiB.
      journalFileBytes: 64 * 1024,
      faults: {
        beforeSync(file: string) {
          if (failSync && file.endsWith('.log')) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        },
      },
    });
    await e.open();
    await e.createTopic({ ...topic, partitionCount: 2 });
    await e.append('off', 0, await valuesBatch(1, 1));
    failSync = true;
    // Appends through several journal files: the checkpoints' segment syncs fail, and the writer
    // then cannot reuse a file. Everything settles; what follows the failure is rejected.
    const outcomes = await Promise.race([
      Promise.allSettled(Array.from({ length: 40 }, async (_, i) => e.append('off', i % 2, await valuesBatch(1, 10 + i, 30 * 1024, i)))),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref()),
    ]);
    assert.notEqual(outcomes, 'hung', 'every append settles');
    assert.ok((outcomes as PromiseSettledResult<unknown>[]).some((o) => o.status === 'rejected'), 'appends after the failed checkpoint are rejected');
    assert.ok(e.journal!.failed, 'the journal failed');
    await assert.rejects(e.append('off', 1, await valuesBatch(1, 99)), /offline|journal/);
    await e.simulateCrash();
  } finally {
    t.remove();
  }
});
