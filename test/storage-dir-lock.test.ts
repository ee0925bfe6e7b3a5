/**
 * The data-directory lock (src/storage/dir-lock.ts) is held by the kernel for a live process and
 * released the moment it dies: a broker restarted right after `kill -9` starts, a second live broker
 * on the same directory is refused with a message naming the holder. Both variants: the platform's
 * (abstract socket on Linux) and the socket file used elsewhere.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DirLock, DirLockHeldError, LOCK_SOCKET_FILE } from '../src/storage/dir-lock.js';
import { startBrokerProcess, stop, cleanEnv, BIN, REPO } from './helpers/broker-process.js';

const DIR_LOCK_MODULE = pathToFileURL(fileURLToPath(new URL('../src/storage/dir-lock.js', import.meta.url))).href;

/** A child process holding the lock of `dir` until killed; resolves once it holds it. */
async function holder(dir: string, kind: 'platform' | 'file') {
  const script = `const { DirLock } = await import(${JSON.stringify(DIR_LOCK_MODULE)});
await DirLock.acquire(${JSON.stringify(dir)}, ${JSON.stringify(kind)});
process.stdout.write('held\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('held')) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then(() => reject(new Error(`lock holder exited: ${err}`)));
  });
  return { child, exited };
}

for (const kind of ['platform', 'file'] as const) {
  test(`dir lock (${kind}): a live holder keeps it, a kill -9'd holder releases it at once`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rafka-lock-'));
    try {
      const h = await holder(dir, kind);
      await assert.rejects(DirLock.acquire(dir, kind), DirLockHeldError);
      h.child.kill('SIGKILL');
      await h.exited;
      if (kind === 'file') assert.ok(existsSync(path.join(dir, LOCK_SOCKET_FILE)), 'the killed holder left its socket file behind');
      const mine = await DirLock.acquire(dir, kind); // no wait, no manual cleanup
      await assert.rejects(DirLock.acquire(dir, kind), DirLockHeldError, 'held within one process too');
      await mine.release();
      const again = await DirLock.acquire(dir, kind);
      await again.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('rafka start: a second broker on a locked data directory is refused; after kill -9 a restart starts at once', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rafka-lock-broker-'));
  const args = ['--storage', 'log', '--data-dir', dir, '--log-level', 'error'];
  try {
    const first = await startBrokerProcess(args);
    const second = spawn(process.execPath, [BIN, 'start', '--port', '0', ...args], { cwd: REPO, env: cleanEnv() });
    let stderr = '';
    second.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => second.on('exit', (c) => resolve(c)));
    assert.notEqual(code, 0);
    assert.match(stderr, new RegExp(`is in use by another broker \\(pid ${first.child.pid}\\)`));
    // Restart without waiting for the killed process to be reaped.
    first.child.kill('SIGKILL');
    const restarted = await startBrokerProcess(args);
    await first.exited;
    assert.equal(await stop(restarted), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

