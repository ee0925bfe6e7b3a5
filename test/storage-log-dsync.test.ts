/**
 * Durable appends through an O_DSYNC handle (issue 22): with `fsync: always` the log engine writes
 * each group through a second handle of the active segment opened `O_WRONLY | O_DSYNC`, so one
 * `writev` both writes and syncs it (partition-log.ts, LogSegment.writeDurably). What must hold:
 * the handle really is O_DSYNC (read back from /proc/self/fdinfo), a group is one write, appends
 * that arrive during a write share the next one, a roll closes the sealed segment's handle, the
 * other policies keep the plain handle, and a failed durable write is a failed fsync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { AppendBatch, TopicRecord } from '../src/storage/engine.js';
import type { LogEngine } from '../src/storage/log/log-engine.js';
import type { LogEngineOptions } from '../src/storage/log/log-engine.js';
import { newLogEngine, tempDir, valuesBatch } from './helpers/log-engine.js';

const topic: TopicRecord = { name: 'ds', id: 'ds-topic-id-AAAAAAAAAAA', partitionCount: 1, configs: {} };
const procFds = existsSync('/proc/self/fdinfo');
const noProc = procFds ? false : 'needs /proc/self/fdinfo (Linux) to read the open flags back';
/** A segment file (the engine's own metadata.log is not one). */
const isSegment = (file: string): boolean => /\d{20}\.log$/.test(file);

/** The segment files under `dir` that this process holds open, each with whether the handle is O_DSYNC. */
function openSegments(dir: string): { file: string; dsync: boolean }[] {
  const out: { file: string; dsync: boolean }[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (!target.startsWith(dir) || !isSegment(target)) continue;
    const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (flags === null) continue;
    out.push({ file: target.slice(dir.length + 1), dsync: (parseInt(flags[1]!, 8) & constants.O_DSYNC) !== 0 });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || Number(a.dsync) - Number(b.dsync));
}

/**
 * An open engine with the topic, that counts writes and syncs of segment files and the fsyncs its
 * observer is told of (`extra.faults` replaces the counting hooks).
 */
async function engineWith(t: { dir: string }, extra: Partial<LogEngineOptions>, onWrite: (n: number) => void = () => {}): Promise<{ e: LogEngine; writes: () => number; syncs: () => number; observed: () => number }> {
  let writes = 0;
  let syncs = 0;
  let observed = 0;
  const e = newLogEngine(t.dir, {
    observer: { fsync: () => void observed++ },
    faults: {
      beforeWrite(file: string) {
        if (isSegment(file)) onWrite(++writes);
      },
      beforeSync(file: string) {
        if (isSegment(file)) syncs++;
      },
    },
    ...extra,
  });
  await e.open();
  await e.createTopic(topic);
  return { e, writes: () => writes, syncs: () => syncs, observed: () => observed };
}

test('fsync always: the active segment gets an O_DSYNC handle, and each group is one write that is its sync', { skip: noProc }, async () => {
  const t = tempDir();
  const { e, writes, syncs, observed } = await engineWith(t, { fsync: 'always' });
  try {
    for (let i = 0; i < 5; i++) await e.append('ds', 0, await valuesBatch(2, 100 + i));
    assert.equal(writes(), 5, 'one write per append awaited alone');
    assert.equal(syncs(), 5, 'each of them the sync too (no second fdatasync)');
    assert.equal(observed(), 5, 'the observer times each durable write as the fsync it is');
    assert.deepEqual(openSegments(t.dir), [
      { file: 'ds-0/00000000000000000000.log', dsync: false },
      { file: 'ds-0/00000000000000000000.log', dsync: true },
    ]);
    assert.equal(e.offsets('ds', 0).highWatermark, 10);
    const read = await e.read('ds', 0, 0, 1 << 20, false);
    assert.equal(read.batches.length, 5);
  } finally {
    await e.close();
    t.remove();
  }
  assert.deepEqual(openSegments(t.dir), [], 'close releases both handles');
});

test('batches appended while a durable write runs are written together by the next one', async () => {
  const t = tempDir();
  const late: Promise<{ baseOffset: number }>[] = [];
  const queued: AppendBatch[] = await Promise.all([2, 3, 4].map((i) => valuesBatch(1, i)));
  let inject = false;
  let engine: LogEngine | null = null;
  const { e, writes } = await engineWith(t, { fsync: 'always' }, () => {
    if (inject) {
      inject = false;
      for (const b of queued) late.push(engine!.append('ds', 0, b));
    }
  });
  engine = e;
  try {
    await e.append('ds', 0, await valuesBatch(1, 0));
    const before = writes();
    inject = true;
    const head = await e.append('ds', 0, await valuesBatch(1, 1));
    const offsets = [head, ...(await Promise.all(late))];
    assert.deepEqual(offsets.map((o) => o.baseOffset), [1, 2, 3, 4]);
    assert.equal(writes() - before, 2, 'the first batch, then the three queued behind it in one write');
    assert.equal(e.offsets('ds', 0).highWatermark, 5);
  } finally {
    await e.close();
    t.remove();
  }
});

