/**
 * scripts/check-skips.ts, which CI runs on the TAP output of `npm test`: only skips on the allow-list
 * of test/helpers/skips.ts pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSkips } from '../scripts/check-skips.js';
import { allowedSkipMessage } from './helpers/skips.js';

test('skips: listed ids pass, anything else (unknown id, no reason, plain reason) is refused', () => {
  const tap = [
    'TAP version 13',
    'ok 1 - runs',
    `    ok 2 - a full disk # SKIP ${allowedSkipMessage('tmpfs', 'mount: permission denied')}`,
    'ok 3 - kcat # SKIP kcat not found (apt-get install kcat)',
    'ok 4 - bare # SKIP',
    'ok 5 - forged # SKIP allowed skip (not-listed): x',
    'not ok 6 - failing # SKIP not a pass either way',
    'ok 7 - a test whose name says # skip nothing',
    '# skipped 4',
  ].join('\n');
  const r = checkSkips(tap);
  assert.deepEqual(r.allowed.map((s) => s.test), ['a full disk']);
  assert.deepEqual(r.refused.map((s) => [s.test, s.reason]), [
    ['kcat', 'kcat not found (apt-get install kcat)'],
    ['bare', ''],
    ['forged', 'allowed skip (not-listed): x'],
    ['a test whose name says', 'nothing'],
  ]);
});
