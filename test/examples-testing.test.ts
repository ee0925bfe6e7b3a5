/**
 * examples/testing/node-test runs as a user runs it: `node --test --import rafka/testing/node-test`
 * from the repository root, which resolves `rafka/testing/...` through package.json "exports" (a
 * package may import itself by name), so this also checks that the subpath exports point at the
 * built files. The Vitest and Jest examples run under their own runners (devDependencies), from their
 * folders, as `npx vitest run` and `npx jest` would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runNodeTest } from './helpers/node-test-run.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { useClient } from './helpers/external.js';
import { findConfluentJs } from './helpers/confluent-js.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('examples/testing/node-test: its tests pass under --import rafka/testing/node-test', { timeout: 60_000 }, async () => {
  const env = { ...process.env };
  delete env.KAFKA_BOOTSTRAP;
  const { code, out } = await runNodeTest(['--import', 'rafka/testing/node-test', join('examples', 'testing', 'node-test', 'orders.test.mjs')], { cwd: ROOT, env });
  assert.equal(code, 0, out);
  assert.match(out, /^# pass 3$/m, out);
});

test('examples/testing/node-test: the same app on @confluentinc/kafka-javascript passes the same tests', { timeout: 90_000 }, async (t) => {
  // A native build outside the dependencies (bench/install-confluent-client.sh, as .ci/run does).
  if (!useClient(t, findConfluentJs())) return;
  const env = { ...process.env };
  delete env.KAFKA_BOOTSTRAP;
  const { code, out } = await runNodeTest(['--import', 'rafka/testing/node-test', join('examples', 'testing', 'node-test', 'orders-confluent.test.mjs')], { cwd: ROOT, env });
  assert.equal(code, 0, out);
  assert.match(out, /^# pass 3$/m, out);
});

/** Run a test runner's command line (a JS file under the repository's node_modules) in an example's folder. */
async function runRunner(bin: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'node_modules', bin), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out };
}

function runnerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', NO_COLOR: '1' };
  delete env.NODE_TEST_CONTEXT;
  delete env.KAFKA_BOOTSTRAP;
  return env;
}

/** @platformatic/kafka is installed only for the client bench (`.ci/run`); the Vitest example's test with it skips without it. */
function platformaticInstalled(): boolean {
  try {
    createRequire(join(ROOT, 'package.json')).resolve('@platformatic/kafka');
    return true;
  } catch {
    return false;
  }
}

test('examples/testing/vitest: its tests pass under `vitest run` with the rafka/testing/vitest global setup', { timeout: 120_000 }, async (t) => {
  const { code, out } = await runRunner(join('vitest', 'vitest.mjs'), ['run'], join(ROOT, 'examples', 'testing', 'vitest'), runnerEnv());
  assert.equal(code, 0, out);
  if (platformaticInstalled()) assert.match(out, /Tests\s+4 passed \(4\)/, out);
  else {
    t.diagnostic('@platformatic/kafka is not installed (npm install --no-save @platformatic/kafka@1.35.0, as .ci/run does): its test in the example was skipped');
    assert.match(out, /Tests\s+3 passed \| 1 skipped \(4\)/, out);
  }
});

test('examples/testing/jest: its tests pass under jest, with the global setup broker and a broker started in a test file', { timeout: 120_000 }, async () => {
  const env = { ...runnerEnv(), NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim() };
  const { code, out } = await runRunner(join('jest', 'bin', 'jest.js'), ['--ci'], join(ROOT, 'examples', 'testing', 'jest'), env);
  assert.equal(code, 0, out);
  // Two against the global setup's broker, one against a broker the test file starts itself (import() codecs).
  assert.match(out, /Tests:\s+3 passed, 3 total/, out);
});
