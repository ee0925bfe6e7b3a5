/**
 * The client Consumer without a group (assign) against a live broker: start positions, offset reset
 * policies, for-await iteration, seek, pause/resume, and bounded prefetch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import type { RunningBroker } from '../src/broker/index.js';
import { Admin, ClientClosedError, Consumer, KafkaClientError, Producer, type ConsumerMessage } from '../src/client/index.js';

async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Take exactly `n` messages (fails after timeoutMs). */
async function take(c: Consumer, n: number, timeoutMs = 5000): Promise<ConsumerMessage[]> {
  const out: ConsumerMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const m = await c.next(Math.max(1, deadline - Date.now()));
    if (!m) throw new Error(`got ${out.length} of ${n} messages`);
    out.push(m);
  }
  return out;
}

describe('client consumer (no group)', () => {
  let broker: RunningBroker;
  let producer: Producer;
  let admin: Admin;
  before(async () => {
    broker = await testBroker();
    producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0 });
    admin = new Admin({ bootstrap: broker.bootstrap });
    await admin.createTopics([
      { topic: 'c-basic', numPartitions: 3 },
      { topic: 'c-seek', numPartitions: 1 },
      { topic: 'c-pause', numPartitions: 2 },
      { topic: 'c-prefetch', numPartitions: 1 },
      { topic: 'c-reset', numPartitions: 1 },
      { topic: 'c-polls', numPartitions: 3 },
      { topic: 'c-tail', numPartitions: 2 },
    ]);
  });
  after(async () => {
    await producer.close();
    await admin.close();
    await broker.close();
  });

  test('assign + for await: every record of every partition, in order per partition, with keys, values and headers', async () => {
    const sent = await producer.send('c-basic', Array.from({ length: 90 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { n: String(i) }, partition: i % 3 })));
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest' });
    consumer.assign([0, 1, 2].map((partition) => ({ topic: 'c-basic', partition })));
    const got: ConsumerMessage[] = [];
    for await (const m of consumer) {
      got.push(m);
      if (got.length === 90) break;
    }
    await consumer.close();
    const byPartition = [0, 1, 2].map((p) => got.filter((m) => m.partition === p));
    for (const [p, list] of byPartition.entries()) {
      assert.deepEqual(list.map((m) => m.offset), Array.from({ length: 30 }, (_, i) => i), `partition ${p} in order`);
      for (const m of list) {
        const i = Number(m.value!.toString().slice(1));
        assert.equal(m.key!.toString(), `k${i}`);
        assert.equal(m.headers[0]!.key, 'n');
        assert.equal(m.headers[0]!.value!.toString(), String(i));
        assert.equal(sent[i]!.offset, m.offset);
        assert.equal(sent[i]!.partition, m.partition);
      }
    }
  });

  test('start offsets: explicit offset, earliest, latest; reset none is an error', async () => {
    await producer.send('c-reset', Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })));
    const explicit = new Consumer({ bootstrap: broker.bootstrap });
    explicit.assign([{ topic: 'c-reset', partition: 0, offset: 7 }]);
    assert.deepEqual((await take(explicit, 3)).map((m) => m.offset), [7, 8, 9]);
    await explicit.close();

    const earliest = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest' });
    earliest.assign([{ topic: 'c-reset', partition: 0 }]);
    assert.equal((await take(earliest, 1))[0]!.offset, 0);
    await earliest.close();

    const latest = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'latest' });
    latest.assign([{ topic: 'c-reset', partition: 0 }]);
    await until(() => latest.position({ topic: 'c-reset', partition: 0 }) === 10, 5000, 'latest position');
    assert.equal(await latest.next(100), undefined, 'nothing old is delivered');
    await producer.send('c-reset', { value: 'new' });
    const m = (await take(latest, 1))[0]!;
    assert.equal(m.offset, 10);
    assert.equal(m.value!.toString(), 'new');
    await latest.close();

    const none = new Consumer({ bootstrap: broker.bootstrap, groupId: 'c-reset-none', autoOffsetReset: 'none' });
    none.assign([{ topic: 'c-reset', partition: 0 }]);
    await assert.rejects(none.next(5000), (e: unknown) => e instanceof KafkaClientError && e.code === 'RAFKA_NO_OFFSET');
    await none.close();

    // Out of range: an offset past the end resets by the policy.
    const outOfRange = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest' });
    outOfRange.assign([{ topic: 'c-reset', partition: 0, offset: 1000 }]);
    assert.equal((await take(outOfRange, 1))[0]!.offset, 0);
    await outOfRange.close();
  });

  test('seek moves the position back and forward and drops what was prefetched', async () => {
    await producer.send('c-seek', Array.from({ length: 50 }, (_, i) => ({ value: `s${i}` })));
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest' });
    consumer.assign([{ topic: 'c-seek', partition: 0 }]);
    assert.deepEqual((await take(consumer, 5)).map((m) => m.offset), [0, 1, 2, 3, 4]);
    consumer.seek({ topic: 'c-seek', partition: 0, offset: 40 });
    assert.deepEqual((await take(consumer, 3)).map((m) => m.offset), [40, 41, 42]);
    consumer.seek({ topic: 'c-seek', partition: 0, offset: 2 });
    assert.deepEqual((await take(consumer, 2)).map((m) => m.value!.toString()), ['s2', 's3']);
    assert.equal(consumer.position({ topic: 'c-seek', partition: 0 }), 4);
    assert.throws(() => consumer.seek({ topic: 'c-seek', partition: 9, offset: 0 }), KafkaClientError);
    await consumer.close();
    await assert.rejects(consumer.next(10), ClientClosedError);
  });

  test('pause stops delivery of a partition; resume continues where it stopped', async () => {
    await producer.send('c-pause', Array.from({ length: 40 }, (_, i) => ({ value: `p${i}`, partition: i % 2 })));
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest' });
    consumer.assign([{ topic: 'c-pause', partition: 0 }, { topic: 'c-pause', partition: 1 }]);
    consumer.pause([{ topic: 'c-pause', partition: 1 }]);
    assert.deepEqual(consumer.paused(), [{ topic: 'c-pause', partition: 1 }]);
    const first = await take(consumer, 20);
    assert.ok(first.every((m) => m.partition === 0));
    assert.equal(await consumer.next(200), undefined, 'partition 1 stays paused');
    await producer.send('c-pause', { value: 'more', partition: 1 });
    assert.equal(await consumer.next(100), undefined);
    consumer.resume([{ topic: 'c-pause', partition: 1 }]);
    const rest = await take(consumer, 21);
    assert.ok(rest.every((m) => m.partition === 1));
    assert.deepEqual(rest.map((m) => m.offset), Array.from({ length: 21 }, (_, i) => i));
    await consumer.close();
  });

  test('prefetch is bounded: an idle application holds at most maxBufferedBytes (+ one fetch)', async () => {
    const value = Buffer.alloc(1000, 1);
    // Batches of at most 16 KiB: a fetch returns at least one whole batch, whatever its size.
    const small = new Producer({ bootstrap: broker.bootstrap, batchSizeBytes: 16_384 });
    for (let i = 0; i < 10; i++) await small.send('c-prefetch', Array.from({ length: 100 }, () => ({ value })));
    await small.close();
    const bound = 20_000;
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest', maxBufferedBytes: bound, maxPartitionBytes: 8_000 });
    try {
      consumer.assign([{ topic: 'c-prefetch', partition: 0 }]);
      await until(() => consumer.bufferedBytesNow > 0, 5000, 'prefetch');
      let peak = 0;
      for (let i = 0; i < 30; i++) {
        peak = Math.max(peak, consumer.bufferedBytesNow);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(peak <= bound + 16_000 + 1_000, `buffered ${peak} bytes with a bound of ${bound}`);
      // Consuming releases room and everything still arrives, in order.
      const all = await take(consumer, 1000, 10_000);
      assert.deepEqual(all.map((m) => m.offset), Array.from({ length: 1000 }, (_, i) => i));
    } finally {
      await consumer.close();
    }
  });

  test('long polls for partitions at the end of their log never hold back refilling a drained partition', async () => {
    // Three partitions of 40 small records each, in batches of ~4, with a maxPartitionBytes that
    // holds one batch: each partition needs many fetches. A slow application drains them one after
    // the other, so partition 0 reaches its end (a fetch for it alone is a long poll, maxWaitMs = 20 s
    // on the broker), then partition 1 (another), while partition 2 still has to be refilled. Were
    // long polls to take the data fetch slots, partition 2 would wait for them.
    const small = new Producer({ bootstrap: broker.bootstrap, batchSizeBytes: 2_000 });
    const value = Buffer.alloc(500, 7);
    for (const partition of [0, 1, 2]) {
      for (let i = 0; i < 10; i++) await small.send('c-polls', Array.from({ length: 4 }, () => ({ value, partition })));
    }
    await small.close();
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest', maxWaitMs: 20_000, maxPartitionBytes: 2_000 });
    try {
      const started = Date.now();
      consumer.assign([0, 1, 2].map((partition) => ({ topic: 'c-polls', partition })));
      const seen = [0, 0, 0];
      for (let n = 0; n < 120; n++) {
        const m = await consumer.next(15_000);
        assert.ok(m, `got ${n} of 120 messages (per partition ${seen.join('/')})`);
        seen[m.partition]!++;
        await new Promise((r) => setTimeout(r, 1));
      }
      const elapsed = Date.now() - started;
      assert.deepEqual(seen, [40, 40, 40]);
      assert.ok(elapsed < 10_000, `took ${elapsed} ms: a long poll held back a data fetch`);
    } finally {
      await consumer.close();
    }
  });

  test('a partition that reaches its end while a long poll for another is out gets new records at once', async () => {
    // Partition 0 stays empty: a long poll for it waits maxWaitMs (20 s). Partition 1 gets a burst
    // that takes several fetches (maxPartitionBytes 2,000), reaches its end while that poll is out,
    // and must then be polled on its own, so a record produced later arrives without waiting for
    // partition 0's poll.
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest', maxWaitMs: 20_000, maxPartitionBytes: 2_000 });
    const small = new Producer({ bootstrap: broker.bootstrap, batchSizeBytes: 2_000 });
    try {
      consumer.assign([0, 1].map((partition) => ({ topic: 'c-tail', partition })));
      await new Promise((r) => setTimeout(r, 300)); // both partitions at their (empty) end: one poll
      const value = Buffer.alloc(500, 3);
      for (let i = 0; i < 10; i++) await small.send('c-tail', Array.from({ length: 4 }, () => ({ value, partition: 1 })));
      const burst = await take(consumer, 40, 15_000);
      assert.ok(burst.every((m) => m.partition === 1));
      await new Promise((r) => setTimeout(r, 300)); // partition 1 is at its end again
      const started = Date.now();
      await small.send('c-tail', [{ value: 'late', partition: 1 }]);
      const [late] = await take(consumer, 1, 15_000);
      assert.equal(late!.value!.toString(), 'late');
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 10_000, `took ${elapsed} ms: the record waited for another partition's long poll`);
    } finally {
      await small.close();
      await consumer.close();
    }
  });
});

