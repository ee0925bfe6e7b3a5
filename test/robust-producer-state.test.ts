/**
 * Idempotent producer state across restarts and concurrent retries:
 *  - rebuilt at start from the newest batches of each partition (producer-state-rebuild.ts): after a
 *    kill -9 and after a clean stop of a real broker process on the log engine, a retried batch that
 *    was acknowledged before is answered as a duplicate with its original offset, the next batch
 *    continues the sequence, a gap is still refused, and the log holds every record once;
 *  - the scan's bound: the tail read is contiguous, ends with the last batch and stays within
 *    PRODUCER_STATE_SCAN_BYTES; a producer older than the tail is unknown;
 *  - a retry arriving on a second connection while the original is still being written waits for it
 *    and is its duplicate (no second copy in the log).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { fetchAll } from './helpers/fetch-all.js';
import { kill9, startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { tempDir, newLogEngine } from './helpers/log-engine.js';
import { testBroker } from './helpers/broker.js';
import { createTopic, idempotentBatch, initProducerId, produce, produceFrame } from './helpers/robust.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceResponse } from '../src/protocol/messages/produce.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import type { AppendBatch, AppendResult, StorageEngine } from '../src/storage/engine.js';
import { ProducerStateManager } from '../src/broker/producer-state.js';
import { rebuildProducerState, tailBatches } from '../src/broker/producer-state-rebuild.js';
import { createLogger } from '../src/broker/logger.js';
import { encodeBatch } from '../src/protocol/records/record.js';

const TOPIC = 'idem';

interface Sent {
  values: string[];
  sequence: number;
  offset: number;
}

async function sendBatches(client: RawClient, pid: { producerId: number; producerEpoch: number }, partition: number, from: number, count: number, tag: string): Promise<Sent[]> {
  const out: Sent[] = [];
  for (let i = 0; i < count; i++) {
    const sequence = from + i * 3;
    const values = [0, 1, 2].map((k) => `${tag}-${sequence + k}`);
    const r = await produce(client, TOPIC, partition, await idempotentBatch(values, pid.producerId, pid.producerEpoch, sequence));
    assert.equal(r.errorCode, 0);
    out.push({ values, sequence, offset: r.baseOffset });
  }
  return out;
}

async function assertOnce(port: number, partition: number, expected: number): Promise<void> {
  const records = await fetchAll(port, TOPIC, partition);
  const values = records.map((r) => r.value!.toString());
  assert.equal(new Set(values).size, values.length, `partition ${partition}: no value twice`);
  assert.equal(values.length, expected, `partition ${partition}: ${expected} records`);
}

test('after kill -9 and after a clean stop, a retried acknowledged batch is a duplicate with its original offset (log engine, real process)', { timeout: 60_000 }, async (t) => {
  const data = tempDir('rafka-pstate-');
  const args = ['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'];
  let broker: BrokerProcess = await startBrokerProcess(args);
  try {
    let client = await RawClient.connect(broker.port);
    await createTopic(client, TOPIC, 2);
    const a = await initProducerId(client);
    const b = await initProducerId(client);
    // Two producers interleaved on partition 0, one on partition 1.
    const a0: Sent[] = [];
    const b0: Sent[] = [];
    for (let i = 0; i < 8; i++) {
      a0.push(...(await sendBatches(client, a, 0, i * 3, 1, 'a')));
      b0.push(...(await sendBatches(client, b, 0, i * 3, 1, 'b')));
    }
    const a1 = await sendBatches(client, a, 1, 0, 4, 'a1');
    client.close();

    await kill9(broker);
    broker = await startBrokerProcess(args);
    client = await RawClient.connect(broker.port);
    const retry = async (pid: typeof a, partition: number, s: Sent) => produce(client, TOPIC, partition, await idempotentBatch(s.values, pid.producerId, pid.producerEpoch, s.sequence));
    for (const [pid, partition, s, what] of [
      [a, 0, a0[7]!, 'a: last batch'],
      [a, 0, a0[4]!, 'a: 4th from last (within the 5-batch window)'],
      [b, 0, b0[7]!, 'b: last batch'],
      [a, 1, a1[3]!, 'a on partition 1'],
    ] as const) {
      assert.deepEqual(await retry(pid, partition, s), { errorCode: 0, baseOffset: s.offset }, `after kill -9, ${what}: duplicate at its original offset`);
    }
    const next = await sendBatches(client, a, 0, 24, 1, 'a');
    assert.equal(next[0]!.offset, 48, 'the next batch continues the sequence at the high watermark');
    const gap = await produce(client, TOPIC, 0, await idempotentBatch(['gap'], a.producerId, a.producerEpoch, 40));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a gap is still refused');
    const unknown = await produce(client, TOPIC, 0, await idempotentBatch(['who'], 987_654, 0, 5));
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID, 'a producer never seen is unknown');
    await assertOnce(broker.port, 0, 51);
    await assertOnce(broker.port, 1, 12);
    client.close();

    assert.equal(await stop(broker), 0);
    broker = await startBrokerProcess(args);
    client = await RawClient.connect(broker.port);
    assert.deepEqual(await retry(a, 0, next[0]!), { errorCode: 0, baseOffset: 48 }, 'after a clean stop: duplicate at its original offset');
    await assertOnce(broker.port, 0, 51);
    client.close();
    t.diagnostic('retries after kill -9: 4 duplicates answered with their original offsets; after a clean stop: 1');
  } finally {
    await stop(broker).catch(() => {});
    data.remove();
  }
});

async function engines(): Promise<{ name: string; engine: StorageEngine; done: () => Promise<void> }[]> {
  const mem = new MemoryEngine();
  await mem.open();
  const dir = tempDir('rafka-tail-');
  const log = newLogEngine(dir.dir, { fsync: 'never' });
  await log.open();
  return [
    { name: 'memory', engine: mem, done: async () => {} },
    { name: 'log (64 KiB segments)', engine: log, done: async () => { await log.close(); dir.remove(); } },
  ];
}

test('the scan reads a contiguous tail that ends with the last batch, within its byte bound', async () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (const { name, engine, done } of await engines()) {
    try {
      await engine.createTopic({ name: 'tail', id: 'AAAAAAAAAAAAAAAAAAAAAA', partitionCount: 1, configs: { 'internal.segment.bytes': '65536' } });
      const sizes: number[] = [];
      const firsts: number[] = [];
      let next = 0;
      for (let i = 0; i < 400; i++) {
        const n = 1 + Math.floor(rand() * 4);
        const bytes = await encodeBatch({ records: Array.from({ length: n }, () => ({ value: Buffer.alloc(Math.floor(rand() * 2000)) })) });
        const batch: AppendBatch = { bytes, recordCount: n, maxTimestamp: Date.now() };
        firsts.push((await engine.append('tail', 0, batch)).baseOffset);
        sizes.push(bytes.length);
        next += n;
      }
      assert.equal(engine.offsets('tail', 0).highWatermark, next);
      for (const budget of [100, 3000, 20_000, 100_000, 1 << 30]) {
        const { headers } = await tailBatches(engine, 'tail', 0, budget);
        // The longest suffix of batches whose bytes fit in the budget.
        let k = 0;
        let sum = 0;
        while (k < sizes.length && sum + sizes[sizes.length - 1 - k]! <= budget) sum += sizes[sizes.length - 1 - k++]!;
        assert.deepEqual(headers.map((h) => h.baseOffset), firsts.slice(firsts.length - k), `${name}, ${budget} bytes: the longest tail that fits`);
      }
    } finally {
      await done();
    }
  }
});

test('a producer whose batches lie before the scanned tail is unknown after the rebuild; newer ones are known', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const topic = { name: 't', id: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionCount: 1, configs: {} };
  await engine.createTopic(topic);
  const put = async (producerId: number, seq: number) => {
    const bytes = await encodeBatch({ records: [{ value: Buffer.alloc(500) }], producerId, producerEpoch: 0, baseSequence: seq });
    return (await engine.append('t', 0, { bytes, recordCount: 1, maxTimestamp: Date.now() })).baseOffset;
  };
  await put(1, 0);
  for (let s = 0; s < 40; s++) await put(2, s); // ~22 KB after producer 1
  const producers = new ProducerStateManager();
  const summary = await rebuildProducerState(producers, engine, [topic], createLogger('error'), { scanBytes: 8000 });
  assert.ok(summary.batches > 5 && summary.batches < 40, `${summary.batches} batches in the tail`);
  assert.equal(producers.check('t', 0, { producerId: 1, producerEpoch: 0, baseSequence: 1, recordCount: 1 }).kind, 'error', 'producer 1 is older than the tail');
  assert.deepEqual(producers.check('t', 0, { producerId: 2, producerEpoch: 0, baseSequence: 39, recordCount: 1 }), { kind: 'duplicate', baseOffset: 40 });
  assert.deepEqual(producers.check('t', 0, { producerId: 2, producerEpoch: 0, baseSequence: 40, recordCount: 1 }), { kind: 'append' });
});

/** The memory engine, with every append resolving `delayMs` after its offset was assigned (a slow fsync). */
class SlowAppendEngine extends MemoryEngine {
  constructor(private readonly delayMs: number) {
    super();
  }

