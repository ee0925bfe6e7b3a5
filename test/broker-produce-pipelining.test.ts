/**
 * Pipelined Produce on one connection (src/broker/connection.ts, issue 22): a Produce lets the
 * connection's next Produce start once its appends have their offsets, so the requests a producer
 * keeps in flight wait for one durable write together instead of one each; answers still go out in
 * request order, and any other request waits for every answer before it.
 *
 * An engine whose appends become "durable" only when the test says so shows the order of events;
 * the log engine with `fsync: always` shows the fsyncs being shared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import type { AppendBatch, AppendResult, StorageCapabilities } from '../src/storage/engine.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, ApiVersionsRequest, ApiVersionsResponse, ProduceResponse } from '../src/protocol/messages/index.js';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import { createTopic, idempotentBatch, initProducerId, produceFrame, requestFrame, waitFor } from './helpers/robust.js';
import { tempDir } from './helpers/log-engine.js';
import { LogEngine } from '../src/storage/log/log-engine.js';

/** Appends are assigned at once (memory engine) and acknowledged only when `release(i)` is called. */
class GatedEngine extends MemoryEngine {
  /** Claim (or not) what the log engine promises: failed appends fail everything after them. */
  override readonly capabilities: StorageCapabilities;
  constructor(inOrder = false) {
    super();
    this.capabilities = { compaction: null, segments: null, appendsFailInOrder: inOrder };
  }
  gate = false;
  readonly held: { topic: string; release: () => void }[] = [];

  override append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    const appended = super.append(topic, partition, batch);
    if (!this.gate) return appended;
    return new Promise((resolve, reject) => {
      this.held.push({ topic, release: () => appended.then(resolve, reject) });
    });
  }
}

function offsetOf(frame: Buffer, correlationId: number): { errorCode: number; baseOffset: number } {
  const p = decodeResponse(frame, ApiKey.Produce, 9, ProduceResponse, correlationId).responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

test('pipelined produces are appended without waiting for the earlier ones to be durable, and answered in request order', async () => {
  const engine = new GatedEngine();
  const b = await testBroker({ storage: engine });
  const c = await RawClient.connect(b.port);
  try {
    await createTopic(c, 't');
    engine.gate = true;
    const frames = [];
    for (let i = 0; i < 3; i++) frames.push(produceFrame('t', 0, await encodeBatch({ records: [{ value: Buffer.from(`v${i}`) }, { value: Buffer.from('x') }] }), 100 + i));
    c.write(Buffer.concat(frames));
    // All three reach the engine while the first is still not durable.
    assert.ok(await waitFor(() => engine.held.length === 3, 5000), `appends started: ${engine.held.length}`);

    // The later ones become durable first; nothing is answered before the first is.
    engine.held[2]!.release();
    engine.held[1]!.release();
    await assert.rejects(c.readFrame(300), /timed out/);
    engine.held[0]!.release();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(offsetOf((await c.readFrame())!, 100 + i));
    assert.deepEqual(answers, [
      { errorCode: ErrorCode.NONE, baseOffset: 0 },
      { errorCode: ErrorCode.NONE, baseOffset: 2 },
      { errorCode: ErrorCode.NONE, baseOffset: 4 },
    ]);
  } finally {
    c.close();
    await b.close();
  }
});

test('a request other than Produce waits until every produce before it on the connection is answered', async () => {
  const engine = new GatedEngine();
  const b = await testBroker({ storage: engine });
  const c = await RawClient.connect(b.port);
  try {
    await createTopic(c, 't');
    engine.gate = true;
    const batch = await encodeBatch({ records: [{ value: Buffer.from('v') }] });
    c.write(Buffer.concat([produceFrame('t', 0, batch, 7), requestFrame(ApiKey.ApiVersions, 3, ApiVersionsRequest, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }, 8), produceFrame('t', 0, batch, 9)]));
    assert.ok(await waitFor(() => engine.held.length === 1, 5000));
    // The produce after ApiVersions is not started while the first one waits.
    await assert.rejects(c.readFrame(300), /timed out/);
    assert.equal(engine.held.length, 1, 'the produce behind a non-produce request waits for it');
    engine.held[0]!.release();
    assert.equal(offsetOf((await c.readFrame())!, 7).baseOffset, 0);
    assert.equal(decodeResponse((await c.readFrame())!, ApiKey.ApiVersions, 3, ApiVersionsResponse, 8).errorCode, ErrorCode.NONE);
    assert.ok(await waitFor(() => engine.held.length === 2, 5000));
    engine.held[1]!.release();
    assert.equal(offsetOf((await c.readFrame())!, 9).baseOffset, 1);
  } finally {
    c.close();
    await b.close();
  }
});