test('the consumer record decoder agrees with the reference decoder on random batches', async () => {
  const { encodeBatch, decodeBatch } = await import('../src/protocol/records/record.js');
  const { RECORDS_OFFSET } = await import('../src/protocol/records/batch.js');
  const { decodeMessages } = await import('../src/client/records.js');
  const { randomBytes, randomInt } = await import('node:crypto');
  for (let round = 0; round < 200; round++) {
    const n = randomInt(1, 30);
    const base = 1_700_000_000_000 + randomInt(0, 1_000_000);
    const records = Array.from({ length: n }, () => ({
      key: randomInt(0, 4) === 0 ? null : randomBytes(randomInt(0, 40)),
      value: randomInt(0, 6) === 0 ? null : randomBytes(randomInt(0, 300)),
      headers: Array.from({ length: randomInt(0, 3) }, (_, j) => ({ key: `h${j}-ü`, value: randomInt(0, 3) === 0 ? null : randomBytes(randomInt(0, 10)) })),
      timestamp: base + randomInt(-5000, 5000),
    }));
    const batch = await encodeBatch({ records, baseOffset: round * 100, timestampType: round % 5 === 0 ? 1 : 0 });
    const ref = await decodeBatch(batch);
    const min = round * 100 + randomInt(0, n);
    const out: import('../src/client/records.js').ConsumerMessage[] = [];
    decodeMessages('t', 3, ref.header, batch.subarray(RECORDS_OFFSET), min, out);
    const expected = ref.records.filter((r) => r.offset >= min);
    assert.equal(out.length, expected.length);
    out.forEach((m, i) => {
      const r = expected[i]!;
      assert.equal(m.offset, r.offset);
      assert.equal(m.timestamp, r.timestamp);
      assert.deepEqual(m.key, r.key);
      assert.deepEqual(m.value, r.value);
      assert.deepEqual(m.headers, r.headers);
      assert.equal(m.topic, 't');
      assert.equal(m.partition, 3);
    });
  }
});
