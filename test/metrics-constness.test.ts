/**
 * Counting and scraping metrics must not deoptimize the broker's produce path (issue 21's overhead
 * limit). prom-client's `inc()` on an existing series does `value +=` on a `{ value, labels }` object;
 * V8 gives such literals the hidden class of its iterator results (`{ value, done }`) and treats that
 * `value` as constant until one is written, and the first write deoptimizes every optimized function
 * with a `for…of` — the produce path's request collapsing, response encoders and send among them
 * (bench/README.md, "Session 10: the scrape that deoptimized the produce path"). So the broker keeps
 * its counts itself, and prom-client runs on the HTTP endpoint's worker thread, handed series made
 * afresh (src/broker/metrics/metrics.ts, LabelCount; exposition-text.ts). Checked in a child process with V8's natives syntax (test/helpers/
 * metrics-constness-child.ts); the child also checks that the mechanism is still there to guard
 * against, and the test is skipped, saying so, on a V8 where it is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'metrics-constness-child.js');

/** Runs the child in `mode`: whether the loop was optimized before, and still after. */
function child(mode: 'scrape' | 'control'): { before: boolean; after: boolean } {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', CHILD, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { before: boolean; after: boolean };
}

test('counting and scraping metrics leave an optimized for…of loop optimized', (t) => {
  const control = child('control');
  assert.equal(control.before, true, 'the loop was optimized to begin with');
  if (control.after) {
    t.skip(`Node ${process.version}: writing a { value, labels } literal's value no longer deoptimizes a for…of loop, nothing to guard against`);
    return;
  }
  const scraped = child('scrape');
  assert.equal(scraped.before, true, 'the loop was optimized to begin with');
  assert.equal(scraped.after, true, 'counting or scraping metrics deoptimized the loop');
});
