/**
 * Record batches as bytes (src/protocol/records/batch.ts): validation and the Kafka error code for
 * each failure, in-place stamping, iteration and recovery scanning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  TimestampType,
  assignOffsets,
  batchBaseOffset,
  batchByteLength,
  batchLastOffset,
  computeBatchCrc,
  iterateBatches,
  readBatchHeader,
  scanValidBatches,
  setLogAppendTime,
  setMaxTimestamp,
  setPartitionLeaderEpoch,
  updateBatchCrc,
  validateBatches,
  verifyBatchCrc,
  writeInt64,
} from '../src/protocol/records/batch.js';
import { Compression, type CompressionType } from '../src/protocol/records/compression.js';
import { decodeBatch, encodeBatch, encodeEndTxnMarkerBatch } from '../src/protocol/records/record.js';
import {
  CORRUPT_MESSAGE,
  INVALID_RECORD,
  MESSAGE_TOO_LARGE,
  RecordsError,
  UNSUPPORTED_COMPRESSION_TYPE,
} from '../src/protocol/records/errors.js';

function expectCode(fn: () => unknown, code: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RecordsError, `expected RecordsError, got ${String(e)}`);
    assert.equal(e.errorCode, code, `expected code ${code}, got ${e.errorCode}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

const T0 = 1_700_000_000_000;

async function sampleBatch(compression: CompressionType = Compression.none, n = 3, extra: object = {}): Promise<Buffer> {
  return encodeBatch({
    compression,
    records: Array.from({ length: n }, (_, i) => ({
      key: i % 2 ? null : Buffer.from(`key-${i}`),
      value: Buffer.from(`value-${i}-`.repeat(i + 1)),
      headers: [{ key: 'h', value: Buffer.from([i]) }],
      timestamp: T0 + i * 10,
    })),
    ...extra,
  });
}

test('header layout: fields read back as encoded', async () => {
  const b = await encodeBatch({
    records: [
      { value: Buffer.from('a'), timestamp: T0 + 5 },
      { value: Buffer.from('b'), timestamp: T0 + 50 },
      { value: Buffer.from('c'), timestamp: T0 + 20 },
    ],
    compression: Compression.gzip,
    producerId: 2 ** 40 + 7,
    producerEpoch: 3,
    baseSequence: 17,
    isTransactional: true,
    partitionLeaderEpoch: 9,
    baseOffset: 2 ** 45 + 1,
  });
  const h = readBatchHeader(b);
  assert.equal(h.position, 0);
  assert.equal(h.baseOffset, 2 ** 45 + 1);
  assert.equal(h.byteLength, b.length);
  assert.equal(h.batchLength, b.length - 12);
  assert.equal(h.magic, 2);
  assert.equal(h.partitionLeaderEpoch, 9);
  assert.equal(h.compression, Compression.gzip);
  assert.equal(h.timestampType, TimestampType.createTime);
  assert.equal(h.isTransactional, true);
  assert.equal(h.isControl, false);
  assert.equal(h.hasDeleteHorizon, false);
  assert.equal(h.attributes, 0x11);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.lastOffset, 2 ** 45 + 3);
  assert.equal(h.baseTimestamp, T0 + 5);
  assert.equal(h.maxTimestamp, T0 + 50);
  assert.equal(h.producerId, 2 ** 40 + 7);
  assert.equal(h.producerEpoch, 3);
  assert.equal(h.baseSequence, 17);
  assert.equal(h.recordCount, 3);
  assert.equal(h.crc, computeBatchCrc(b));
  assert.equal(batchByteLength(b), b.length);
  assert.equal(batchBaseOffset(b), 2 ** 45 + 1);
  assert.equal(batchLastOffset(b), 2 ** 45 + 3);
  // readBatchHeader needs only the 61 header bytes.
  assert.deepEqual(readBatchHeader(Buffer.from(b.subarray(0, BATCH_HEADER_BYTES))), h);
  expectCode(() => readBatchHeader(b.subarray(0, 60)), CORRUPT_MESSAGE);
});

test('validateBatches accepts good batches of every codec and returns views', async () => {
  for (const c of [0, 1, 2, 3, 4] as CompressionType[]) {
    const b = await sampleBatch(c);
    const [v, ...rest] = validateBatches(b, { produceVersion: 9, maxMessageBytes: b.length });
    assert.equal(rest.length, 0);
    assert.equal(v!.compression, c);
    assert.equal(v!.recordCount, 3);
    assert.equal(v!.buffer.buffer, b.buffer);
    assert.equal(v!.buffer.length, b.length);
  }
});

test('CRC corruption is detected at every byte of the CRC range', async () => {
  for (const c of [Compression.none, Compression.lz4] as CompressionType[]) {
    const b = await sampleBatch(c);
    for (let i = CRC_OFFSET; i < b.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const copy = Buffer.from(b);
        copy[i]! ^= mask;
        expectCode(() => validateBatches(copy), CORRUPT_MESSAGE);
        assert.equal(verifyBatchCrc(copy), false);
      }
    }
    assert.equal(verifyBatchCrc(b), true);
  }
});

test('truncation at every length is CORRUPT_MESSAGE', async () => {
  const a = await sampleBatch(Compression.none, 2);
  const b = await sampleBatch(Compression.snappy, 4);
  for (const buf of [a, Buffer.concat([a, b])]) {
    for (let len = 1; len < buf.length; len++) {
      if (len === a.length) continue; // a complete first batch
      expectCode(() => validateBatches(buf.subarray(0, len), { fromClient: false }), CORRUPT_MESSAGE);
      expectCode(() => validateBatches(buf.subarray(0, len), { produceVersion: 3 }), CORRUPT_MESSAGE);
    }
  }
  // Empty records: nothing (no version), INVALID_RECORD for Produce v3+.
  assert.deepEqual(validateBatches(Buffer.alloc(0)), []);
  expectCode(() => validateBatches(Buffer.alloc(0), { produceVersion: 3 }), INVALID_RECORD, /at least one/);
});

test('magic: 0 and 1 are INVALID_RECORD (Produce v3+), others CORRUPT_MESSAGE', async () => {
  const b = await sampleBatch();
  for (const magic of [0, 1]) {
    const copy = Buffer.from(b);
    copy[MAGIC_OFFSET] = magic;
    expectCode(() => validateBatches(copy, { produceVersion: 9 }), INVALID_RECORD, /magic/);
    expectCode(() => validateBatches(copy), INVALID_RECORD, /magic/);
  }
  // A legacy v1 message shorter than a v2 header is still reported as the wrong magic.
  const legacy = Buffer.alloc(12 + 26);
  legacy.writeInt32BE(26, 8);
  legacy[MAGIC_OFFSET] = 1;
  expectCode(() => validateBatches(legacy, { produceVersion: 3 }), INVALID_RECORD);
  for (const magic of [3, 0x7f, 0x80, 0xff]) {
    const copy = Buffer.from(b);
    copy[MAGIC_OFFSET] = magic;
    expectCode(() => validateBatches(copy), CORRUPT_MESSAGE, /magic/);
  }
});

test('impossible batch lengths are CORRUPT_MESSAGE', async () => {
  const b = await sampleBatch();
  for (const len of [-1, 0, 13, -0x80000000]) {
    const copy = Buffer.from(b);
    copy.writeInt32BE(len, 8);
    expectCode(() => validateBatches(copy), CORRUPT_MESSAGE, /invalid length/);
  }
  // Lengths that frame correctly but are shorter than the v2 header.
  for (const len of [14, 48]) {
    const copy = Buffer.from(b.subarray(0, 12 + len));
    copy.writeInt32BE(len, 8);
    expectCode(() => validateBatches(copy), CORRUPT_MESSAGE, /smaller than/);
  }
  // Longer than the buffer.
  const copy = Buffer.from(b);
  copy.writeInt32BE(b.length, 8);
  expectCode(() => validateBatches(copy), CORRUPT_MESSAGE, /truncated/);
});

test('lastOffsetDelta / recordCount mismatches are INVALID_RECORD', async () => {
  const b = await sampleBatch(Compression.none, 3);
  const patch = (off: number, v: number) => {
    const copy = Buffer.from(b);
    copy.writeInt32BE(v, off);
    updateBatchCrc(copy);
    return copy;
  };
  expectCode(() => validateBatches(patch(LAST_OFFSET_DELTA_OFFSET, 3)), INVALID_RECORD, /inconsistent/i);
  expectCode(() => validateBatches(patch(LAST_OFFSET_DELTA_OFFSET, 1)), INVALID_RECORD, /inconsistent/i);
  expectCode(() => validateBatches(patch(LAST_OFFSET_DELTA_OFFSET, -1)), INVALID_RECORD, /offset range/);
  expectCode(() => validateBatches(patch(RECORDS_COUNT_OFFSET, 4)), INVALID_RECORD);
  expectCode(() => validateBatches(patch(RECORDS_COUNT_OFFSET, -1)), INVALID_RECORD);
  // Not from a client: compaction gaps (lastOffsetDelta > count - 1) are fine, the reverse is not.
  assert.equal(validateBatches(patch(LAST_OFFSET_DELTA_OFFSET, 10), { fromClient: false }).length, 1);
  expectCode(() => validateBatches(patch(LAST_OFFSET_DELTA_OFFSET, 1), { fromClient: false }), INVALID_RECORD);
  expectCode(() => validateBatches(patch(RECORDS_COUNT_OFFSET, -1), { fromClient: false }), INVALID_RECORD);
});

test('client-origin checks: baseOffset 0, non-empty, no control batches, sequence with producer id', async () => {
  const atOffset = await sampleBatch(Compression.none, 2, { baseOffset: 5 });
  expectCode(() => validateBatches(atOffset), INVALID_RECORD, /baseOffset/);
  assert.equal(validateBatches(atOffset, { fromClient: false })[0]!.baseOffset, 5);

  const empty = await encodeBatch({ records: [] });
  assert.equal(readBatchHeader(empty).lastOffsetDelta, -1);
  expectCode(() => validateBatches(empty), INVALID_RECORD);
  assert.equal(validateBatches(empty, { fromClient: false }).length, 1);

  const marker = encodeEndTxnMarkerBatch({ commit: true, producerId: 5, producerEpoch: 1, coordinatorEpoch: 2 });
  expectCode(() => validateBatches(marker), INVALID_RECORD, /control/);
  assert.equal(validateBatches(marker, { fromClient: false })[0]!.isControl, true);

  const noSeq = await sampleBatch(Compression.none, 2, { producerId: 7, producerEpoch: 0 });
  expectCode(() => validateBatches(noSeq), INVALID_RECORD, /sequence/);
  const withSeq = await sampleBatch(Compression.none, 2, { producerId: 7, producerEpoch: 0, baseSequence: 0 });
  assert.equal(validateBatches(withSeq)[0]!.producerId, 7);
});

test('max.message.bytes: MESSAGE_TOO_LARGE above, accepted at the limit', async () => {
  const b = await sampleBatch();
  assert.equal(validateBatches(b, { maxMessageBytes: b.length }).length, 1);
  expectCode(() => validateBatches(b, { maxMessageBytes: b.length - 1 }), MESSAGE_TOO_LARGE);
});

test('zstd needs Produce v7+; codec ids 5-7 are UNSUPPORTED_COMPRESSION_TYPE', async () => {
  const z = await sampleBatch(Compression.zstd);
  expectCode(() => validateBatches(z, { produceVersion: 6 }), UNSUPPORTED_COMPRESSION_TYPE);
  assert.equal(validateBatches(z, { produceVersion: 7 }).length, 1);
  const b = await sampleBatch();
  for (const codec of [5, 6, 7]) {
    const copy = Buffer.from(b);
    copy.writeInt16BE(codec, ATTRIBUTES_OFFSET);
    updateBatchCrc(copy);
    expectCode(() => validateBatches(copy), UNSUPPORTED_COMPRESSION_TYPE);
  }
});

test('multiple batches: accepted without a version, INVALID_RECORD for Produce v3+', async () => {
  const parts = [await sampleBatch(Compression.none, 1), await sampleBatch(Compression.gzip, 2), await sampleBatch(Compression.zstd, 3)];
  const all = Buffer.concat(parts);
  const v = validateBatches(all);
  assert.deepEqual(
    v.map((b) => [b.position, b.byteLength, b.recordCount]),
    [
      [0, parts[0]!.length, 1],
      [parts[0]!.length, parts[1]!.length, 2],
      [parts[0]!.length + parts[1]!.length, parts[2]!.length, 3],
    ],
  );
  for (let i = 0; i < 3; i++) assert.ok(v[i]!.buffer.equals(parts[i]!));
  expectCode(() => validateBatches(all, { produceVersion: 3 }), INVALID_RECORD, /exactly one/);
  // The one-batch rule is checked before per-batch contents (as in Kafka's KafkaApis).
  const tooLarge = () => validateBatches(all, { produceVersion: 11, maxMessageBytes: 1 });
  expectCode(tooLarge, INVALID_RECORD);
});

test('assignOffsets and setPartitionLeaderEpoch stamp in place and leave the CRC valid', async () => {
  const b = await sampleBatch(Compression.lz4, 5);
  const [v] = validateBatches(b);
  for (const offset of [0, 1, 123456789, 2 ** 32, 2 ** 53 - 10]) {
    assignOffsets(v!.buffer, offset);
    setPartitionLeaderEpoch(v!.buffer, 77);
    assert.ok(verifyBatchCrc(b));
    const h = readBatchHeader(b);
    assert.equal(h.baseOffset, offset);
    assert.equal(h.lastOffset, offset + 4);
    assert.equal(h.partitionLeaderEpoch, 77);
    assert.equal(validateBatches(b, { fromClient: false }).length, 1);
  }
  const decoded = await decodeBatch(b);
  assert.deepEqual(
    decoded.records.map((r) => r.offset),
    [0, 1, 2, 3, 4].map((d) => 2 ** 53 - 10 + d),
  );
  // Stamping a batch inside a larger buffer, by position.
  const two = Buffer.concat([await sampleBatch(), await sampleBatch()]);
  const second = validateBatches(two)[1]!;
  assignOffsets(two, 1000, second.position);
  assert.equal(readBatchHeader(two, second.position).baseOffset, 1000);
  assert.equal(readBatchHeader(two, 0).baseOffset, 0);
  assert.throws(() => assignOffsets(b, -1), RangeError);
  assert.throws(() => assignOffsets(b, 2 ** 53), RangeError);
});

test('setLogAppendTime sets the type and maxTimestamp, keeps other attributes and a valid CRC', async () => {
  for (const c of [0, 1, 2, 3, 4] as CompressionType[]) {
    const b = await sampleBatch(c, 3, { isTransactional: true, producerId: 1, producerEpoch: 0, baseSequence: 0 });
    const now = T0 + 99_999;
    setLogAppendTime(b, now);
    assert.ok(verifyBatchCrc(b));
    const h = readBatchHeader(b);
    assert.equal(h.timestampType, TimestampType.logAppendTime);
    assert.equal(h.maxTimestamp, now);
    assert.equal(h.compression, c);
    assert.equal(h.isTransactional, true);
    assert.equal(h.baseTimestamp, T0);
    const d = await decodeBatch(b);
    assert.deepEqual(d.records.map((r) => r.timestamp), [now, now, now]);
    assert.equal(validateBatches(b).length, 1);
    // Back to CreateTime with the real max timestamp.
    setMaxTimestamp(b, TimestampType.createTime, T0 + 20);
    assert.ok(verifyBatchCrc(b));
    assert.deepEqual((await decodeBatch(b)).records.map((r) => r.timestamp), [T0, T0 + 10, T0 + 20]);
  }
});

test('iterateBatches: concatenated batches, partial tails, CRC checking', async () => {
  const parts = [await sampleBatch(Compression.none, 1), await sampleBatch(Compression.snappy, 2)];
  assignOffsets(parts[1]!, 1);
  const all = Buffer.concat(parts);
  const hs = [...iterateBatches(all, { verifyCrc: true })];
  assert.deepEqual(
    hs.map((h) => [h.position, h.baseOffset, h.lastOffset]),
    [
      [0, 0, 0],
      [parts[0]!.length, 1, 2],
    ],
  );
  const partial = all.subarray(0, all.length - 3);
  assert.equal([...iterateBatches(partial, { allowPartial: true })].length, 1);
  assert.throws(() => [...iterateBatches(partial)], (e: unknown) => e instanceof RecordsError && e.errorCode === CORRUPT_MESSAGE);
  const tail = all.subarray(0, parts[0]!.length + 20);
  assert.equal([...iterateBatches(tail, { allowPartial: true })].length, 1);
  const bad = Buffer.from(all);
  bad[bad.length - 1]! ^= 1;
  assert.equal([...iterateBatches(bad)].length, 2);
  assert.throws(() => [...iterateBatches(bad, { verifyCrc: true })], RecordsError);
  assert.equal([...iterateBatches(Buffer.alloc(0))].length, 0);
});

test('scanValidBatches finds the valid prefix for recovery', async () => {
  const parts = [await sampleBatch(Compression.none, 2), await sampleBatch(Compression.gzip, 3), await sampleBatch(Compression.none, 1)];
  assignOffsets(parts[1]!, 2);
  assignOffsets(parts[2]!, 5);
  const all = Buffer.concat(parts);
  const ok = scanValidBatches(all);
  assert.deepEqual(ok, { validBytes: all.length, batchCount: 3, firstOffset: 0, lastOffset: 5, maxTimestamp: T0 + 20 });
  const torn = scanValidBatches(all.subarray(0, all.length - 1));
  assert.equal(torn.validBytes, parts[0]!.length + parts[1]!.length);
  assert.equal(torn.batchCount, 2);
  assert.equal(torn.lastOffset, 4);
  assert.match(torn.error!, /partial/);
  const flipped = Buffer.from(all);
  flipped[parts[0]!.length + 40]! ^= 0x10;
  const s = scanValidBatches(flipped);
  assert.equal(s.validBytes, parts[0]!.length);
  assert.match(s.error!, /CRC/);
  assert.deepEqual(scanValidBatches(Buffer.alloc(0)), { validBytes: 0, batchCount: 0, firstOffset: -1, lastOffset: -1, maxTimestamp: -1 });
});

test('property: any sequence of valid batches validates, and any single-byte CRC-range change is caught', async () => {
  const recordArb = fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
    timestamp: fc.integer({ min: T0, max: T0 + 1_000_000 }),
  });
  const batchArb = fc.record({
    records: fc.array(recordArb, { minLength: 1, maxLength: 5 }),
    compression: fc.constantFrom(...([0, 1, 2, 3, 4] as CompressionType[])),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (specs, at, mask) => {
      const batches = await Promise.all(
        specs.map((s) =>
          encodeBatch({
            compression: s.compression,
            records: s.records.map((r) => ({
              key: r.key && Buffer.from(r.key),
              value: r.value && Buffer.from(r.value),
              timestamp: r.timestamp,
            })),
          }),
        ),
      );
      const all = Buffer.concat(batches);
      const v = validateBatches(all);
      assert.equal(v.length, batches.length);
      v.forEach((b, i) => assert.equal(b.recordCount, specs[i]!.records.length));
      // Flip bits of one byte inside some batch's CRC range.
      const which = at % batches.length;
      const start = v[which]!.position;
      const pos = start + CRC_OFFSET + (at % (batches[which]!.length - CRC_OFFSET));
      const copy = Buffer.from(all);
      copy[pos]! ^= mask;
      expectCode(() => validateBatches(copy), CORRUPT_MESSAGE);
    }),
    { numRuns: 40 },
  );
});

test('writeInt64 round-trips safe integers, including negatives', () => {
  const b = Buffer.alloc(8);
  for (const v of [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32 + 5, -(2 ** 40) - 3, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    writeInt64(b, 0, v);
    assert.equal(b.readBigInt64BE(0), BigInt(v));
    assert.equal(readBatchHeaderField(b), v);
  }
  assert.throws(() => writeInt64(b, 0, 0.5), RangeError);
});

function readBatchHeaderField(b: Buffer): number {
  // Reuse the public reader through a synthetic header: baseOffset is an int64 at byte 0.
  const h = Buffer.alloc(BATCH_HEADER_BYTES);
  b.copy(h, 0);
  h[MAGIC_OFFSET] = 2;
  return readBatchHeader(h).baseOffset;
}

test('producer id int64 is read as a number', async () => {
  const b = await sampleBatch();
  writeInt64(b, PRODUCER_ID_OFFSET, 123_456_789_012);
  updateBatchCrc(b);
  assert.equal(readBatchHeader(b).producerId, 123_456_789_012);
});
