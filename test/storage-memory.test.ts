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