test('a roll closes the sealed segment\'s O_DSYNC handle; only the active segment has one', { skip: noProc }, async () => {
  const t = tempDir();
  // Every batch over the segment size: each append after the first rolls.
  const { e } = await engineWith(t, { fsync: 'always', topicDefaults: { 'internal.segment.bytes': '64' } });
  try {
    for (let i = 0; i < 4; i++) await e.append('ds', 0, await valuesBatch(1, 200 + i, 100, i));
    const open = openSegments(t.dir);
    assert.equal(open.filter((s) => s.dsync).length, 1, JSON.stringify(open));
    assert.equal(open.find((s) => s.dsync)!.file, 'ds-0/00000000000000000003.log');
    assert.equal(open.filter((s) => !s.dsync).length, 4, 'every segment keeps its read handle');
  } finally {
    await e.close();
    t.remove();
  }
});

for (const fsync of ['interval', 'never'] as const) {
  test(`fsync ${fsync}: appends keep the plain handle (no O_DSYNC)`, { skip: noProc }, async () => {
    const t = tempDir();
    const { e } = await engineWith(t, { fsync });
    try {
      for (let i = 0; i < 3; i++) await e.append('ds', 0, await valuesBatch(2, 300 + i));
      assert.deepEqual(openSegments(t.dir), [{ file: 'ds-0/00000000000000000000.log', dsync: false }]);
    } finally {
      await e.close();
      t.remove();
    }
  });
}

test('dsyncAppends: false keeps write-then-fdatasync under fsync always', { skip: noProc }, async () => {
  const t = tempDir();
  const { e, writes, syncs } = await engineWith(t, { fsync: 'always', dsyncAppends: false });
  try {
    for (let i = 0; i < 3; i++) await e.append('ds', 0, await valuesBatch(2, 400 + i));
    assert.equal(writes(), 3);
    assert.equal(syncs(), 3);
    assert.deepEqual(openSegments(t.dir), [{ file: 'ds-0/00000000000000000000.log', dsync: false }]);
  } finally {
    await e.close();
    t.remove();
  }
});

test('a durable write that fails in its sync takes the partition offline; what was acknowledged stays', async () => {
  const t = tempDir();
  let fail = false;
  const { e } = await engineWith(t, {
    fsync: 'always',
    faults: {
      beforeSync(file: string) {
        if (fail && isSegment(file)) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' });
      },
    },
  });
  try {
    await e.append('ds', 0, await valuesBatch(2, 500));
    fail = true;
    const outcomes = await Promise.allSettled([1, 2, 3].map(async (i) => e.append('ds', 0, await valuesBatch(1, 500 + i))));
    for (const o of outcomes) assert.equal(o.status, 'rejected');
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /I\/O error/);
    assert.equal(e.offsets('ds', 0).highWatermark, 2, 'nothing of the failed write is acknowledged');
    fail = false;
    await assert.rejects(e.append('ds', 0, await valuesBatch(1, 599)), /offline/, 'offline until a restart, as after a failed fdatasync');
    const read = await e.read('ds', 0, 0, 1 << 20, false);
    assert.equal(read.batches.length, 1, 'reads go on');
  } finally {
    await e.close().catch(() => {});
    t.remove();
  }
});

test('a refused durable write (ENOSPC before anything is written) fails the append and the partition keeps working', async () => {
  const t = tempDir();
  let refuse = false;
  const { e } = await engineWith(t, {
    fsync: 'always',
    faults: {
      beforeWrite(file: string) {
        if (refuse && isSegment(file)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      },
    },
  });
  try {
    await e.append('ds', 0, await valuesBatch(2, 600));
    refuse = true;
    await assert.rejects(e.append('ds', 0, await valuesBatch(1, 601)), /ENOSPC|no space/);
    refuse = false;
    assert.deepEqual(await e.append('ds', 0, await valuesBatch(1, 602)), { baseOffset: 2 }, 'the refused offsets are handed out again');
    assert.equal(e.offsets('ds', 0).highWatermark, 3);
  } finally {
    await e.close();
    t.remove();
  }
});
