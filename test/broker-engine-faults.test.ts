/**
 * What the broker answers when its storage engine throws (src/broker/engine-faults.ts): an I/O fault
 * the engine reports as StorageError is KAFKA_STORAGE_ERROR; anything else is an internal error —
 * logged with its context and stack, counted on `broker.engineFaults`, answered UNKNOWN_SERVER_ERROR.
 * Both paths, on produce and on fetch, against an engine that fails on demand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { StorageError } from '../src/storage/errors.js';
import type { AppendBatch, AppendResult, ReadResult } from '../src/storage/engine.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, FetchRequest, FetchResponse } from '../src/protocol/messages/index.js';
import { RawClient } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import { createTopic, produce } from './helpers/robust.js';

/** Fails appends and reads of topic `disk` with a StorageError and of topic `bug` with a TypeError. */
class FailingEngine extends MemoryEngine {
  private fault(topic: string): Error | null {
    if (topic === 'disk') return new StorageError('disk: write failed: EIO: i/o error');
    if (topic === 'bug') return new TypeError('offsets went backwards');
    return null;
  }

  override append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    const err = this.fault(topic);
    return err ? Promise.reject(err) : super.append(topic, partition, batch);
  }

  override read(topic: string, partition: number, offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    const err = this.fault(topic);
    return err ? Promise.reject(err) : super.read(topic, partition, offset, maxBytes, minOneBatch);
  }
}

test('a StorageError is KAFKA_STORAGE_ERROR; anything else an engine throws is a logged, counted UNKNOWN_SERVER_ERROR', async () => {
  const lines: string[] = [];
  const logger = { error: (m: string) => lines.push(m), warn() {}, info() {}, debug() {} };
  const engine = new FailingEngine();
  const b = await testBroker({ storage: engine, logger });
  const c = await RawClient.connect(b.port);
  try {
    for (const t of ['disk', 'bug', 'fine']) await createTopic(c, t);
    const batch = () => encodeBatch({ records: [{ value: Buffer.from('v') }] });

    assert.equal((await produce(c, 'disk', 0, await batch())).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.deepEqual([b.broker.engineFaults.storageErrors, b.broker.engineFaults.internalErrors], [1, 0]);

    assert.equal((await produce(c, 'bug', 0, await batch())).errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
    assert.deepEqual([b.broker.engineFaults.storageErrors, b.broker.engineFaults.internalErrors], [1, 1]);
    const logged = lines.find((l) => l.startsWith('internal error'));
    assert.ok(logged, lines.join('\n'));
    assert.match(logged, /in append to bug-0: TypeError: offsets went backwards\n\s+at /, 'the context and the stack are logged');

    assert.equal((await produce(c, 'fine', 0, await batch())).errorCode, ErrorCode.NONE, 'the broker keeps serving');

    // Reads: put a record in place first, then fail the read path only.
    const fetch = async (topic: string) => {
      const res = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
        maxWaitMs: 0,
        maxBytes: 1 << 20,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      });
      return res.responses[0]!.partitions[0]!.errorCode;
    };
    await MemoryEngine.prototype.append.call(engine, 'disk', 0, { bytes: await batch(), recordCount: 1, maxTimestamp: 0 });
    await MemoryEngine.prototype.append.call(engine, 'bug', 0, { bytes: await batch(), recordCount: 1, maxTimestamp: 0 });
    assert.equal(await fetch('disk'), ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(await fetch('bug'), ErrorCode.UNKNOWN_SERVER_ERROR);
    assert.equal(await fetch('fine'), ErrorCode.NONE);
    assert.deepEqual([b.broker.engineFaults.storageErrors, b.broker.engineFaults.internalErrors], [2, 2]);
  } finally {
    c.close();
    await b.close();
  }
});