for (const idempotent of [false, true]) {
  test(`log engine, fsync always: produces pipelined on one connection share fsyncs, and every answer is durable${idempotent ? ' (idempotent producer)' : ''}`, async () => {
    const tmp = tempDir();
    let fsyncs = 0;
    const engine = new LogEngine({ path: tmp.dir, fsync: 'always', observer: { fsync: () => void fsyncs++ } });
    const b = await testBroker({ storage: engine });
    const c = await RawClient.connect(b.port);
    try {
      await createTopic(c, 't');
      const producer = idempotent ? await initProducerId(c) : null;
      const batch = (value: Buffer, sequence: number) =>
        encodeBatch({ records: [{ value }], ...(producer === null ? {} : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: sequence }) });
      // One produce first: the Produce handler's module is loaded on its first request (an await the
      // requests behind it would wait for).
      c.write(produceFrame('t', 0, await batch(Buffer.from('first'), 0), 199));
      assert.deepEqual(offsetOf((await c.readFrame())!, 199), { errorCode: ErrorCode.NONE, baseOffset: 0 });
      const n = 8;
      const frames = [];
      for (let i = 0; i < n; i++) frames.push(produceFrame('t', 0, await batch(Buffer.alloc(1000, i), 1 + i), 200 + i));
      const before = fsyncs;
      // One write of ~9 KB: on loopback the broker reads it in one chunk.
      c.write(Buffer.concat(frames));
      for (let i = 0; i < n; i++) assert.deepEqual(offsetOf((await c.readFrame())!, 200 + i), { errorCode: ErrorCode.NONE, baseOffset: 1 + i });
      // Handled one at a time each would take its own fsync. Pipelined, the requests read together are
      // all appended before the engine's writer takes its first group: one write, one fsync (before,
      // the first went alone and the other seven shared a second one).
      assert.equal(fsyncs - before, 1, `${fsyncs - before} fsyncs for ${n} pipelined produces read together`);
      assert.equal(engine.offsets('t', 0).highWatermark, n + 1);
    } finally {
      c.close();
      await b.close();
      tmp.remove();
    }
  });
}

test('an idempotent producer: its next batch is appended before the previous one is durable when the engine fails appends in order; not otherwise', async () => {
  for (const inOrder of [true, false]) {
    const engine = new GatedEngine(inOrder);
    const b = await testBroker({ storage: engine });
    const c = await RawClient.connect(b.port);
    try {
      await createTopic(c, 't');
      const { producerId, producerEpoch } = await initProducerId(c);
      engine.gate = true;
      const frames = [];
      for (let i = 0; i < 3; i++) frames.push(produceFrame('t', 0, await idempotentBatch([`a${i}`, `b${i}`], producerId, producerEpoch, 2 * i), 300 + i));
      c.write(Buffer.concat(frames));
      if (inOrder) {
        assert.ok(await waitFor(() => engine.held.length === 3, 5000), `appends started: ${engine.held.length}`);
        for (const h of [...engine.held].reverse()) h.release();
      } else {
        // Each waits for the one before to be recorded: one append at a time.
        for (let i = 0; i < 3; i++) {
          assert.ok(await waitFor(() => engine.held.length === i + 1, 5000));
          await assert.rejects(waitFor(() => engine.held.length > i + 1, 200).then((more) => (more ? Promise.resolve() : Promise.reject(new Error('one at a time')))));
          engine.held[i]!.release();
        }
      }
      for (let i = 0; i < 3; i++) assert.deepEqual(offsetOf((await c.readFrame())!, 300 + i), { errorCode: ErrorCode.NONE, baseOffset: 2 * i }, `inOrder ${inOrder}`);
      engine.gate = false;
      // The state recorded every batch: a retry is a duplicate, the next sequence follows, a gap is refused.
      c.write(produceFrame('t', 0, await idempotentBatch(['a1', 'b1'], producerId, producerEpoch, 2), 310));
      assert.deepEqual(offsetOf((await c.readFrame())!, 310), { errorCode: ErrorCode.NONE, baseOffset: 2 });
      c.write(produceFrame('t', 0, await idempotentBatch(['c'], producerId, producerEpoch, 6), 311));
      assert.deepEqual(offsetOf((await c.readFrame())!, 311), { errorCode: ErrorCode.NONE, baseOffset: 6 });
      c.write(produceFrame('t', 0, await idempotentBatch(['d'], producerId, producerEpoch, 9), 312));
      assert.equal(offsetOf((await c.readFrame())!, 312).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    } finally {
      c.close();
      await b.close();
    }
  }
});

test('log engine: when a pipelined idempotent batch fails to be written, the ones behind it fail too, and the retries take the same offsets with no gap', async () => {
  const tmp = tempDir();
  let failWrites = 0;
  const faults = {
    beforeWrite(file: string) {
      if (failWrites > 0 && file.endsWith('.log')) {
        failWrites--;
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
    },
  };
  const engine = new LogEngine({ path: tmp.dir, fsync: 'always', faults, warn: () => {} });
  const b = await testBroker({ storage: engine });
  const c = await RawClient.connect(b.port);
  try {
    await createTopic(c, 't');
    const { producerId, producerEpoch } = await initProducerId(c);
    const batches = [];
    for (let i = 0; i < 4; i++) batches.push(await idempotentBatch([`a${i}`, `b${i}`], producerId, producerEpoch, 2 * i));
    failWrites = 1;
    c.write(Buffer.concat(batches.map((batch, i) => produceFrame('t', 0, batch, 400 + i))));
    const first = [];
    for (let i = 0; i < 4; i++) first.push(offsetOf((await c.readFrame())!, 400 + i));
    assert.equal(first[0]!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    // A batch behind the failed one either failed with it or was refused as out of order: none was stored.
    for (const r of first.slice(1)) assert.notEqual(r.errorCode, ErrorCode.NONE, JSON.stringify(first));
    assert.equal(engine.offsets('t', 0).highWatermark, 0);
    // The producer retries them all, in order: they get the offsets the failed ones had.
    c.write(Buffer.concat(batches.map((batch, i) => produceFrame('t', 0, batch, 410 + i))));
    for (let i = 0; i < 4; i++) assert.deepEqual(offsetOf((await c.readFrame())!, 410 + i), { errorCode: ErrorCode.NONE, baseOffset: 2 * i });
    assert.equal(engine.offsets('t', 0).highWatermark, 8);
  } finally {
    c.close();
    await b.close();
    tmp.remove();
  }
});
