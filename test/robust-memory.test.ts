/**
 * Memory under load, measured on a broker in its own process (`rafka start`, RSS from /proc):
 *  - 2,000 idle connections (each did one ApiVersions round trip, then stays open);
 *  - a flood of produce requests: 8 connections writing 256 KiB acks=-1 batches as fast as their
 *    sockets accept, never waiting for answers, against the log engine with fsync=always (appends
 *    are slower than the network, so requests pile up in the broker unless something bounds them),
 *    with the default `queued.max.request.bytes` (100 MiB) and with 16 MiB.
 * The figures are printed; the assertions are generous bounds that an unbounded buffer would break.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { RawClient } from './helpers/raw-client.js';
import { startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { tempDir } from './helpers/log-engine.js';
import { apiVersionsOk, createTopic, mib, produceFrame, rssBytes, sleep } from './helpers/robust.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { skipOrFail } from './helpers/skips.js';

const CONNECTIONS = 2000;

/** The soft limit on open files of this process (the broker child inherits it), or null if unknown. */
function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
  } catch {
    return null;
  }
}

test('2,000 idle connections: broker memory per connection', { timeout: 120_000 }, async (t) => {
  const limit = openFilesLimit();
  if (limit !== null && limit < 2 * CONNECTIONS + 500) return skipOrFail(t, `open files limited to ${limit} (ulimit -n); ${2 * CONNECTIONS + 500} needed`);
  const broker = await startBrokerProcess(['--storage', 'memory', '--log-level', 'error'], { env: { RAFKA_STORAGE_PATH: 'null' } });
  const pid = broker.child.pid!;
  const clients: RawClient[] = [];
  try {
    const warm = await RawClient.connect(broker.port);
    assert.ok(await apiVersionsOk(warm));
    warm.close();
    await sleep(300);
    const before = rssBytes(pid);
    if (before === null) return skipOrFail(t, 'no /proc/PID/status on this system');
    for (let i = 0; i < CONNECTIONS; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(broker.port)));
      await Promise.all(batch.map((c) => apiVersionsOk(c)));
      clients.push(...batch);
    }
    await sleep(500);
    const open = rssBytes(pid)!;
    // Still served, every one of them.
    const ok = await Promise.all(clients.map((c) => apiVersionsOk(c)));
    assert.equal(ok.filter(Boolean).length, CONNECTIONS);
    for (const c of clients) c.close();
    clients.length = 0;
    await sleep(500);
    const closed = rssBytes(pid)!;
    const perConnection = (open - before) / CONNECTIONS;
    t.diagnostic(`idle connections: RSS ${mib(before)} before, ${mib(open)} with ${CONNECTIONS} open (${(perConnection / 1024).toFixed(1)} KiB each), ${mib(closed)} after closing them`);
    assert.ok(perConnection < 128 * 1024, `${perConnection} bytes per idle connection`);
  } finally {
    for (const c of clients) c.close();
    await stop(broker);
  }
});

interface FloodResult {
  base: number;
  peak: number;
  acked: number;
  sentBytes: number;
  seconds: number;
}

/** 8 connections writing produce requests as fast as their sockets take them, for `ms`. */
async function flood(broker: BrokerProcess, ms: number): Promise<FloodResult> {
  const pid = broker.child.pid!;
  const admin = await RawClient.connect(broker.port);
  await createTopic(admin, 'flood', 4, [
    // Disk use stays small: 4 MiB segments, at most ~12 MiB kept per partition, retention every 250 ms.
    { name: 'internal.segment.bytes', value: String(4 << 20) },
    { name: 'retention.bytes', value: String(8 << 20) },
  ]);
  admin.close();
  await sleep(200);
  const base = rssBytes(pid)!;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid) ?? 0)), 50);
  const batch = await encodeBatch({ records: Array.from({ length: 4 }, (_, i) => ({ value: Buffer.alloc(64 * 1024, i) })) });
  let acked = 0;
  let sentBytes = 0;
  const deadline = Date.now() + ms;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      const socket = net.connect({ port: broker.port, host: '127.0.0.1' });
      socket.on('error', () => {});
      await once(socket, 'connect');
      let pending: Buffer = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        // Count whole response frames (a 4-byte size prefix each); the content is not needed.
        pending = pending.length ? Buffer.concat([pending, d]) : d;
        while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
          pending = pending.subarray(4 + pending.readInt32BE(0));
          acked++;
        }
      });
      let correlationId = 0;
      while (Date.now() < deadline) {
        const frame = produceFrame('flood', c % 4, batch, ++correlationId);
        sentBytes += frame.length;
        if (!socket.write(frame)) await Promise.race([once(socket, 'drain'), sleep(Math.max(1, deadline - Date.now()))]);
      }
      socket.destroy();
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  await sleep(300);
  clearInterval(sampler);
  return { base, peak, acked, sentBytes, seconds };
}

for (const [label, env] of [
  ['default queued.max.request.bytes (100 MiB)', {}],
  ['queued.max.request.bytes = 16 MiB', { RAFKA_QUEUED_MAX_REQUEST_BYTES: String(16 << 20) }],
] as const) {
  test(`a flood of produce requests, ${label}: broker memory stays bounded`, { timeout: 120_000 }, async (t) => {
    const data = tempDir('rafka-flood-');
    const broker = await startBrokerProcess(['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'], {
      env: { ...env, RAFKA_LOG_RETENTION_CHECK_INTERVAL_MS: '250' },
    });
    try {
      if (rssBytes(broker.child.pid!) === null) return skipOrFail(t, 'no /proc/PID/status on this system');
      const r = await flood(broker, 2500);
      const cap = 'RAFKA_QUEUED_MAX_REQUEST_BYTES' in env ? 16 << 20 : 100 << 20;
      t.diagnostic(
        `produce flood (${label}): 8 connections, 256 KiB batches, ${r.seconds.toFixed(1)} s: ${mib(r.sentBytes)} offered, ` +
          `${r.acked} requests acknowledged (${mib(r.acked * 262_144 / r.seconds)}/s); broker RSS ${mib(r.base)} before, peak ${mib(r.peak)} (+${mib(r.peak - r.base)})`,
      );
      assert.ok(r.acked > 0);
      // The cap, one request per connection, the log engine's write groups (8 MiB per partition),
      // and a generous allowance for the allocator: far below what was offered.
      assert.ok(r.peak - r.base < cap + 8 * 262_144 + 4 * (8 << 20) + (160 << 20), `peak growth ${mib(r.peak - r.base)}`);
    } finally {
      await stop(broker);
      data.remove();
    }
  });
}
