/**
 * examples/testing/node-test runs as a user runs it: `node --test --import rafka/testing/node-test`
 * from the repository root, which resolves `rafka/testing/...` through package.json "exports" (a
 * package may import itself by name), so this also checks that the subpath exports point at the
 * built files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runNodeTest } from './helpers/node-test-run.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('examples/testing/node-test: its tests pass under --import rafka/testing/node-test', { timeout: 60_000 }, async () => {
  const env = { ...process.env };
  delete env.KAFKA_BOOTSTRAP;
  const { code, out } = await runNodeTest(['--import', 'rafka/testing/node-test', join('examples', 'testing', 'node-test', 'orders.test.mjs')], { cwd: ROOT, env });
  assert.equal(code, 0, out);
  assert.match(out, /^# pass 3$/m, out);
});
