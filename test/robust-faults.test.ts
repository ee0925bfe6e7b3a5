/**
 * Clients that vanish in the middle of a produce, on the log engine with fsync=always (so the append
 * is still waiting for its fsync when the client is gone): some send a whole idempotent batch and
 * disconnect at once, some disconnect partway through the frame. The broker logs no error, keeps
 * serving, writes every whole batch at most once and no partial one; each whole batch retried on a
 * new connection is then present exactly once (answered as a duplicate if it had been written).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { RawClient } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import { fetchAll } from './helpers/fetch-all.js';
import { tempDir } from './helpers/log-engine.js';
import { createLogger } from '../src/broker/logger.js';
import { apiVersionsOk, createTopic, idempotentBatch, initProducerId, produce, produceFrame, sleep } from './helpers/robust.js';

test('clients disconnecting mid-produce (mid-frame and mid-append): no error, no partial or doubled batch, retries are duplicates', { timeout: 60_000 }, async (t) => {
  const data = tempDir('rafka-vanish-');
  const errors: string[] = [];
  const b = await testBroker({ storage: { type: 'log', path: data.dir, fsync: 'always' }, logger: createLogger('error', (l) => errors.push(l)) });
  const admin = await RawClient.connect(b.port);
  try {
    await createTopic(admin, 'vanish', 2);
    const CLIENTS = 40;
    const batches: { partition: number; values: string[]; records: Buffer; pid: { producerId: number; producerEpoch: number }; whole: boolean }[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const pid = await initProducerId(admin);
      const values = [0, 1, 2].map((k) => `c${i}-${k}`);
      batches.push({ partition: i % 2, values, records: await idempotentBatch(values, pid.producerId, pid.producerEpoch, 0), pid, whole: i % 4 !== 3 });
    }
    // All at once, so that the appends queue behind each other's fsyncs while their clients leave.
    await Promise.all(
      batches.map(async (bt, i) => {
        const s = net.connect({ port: b.port, host: '127.0.0.1' });
        s.on('error', () => {});
        await once(s, 'connect');
        const frame = produceFrame('vanish', bt.partition, bt.records, i + 1);
        s.write(bt.whole ? frame : frame.subarray(0, 20 + ((i * 37) % (frame.length - 20))));
        await new Promise((r) => setImmediate(r));
        s.destroy();
      }),
    );
    await sleep(300);
    assert.ok(await apiVersionsOk(admin), 'the broker keeps serving');
    const count = async () => {
      const seen = new Map<string, number>();
      for (const p of [0, 1]) for (const r of await fetchAll(b.port, 'vanish', p)) seen.set(r.value!.toString(), (seen.get(r.value!.toString()) ?? 0) + 1);
      return seen;
    };
    const before = await count();
    for (const [v, n] of before) assert.equal(n, 1, `${v} written once`);
    for (const bt of batches.filter((x) => !x.whole)) for (const v of bt.values) assert.equal(before.has(v), false, `${v}: a partial frame is never written`);
    const written = batches.filter((bt) => bt.whole && before.has(bt.values[0]!)).length;
    // Retry every whole batch, as a client does after losing its connection.
    const retry = await RawClient.connect(b.port);
    for (const bt of batches.filter((x) => x.whole)) {
      const r = await produce(retry, 'vanish', bt.partition, await idempotentBatch(bt.values, bt.pid.producerId, bt.pid.producerEpoch, 0));
      assert.equal(r.errorCode, 0);
    }
    retry.close();
    const after = await count();
    for (const bt of batches.filter((x) => x.whole)) for (const v of bt.values) assert.equal(after.get(v), 1, `${v}: exactly once after the retry`);
    assert.equal(after.size, batches.filter((x) => x.whole).length * 3);
    assert.deepEqual(errors, []);
    t.diagnostic(`${CLIENTS} clients vanished mid-produce (${batches.filter((x) => !x.whole).length} mid-frame); ${written} whole batches had been written before the retries, every one once after`);
  } finally {
    admin.close();
    await b.close();
    data.remove();
  }
});
