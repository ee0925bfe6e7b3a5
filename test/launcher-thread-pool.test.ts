/**
 * `bin/rafka.js` keeps Node's 4 libuv pool threads unless UV_THREADPOOL_SIZE is set (issue 22 item
 * 2: 16 by default lost the quiet bench), and an operator's setting reaches the pool. libuv reads
 * the variable only when its pool starts, so only the OS thread count of the running broker shows
 * whether it took effect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { startBrokerProcess, stop } from './helpers/broker-process.js';

/** OS threads of a process (Linux: one entry per thread in /proc/PID/task). */
function threads(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

async function brokerThreads(env: Record<string, string>): Promise<number> {
  const b = await startBrokerProcess(['--host', '127.0.0.1', '--storage', 'memory', '--log-level', 'warn'], { env });
  try {
    return threads(b.child.pid!);
  } finally {
    await stop(b);
  }
}

test("the launcher keeps Node's 4 libuv pool threads, and an operator-set UV_THREADPOOL_SIZE wins", { skip: existsSync('/proc/self/task') ? false : 'needs Linux /proc' }, async () => {
  // The brokers inherit this process's environment: the default case must not inherit a setting.
  delete process.env.UV_THREADPOOL_SIZE;
  const own = await brokerThreads({ UV_THREADPOOL_SIZE: '4' });
  const byDefault = await brokerThreads({});
  const six = await brokerThreads({ UV_THREADPOOL_SIZE: '6' });
  // The other threads (main, V8's platform workers) are the same in each; only the pool differs.
  assert.equal(byDefault, own, `threads: ${byDefault} by default, ${own} with UV_THREADPOOL_SIZE=4`);
  assert.equal(six - own, 6 - 4, `threads: ${six} with UV_THREADPOOL_SIZE=6, ${own} with 4`);
});
