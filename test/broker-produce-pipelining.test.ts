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
import type { AppendBatch, AppendResult } from '../src/storage/engine.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, ApiVersionsRequest, ApiVersionsResponse, ProduceResponse } from '../src/protocol/messages/index.js';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import { createTopic, produceFrame, requestFrame, waitFor } from './helpers/robust.js';
import { tempDir } from './helpers/log-engine.js';
import { LogEngine } from '../src/storage/log/log-engine.js';

/** Appends are assigned at once (memory engine) and acknowledged only when `release(i)` is called. */
class GatedEngine extends MemoryEngine {
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

test('log engine, fsync always: produces pipelined on one connection share fsyncs, and every answer is durable', async () => {
  const tmp = tempDir();
  let fsyncs = 0;
  const engine = new LogEngine({ path: tmp.dir, fsync: 'always', observer: { fsync: () => void fsyncs++ } });
  const b = await testBroker({ storage: engine });
  const c = await RawClient.connect(b.port);
  try {
    await createTopic(c, 't');
    const n = 8;
    const frames = [];
    for (let i = 0; i < n; i++) frames.push(produceFrame('t', 0, await encodeBatch({ records: [{ value: Buffer.alloc(1000, i) }] }), 200 + i));
    const before = fsyncs;
    c.write(Buffer.concat(frames));
    for (let i = 0; i < n; i++) assert.deepEqual(offsetOf((await c.readFrame())!, 200 + i), { errorCode: ErrorCode.NONE, baseOffset: i });
    // Handled one at a time each would take its own fsync; pipelined, the ones behind the first share.
    assert.ok(fsyncs - before < n, `${fsyncs - before} fsyncs for ${n} pipelined produces`);
    assert.equal(engine.offsets('t', 0).highWatermark, n);
  } finally {
    c.close();
    await b.close();
    tmp.remove();
  }
});
