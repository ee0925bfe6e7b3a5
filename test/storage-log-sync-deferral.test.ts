/**
 * Group commit with the sync deferred to the write queued behind a group (partition-log.ts
 * requestSync, issue 22): batches queued while a group is being written share that group's fsync
 * instead of taking a second one; a steady stream still gets a sync every few groups; a write that
 * fails still lets the groups written before it be synced and acknowledged. This is the pipeline of
 * `flush.messages` and of `dsyncAppends: false`; with `fsync: always` the engine's default is one
 * O_DSYNC write per group (storage-log-dsync.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendBatch, TopicRecord } from '../src/storage/engine.js';
import type { LogEngine } from '../src/storage/log/log-engine.js';
import { MAX_DEFERRED_SYNC_GROUPS } from '../src/storage/log/partition-log.js';
import { newLogEngine, tempDir, valuesBatch } from './helpers/log-engine.js';

const topic: TopicRecord = { name: 'defer', id: 'defer-topic-id-AAAAAAAAA', partitionCount: 1, configs: {} };

/** An engine whose hook runs before each data write to the partition's segment, and that counts segment fsyncs. */
async function engineWith(t: { dir: string }, beforeLogWrite: (n: number) => void): Promise<{ e: LogEngine; fsyncs: () => number; writesAtSyncs: number[] }> {
  let fsyncs = 0;
  let writes = 0;
  const writesAtSyncs: number[] = [];
  const e = newLogEngine(t.dir, {
    fsync: 'always',
    // The write-then-fdatasync pipeline (durable O_DSYNC appends have no separate sync to defer).
    dsyncAppends: false,
    observer: { fsync: () => void fsyncs++ },
    faults: {
      beforeWrite(file: string) {
        if (file.endsWith('.log')) beforeLogWrite(++writes);
      },
      beforeSync(file: string) {
        if (file.endsWith('.log')) writesAtSyncs.push(writes);
      },
    },
  });
  await e.open();
  await e.createTopic(topic);
  return { e, fsyncs: () => fsyncs, writesAtSyncs };
}

test('batches queued while a group is written share its fsync', async () => {
  const t = tempDir();
  const late: Promise<{ baseOffset: number }>[] = [];
  const queued = await Promise.all([2, 3, 4].map((i) => valuesBatch(1, i)));
  let inject = false;
  const { e, fsyncs } = await engineWith(t, () => {
    // Appended while the first group's write is under way: they queue behind it.
    if (inject) {
      inject = false;
      for (const b of queued) late.push(e.append('defer', 0, b));
    }
  });
  try {
    await e.append('defer', 0, await valuesBatch(1, 0));
    const before = fsyncs();
    inject = true;
    const first = e.append('defer', 0, await valuesBatch(1, 1));
    const head = await first;
    // The three were appended (from the write hook) while the first group's write was under way.
    assert.equal(late.length, 3);
    const offsets = [head, ...(await Promise.all(late))];
    assert.deepEqual(offsets.map((o) => o.baseOffset), [1, 2, 3, 4]);
    // Two write groups (the first, then the three queued behind it), one fsync for both.
    assert.equal(fsyncs() - before, 1);
    assert.equal(e.offsets('defer', 0).highWatermark, 5);
  } finally {
    await e.close();
    t.remove();
  }
});

test('a steady stream of queued groups still starts a sync within MAX_DEFERRED_SYNC_GROUPS + 1 writes', async () => {
  const t = tempDir();
  const groups = 3 * (MAX_DEFERRED_SYNC_GROUPS + 1);
  const batches = await Promise.all(Array.from({ length: groups }, (_, i) => valuesBatch(1, 100 + i)));
  const pending: Promise<{ baseOffset: number }>[] = [];
  let next = 0;
  let streaming = false;
  const { e, writesAtSyncs } = await engineWith(t, () => {
    // Before each write one more batch arrives: the queue is never empty after a write until the end.
    if (streaming && next < batches.length) pending.push(e.append('defer', 0, batches[next++]!));
  });
  try {
    await e.append('defer', 0, await valuesBatch(1, 0));
    const setupWrites = writesAtSyncs.at(-1)!;
    streaming = true;
    pending.push(e.append('defer', 0, await valuesBatch(1, 1)));
    for (let i = 0; i < 2000 && next < batches.length; i++) await new Promise((r) => setTimeout(r, 1));
    const offsets = await Promise.all(pending);
    assert.deepEqual(offsets.map((o) => o.baseOffset), Array.from({ length: groups + 1 }, (_, i) => i + 1));
    // The first sync of the stream began after at most MAX_DEFERRED_SYNC_GROUPS + 1 of its writes,
    // though the queue was never empty: deferring never holds a sync back for long.
    const firstSync = writesAtSyncs.find((w) => w > setupWrites)!;
    assert.ok(firstSync - setupWrites <= MAX_DEFERRED_SYNC_GROUPS + 1, `first sync after ${firstSync - setupWrites} writes (${writesAtSyncs.join(',')})`);
    assert.ok(firstSync - setupWrites >= 2, `the first group's sync waited for the group queued behind it (${writesAtSyncs.join(',')})`);
    assert.equal(e.offsets('defer', 0).highWatermark, groups + 2);
  } finally {
    await e.close();
    t.remove();
  }
});

test('a failed write after deferred groups: the groups written before it are synced and acknowledged', async () => {
  const t = tempDir();
  const queued: AppendBatch = await valuesBatch(1, 2);
  const failing: AppendBatch = await valuesBatch(1, 3);
  let second: Promise<{ baseOffset: number }> | null = null;
  let third: Promise<{ baseOffset: number }> | null = null;
  let phase = 0;
  const { e, fsyncs } = await engineWith(t, () => {
    if (phase === 1) {
      // During the first group's write: one batch queued behind it (its write will succeed) …
      second = e.append('defer', 0, queued);
      phase = 2;
    } else if (phase === 2) {
      // … and during the second's, one more whose write fails.
      third = e.append('defer', 0, failing);
      third.catch(() => {}); // checked below, once `first` has settled
      phase = 3;
    } else if (phase === 3) {
      phase = 4;
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    }
  });
  try {
    await e.append('defer', 0, await valuesBatch(1, 0));
    const before = fsyncs();
    phase = 1;
    const first = e.append('defer', 0, await valuesBatch(1, 1));
    const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000).unref());
    const head = await Promise.race([Promise.allSettled([first]), timeout]);
    assert.notEqual(head, 'hung', 'the first append settles');
    // By then the other two were appended from the write hook.
    assert.ok(second !== null && third !== null);
    const outcome = await Promise.race([Promise.allSettled([first, second, third]), timeout]);
    assert.notEqual(outcome, 'hung', 'every append settles');
    const [a, b, c] = outcome as PromiseSettledResult<{ baseOffset: number }>[];
    assert.deepEqual(a, { status: 'fulfilled', value: { baseOffset: 1 } });
    assert.deepEqual(b, { status: 'fulfilled', value: { baseOffset: 2 } });
    assert.equal(c!.status, 'rejected');
    assert.ok(fsyncs() - before >= 1);
    assert.equal(e.offsets('defer', 0).highWatermark, 3);
    // The partition takes appends again at the offset the failed batch had.
    assert.deepEqual(await e.append('defer', 0, await valuesBatch(1, 9)), { baseOffset: 3 });
  } finally {
    await e.close();
    t.remove();
  }
});