  override async append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    const result = await super.append(topic, partition, batch);
    await new Promise((r) => setTimeout(r, this.delayMs));
    return result;
  }
}

test('a retry on a second connection while the original is still being written is its duplicate, not a second copy', async () => {
  const b = await testBroker({ storage: new SlowAppendEngine(300) });
  const first = await RawClient.connect(b.port);
  const second = await RawClient.connect(b.port);
  try {
    await createTopic(first, TOPIC);
    const pid = await initProducerId(first);
    const batch0 = await idempotentBatch(['x0'], pid.producerId, pid.producerEpoch, 0);
    assert.equal((await produce(first, TOPIC, 0, batch0)).errorCode, 0);
    const batch1 = await idempotentBatch(['x1', 'x2'], pid.producerId, pid.producerEpoch, 1);
    // The original, then (while its append waits) the same batch from another connection, as a
    // client does after its connection timed out.
    const f1 = produceFrame(TOPIC, 0, Buffer.from(batch1), 101);
    first.write(f1);
    await new Promise((r) => setTimeout(r, 50));
    const f2 = produceFrame(TOPIC, 0, Buffer.from(batch1), 102);
    second.write(f2);
    const [r1, r2] = await Promise.all([first.readFrame(), second.readFrame()]);
    const p1 = decodeResponse(r1!, ApiKey.Produce, 9, ProduceResponse).responses[0]!.partitionResponses[0]!;
    const p2 = decodeResponse(r2!, ApiKey.Produce, 9, ProduceResponse).responses[0]!.partitionResponses[0]!;
    assert.deepEqual([p1.errorCode, p2.errorCode], [0, 0]);
    assert.equal(p2.baseOffset, p1.baseOffset, 'the retry is answered with the original offset');
    const records = await fetchAll(b.port, TOPIC, 0);
    assert.deepEqual(records.map((r) => r.value!.toString()), ['x0', 'x1', 'x2'], 'written once');
    assert.equal(b.broker.producers.appendsRunning, 0);
  } finally {
    first.close();
    second.close();
    await b.close();
  }
});
