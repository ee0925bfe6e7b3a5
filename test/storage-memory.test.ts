import { storageConformance } from './storage-conformance.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine, MemoryPartitionLog } from '../src/storage/memory/memory-engine.js';

storageConformance('memory engine', async () => new MemoryEngine());

test('memory engine: a small batch is copied out of a large buffer, a batch that is most of its buffer is kept', () => {
  const log = new MemoryPartitionLog();
  // A 100-byte batch inside a 64 KiB socket read: copied, so it does not hold the 64 KiB.
  const chunk = Buffer.alloc(64 * 1024, 7);
  const small = chunk.subarray(1000, 1100);
  log.append({ bytes: small, recordCount: 1, maxTimestamp: 0 });
  assert.notEqual(log.batches[0]!.buffer, chunk.buffer);
  assert.equal(log.batches[0]!.length, 100);
  assert.equal(log.batches[0]!.readBigInt64BE(0), 0n);
  assert.equal(chunk.readBigInt64BE(1000), 0x0707070707070707n, 'the request bytes were not written');
  // A 16 KiB batch that fills most of its frame: kept as it is (no allocation, no copy).
  const frame = Buffer.alloc(16 * 1024 + 40, 9);
  const big = frame.subarray(40);
  log.append({ bytes: big, recordCount: 5, maxTimestamp: 0 });
  assert.equal(log.batches[1]!.buffer, frame.buffer);
  assert.equal(log.batches[1]!.readBigInt64BE(0), 1n, 'its base offset is stamped in place');
  assert.equal(log.highWatermark, 6);
});

test('memory engine: the producer snapshot interval follows segment.bytes of the topic, else topic.defaults', async () => {
  const e = new MemoryEngine({ topicDefaults: { 'segment.bytes': '1000' } });
  await e.open();
  await e.createTopic({ name: 'd', id: 'AAAAAAAAAAAAAAAAAAAAAA', partitionCount: 1, configs: {} });
  await e.createTopic({ name: 'o', id: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionCount: 1, configs: { 'segment.bytes': '3000' } });
  const batch = () => ({ bytes: Buffer.alloc(400), recordCount: 1, maxTimestamp: 0 });
  for (let i = 0; i < 3; i++) {
    await e.append('d', 0, batch());
    await e.append('o', 0, batch());
  }
  assert.equal(e.producerSnapshotDue('d', 0), true, '1200 bytes ≥ the default 1000');
  assert.equal(e.producerSnapshotDue('o', 0), false, '1200 bytes < the override 3000');
  await e.writeProducerSnapshot('d', 0, 3, Buffer.from('s'));
  assert.equal(e.producerSnapshotDue('d', 0), false, 'counted afresh after a snapshot');
});
