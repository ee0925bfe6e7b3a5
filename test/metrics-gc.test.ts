/**
 * nodejs_gc_duration_seconds counts every GC (src/broker/metrics/process.ts, observeGc): Node hands
 * a PerformanceObserver the GCs of one turn of the event loop as one list, and prom-client's own
 * collector observed only the first entry of each. Checked against an observer of our own that
 * counts every entry of the same lists, over GCs forced in bursts (several per list).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { processFamilies, startProcessMetrics } from '../src/broker/metrics/process.js';

// A `gc()` for this test alone: the flag exposes it to contexts made after it is set.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface GcCounts {
  total: number;
  byKind: Map<string, number>;
  sum: number;
}

/** The histogram's counts as a scrape reads them, synchronously (between two turns). */
function histogramCounts(): GcCounts {
  const gcFamily = processFamilies().find((f) => f.name === 'nodejs_gc_duration_seconds');
  assert.ok(gcFamily !== undefined && gcFamily.type === 'histogram', 'nodejs_gc_duration_seconds is a histogram of the scrape');
  const byKind = new Map<string, number>();
  let sum = 0;
  for (const s of gcFamily.samples) {
    byKind.set(String(s.labels.kind), s.count);
    sum += s.sum;
    const inBuckets = Array.from(s.buckets).reduce((a, b) => a + b, 0);
    assert.equal(inBuckets, s.count, 'every GC is in one bucket');
  }
  return { total: [...byKind.values()].reduce((a, b) => a + b, 0), byKind, sum };
}

test('every GC is counted, by kind, however many Node hands over at once', async () => {
  startProcessMetrics();
  let seen = 0;
  let lists = 0;
  const seenByKind = new Map<number, number>();
  let seenSeconds = 0;
  const mine = new PerformanceObserver((list) => {
    lists++;
    for (const e of list.getEntries()) {
      seen++;
      const kind = (e as unknown as { detail: { kind: number } }).detail.kind;
      seenByKind.set(kind, (seenByKind.get(kind) ?? 0) + 1);
      seenSeconds += e.duration / 1000;
    }
  });
  mine.observe({ entryTypes: ['gc'] });
  try {
    await turn();
    await turn();
    // Both observers are handed each list in the same turn, so between turns they have seen the same GCs.
    const seen0 = seen;
    const lists0 = lists;
    const major0 = seenByKind.get(constants.NODE_PERFORMANCE_GC_MAJOR) ?? 0;
    const minor0 = seenByKind.get(constants.NODE_PERFORMANCE_GC_MINOR) ?? 0;
    const seconds0 = seenSeconds;
    const before = histogramCounts();

    const bursts = 150;
    for (let b = 0; b < bursts; b++) {
      // Ten GCs in one turn: one list of ten (or more, with the incremental and weak-callback phases).
      for (let i = 0; i < 5; i++) gc({ type: 'minor' });
      for (let i = 0; i < 5; i++) gc({ type: 'major' });
      await turn();
    }
    await turn();
    await turn();
    const seenNow = seen;
    const after = histogramCounts();

    const counted = after.total - before.total;
    const observed = seenNow - seen0;
    assert.ok(observed >= bursts * 10, `at least the ${bursts * 10} forced GCs were observed (${observed})`);
    assert.ok(lists - lists0 < observed / 5, `GCs came several to a list (${observed} in ${lists - lists0})`);
    assert.equal(counted, observed, 'the histogram counts every GC observed');
    assert.equal((after.byKind.get('major') ?? 0) - (before.byKind.get('major') ?? 0), (seenByKind.get(constants.NODE_PERFORMANCE_GC_MAJOR) ?? 0) - major0, 'major GCs');
    assert.equal((after.byKind.get('minor') ?? 0) - (before.byKind.get('minor') ?? 0), (seenByKind.get(constants.NODE_PERFORMANCE_GC_MINOR) ?? 0) - minor0, 'minor GCs');
    const secondsSeen = seenSeconds - seconds0;
    assert.ok(Math.abs(after.sum - before.sum - secondsSeen) < 1e-9 * Math.max(1, observed), `the sum of durations matches (${after.sum - before.sum} vs ${secondsSeen})`);
  } finally {
    mine.disconnect();
  }
});
