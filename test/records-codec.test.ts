/**
 * The record codec (src/protocol/records/record.ts) and the compression codecs
 * (src/protocol/records/compression.ts): round trips, Kafka framings, interoperability with kafkajs and
 * lz4-napi's frame decoder, malformed input, decompression-bomb limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import * as snappy from 'snappy';
import * as lz4 from 'lz4-napi';
import zstdBindingModule from 'zstd-napi/binding.js';
import { readBatchHeader, updateBatchCrc, validateBatches, RECORDS_COUNT_OFFSET, TimestampType } from '../src/protocol/records/batch.js';
import {
  Compression,
  XERIAL_MAGIC,
  compress,
  compressSync,
  compressionFromName,
  compressionName,
  decompress,
  decompressSync,
  xxhash32,
  type CompressionType,
} from '../src/protocol/records/compression.js';
import {
  BatchBuilder,
  ControlRecordType,
  decodeBatch,
  decodeBatches,
  decodeControlRecord,
  encodeBatch,
  encodeBatchSync,
  encodeEndTxnMarkerBatch,
  type DecodedRecord,
  type RecordHeader,
  type RecordInput,
} from '../src/protocol/records/record.js';
import {
  CORRUPT_MESSAGE,
  DecompressionLimitError,
  INVALID_RECORD,
  MESSAGE_TOO_LARGE,
  RecordsError,
  UNSUPPORTED_COMPRESSION_TYPE,
} from '../src/protocol/records/errors.js';

const zstdBinding = zstdBindingModule as typeof import('zstd-napi/binding.js');
const require = createRequire(import.meta.url);
const CODECS: CompressionType[] = [0, 1, 2, 3, 4];
const T0 = 1_700_000_000_000;

/** Deterministic incompressible bytes (xorshift32). */
function noiseBytes(n: number, seed = 0x9e3779b9): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed | 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function isCode(code: number, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof RecordsError, `expected RecordsError, got ${String(e)}`);
    assert.equal(e.errorCode, code, `expected code ${code}, got ${e.errorCode}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  };
}

function expected(inputs: RecordInput[], baseOffset = 0) {
  return inputs.map((r, i) => ({
    offset: baseOffset + i,
    timestamp: r.timestamp,
    key: r.key ?? null,
    value: r.value ?? null,
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })), // fast-check objects have a null prototype
  }));
}

function actual(records: DecodedRecord[]) {
  return records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers }));
}

// -------------------------------------------------------------------------------------------------
// Record codec round trips
// -------------------------------------------------------------------------------------------------

const bytesArb = (max: number) => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));
const nullableBytesArb = (max: number) => fc.option(bytesArb(max), { nil: null, freq: 3 });
const headerArb: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.string({ unit: 'grapheme', maxLength: 8 }),
  value: nullableBytesArb(16),
});
const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: nullableBytesArb(32),
  value: nullableBytesArb(200),
  headers: fc.array(headerArb, { maxLength: 3 }),
  timestamp: fc.integer({ min: T0 - 10_000_000, max: T0 + 10_000_000 }),
});

for (const compression of CODECS) {
  test(`property: encode → validate → decode round trip (${compressionName(compression)})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 12 }),
        fc.record({
          producerId: fc.constantFrom(-1, 0, 4711, 2 ** 40),
          producerEpoch: fc.integer({ min: 0, max: 32767 }),
          baseSequence: fc.integer({ min: 0, max: 2 ** 31 - 100 }),
          isTransactional: fc.boolean(),
          partitionLeaderEpoch: fc.integer({ min: -1, max: 1000 }),
        }),
        async (records, meta) => {
          const batch = await encodeBatch({ records, compression, ...meta });
          const [v] = validateBatches(batch, { produceVersion: 11 });
          assert.equal(v!.recordCount, records.length);
          assert.equal(v!.lastOffsetDelta, records.length - 1);
          assert.equal(v!.baseTimestamp, records[0]!.timestamp);
          assert.equal(v!.maxTimestamp, Math.max(...records.map((r) => r.timestamp!)));
          assert.equal(v!.producerId, meta.producerId);
          assert.equal(v!.baseSequence, meta.baseSequence);
          assert.equal(v!.isTransactional, meta.isTransactional);
          assert.equal(v!.partitionLeaderEpoch, meta.partitionLeaderEpoch);
          const decoded = await decodeBatch(batch);
          assert.deepEqual(decoded.header, readBatchHeader(batch));
          assert.deepEqual(actual(decoded.records), expected(records));
        },
      ),
      { numRuns: 25 },
    );
  });
}

for (const compression of CODECS) {
  test(`property: BatchBuilder writes the bytes encodeBatch writes, growing from any size (${compressionName(compression)})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 2048 }),
        fc.record({
          producerId: fc.constantFrom(-1, 0, 4711, 2 ** 40),
          producerEpoch: fc.integer({ min: 0, max: 32767 }),
          baseSequence: fc.integer({ min: 0, max: 2 ** 31 - 100 }),
          isTransactional: fc.boolean(),
        }),
        async (records, initialBytes, meta) => {
          const builder = new BatchBuilder(initialBytes);
          let uncompressed = 61;
          for (const r of records) {
            builder.append(r.key ?? null, r.value ?? null, r.headers, r.timestamp!);
            assert.ok(builder.sizeInBytes > uncompressed, 'sizeInBytes grows with each record');
            uncompressed = builder.sizeInBytes;
          }
          assert.equal(builder.recordCount, records.length);
          const built = await builder.finish({ compression, ...meta });
          const reference = await encodeBatch({ records, compression, ...meta });
          assert.ok(built.equals(reference), 'byte-identical to encodeBatch');
          if (compression === Compression.none) assert.equal(built.length, uncompressed);
          assert.deepEqual(actual((await decodeBatch(built)).records), expected(records));
        },
      ),
      { numRuns: 25 },
    );
  });
}

test('BatchBuilder refuses what encodeBatch refuses: unsafe timestamps, non-string header keys', () => {
  const b = new BatchBuilder();
  assert.throws(() => b.append(null, Buffer.from('v'), undefined, 2 ** 53), RangeError);
  assert.throws(() => b.append(null, null, [{ key: 7 as unknown as string, value: null }], T0), TypeError);
  assert.equal(b.recordCount, 0, 'a refused record leaves nothing behind');
});

test('null and empty keys, values and header values stay distinct', async () => {
  const records: RecordInput[] = [
    { key: null, value: null, timestamp: T0 },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: T0 },
    { key: Buffer.from('k'), value: null, headers: [{ key: '', value: null }, { key: 'é€😀', value: Buffer.alloc(0) }], timestamp: T0 },
  ];
  for (const compression of CODECS) {
    const d = await decodeBatch(await encodeBatch({ records, compression }));
    assert.equal(d.records[0]!.key, null);
    assert.equal(d.records[0]!.value, null);
    assert.deepEqual(d.records[1]!.key, Buffer.alloc(0));
    assert.deepEqual(d.records[1]!.value, Buffer.alloc(0));
    assert.deepEqual(d.records[2]!.headers, [{ key: '', value: null }, { key: 'é€😀', value: Buffer.alloc(0) }]);
  }
});

test('explicit offset deltas, base offset, timestamps before the base timestamp, large records', async () => {
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251; // compressible but not trivial
  const random = noiseBytes(70_000);
  for (const compression of CODECS) {
    const records: RecordInput[] = [
      { value: big, timestamp: T0 + 100, offsetDelta: 0 },
      { value: random, timestamp: T0 - 5000, offsetDelta: 3 },
      { key: Buffer.from('x'), timestamp: T0 + 2 ** 40, offsetDelta: 10 },
    ];
    const b = await encodeBatch({ records, compression, baseOffset: 1000 });
    const h = readBatchHeader(b);
    assert.equal(h.lastOffsetDelta, 10);
    assert.equal(h.recordCount, 3);
    const d = await decodeBatch(b);
    assert.deepEqual(d.records.map((r) => [r.offset, r.offsetDelta, r.timestamp, r.timestampDelta]), [
      [1000, 0, T0 + 100, 0],
      [1003, 3, T0 - 5000, -5100],
      [1010, 10, T0 + 2 ** 40, 2 ** 40 - 100],
    ]);
    assert.ok(d.records[0]!.value!.equals(big));
    assert.ok(d.records[1]!.value!.equals(random));
    // Compacted-style batch: validated leniently when not from a client.
    assert.equal(validateBatches(b, { fromClient: false }).length, 1);
  }
});

test('extreme varint/varlong values round trip (5-byte varints, 8+ byte varlongs)', async () => {
  const max = Number.MAX_SAFE_INTEGER;
  const records: RecordInput[] = [
    { timestamp: 0, offsetDelta: 0 },
    { timestamp: max, offsetDelta: 64 },
    { timestamp: -max, offsetDelta: 8191 },
    { timestamp: 2 ** 52, offsetDelta: 2 ** 28 },
    { timestamp: -(2 ** 49), offsetDelta: 2 ** 31 - 1 },
  ];
  const b = await encodeBatch({ records, baseOffset: 5 });
  assert.equal(validateBatches(b, { fromClient: false })[0]!.lastOffsetDelta, 2 ** 31 - 1);
  const d = await decodeBatch(b);
  assert.deepEqual(
    d.records.map((r) => [r.timestampDelta, r.timestamp, r.offsetDelta, r.offset]),
    records.map((r) => [r.timestamp, r.timestamp, r.offsetDelta, 5 + r.offsetDelta!]),
  );
  // A header count / key length that is a maximal 5-byte varint is rejected, not allocated.
  const huge = await encodeBatch({ records: [{ key: Buffer.from('k'), timestamp: 0 }] });
  const patched = Buffer.from(huge);
  // key length varint sits after length, attributes, timestampDelta and offsetDelta (one byte each)
  assert.equal(patched[61 + 4], 2); // zig-zag of 1
  patched[61 + 4] = 0xfe; // start of a multi-byte varint: overruns the record
  updateBatchCrc(patched);
  await assert.rejects(decodeBatch(patched), isCode(INVALID_RECORD));
});

test('encodeBatch options: LogAppendTime, delete horizon, defaults, empty batches', async () => {
  const lat = await encodeBatch({ records: [{ value: Buffer.from('a'), timestamp: T0 }], timestampType: TimestampType.logAppendTime, now: T0 + 7 });
  const h = readBatchHeader(lat);
  assert.equal(h.timestampType, TimestampType.logAppendTime);
  assert.equal(h.maxTimestamp, T0 + 7);
  assert.equal((await decodeBatch(lat)).records[0]!.timestamp, T0 + 7);

  const dh = await encodeBatch({ records: [{ value: Buffer.from('a'), timestamp: T0 }], deleteHorizonMs: T0 + 86_400_000 });
  const dhh = readBatchHeader(dh);
  assert.equal(dhh.hasDeleteHorizon, true);
  assert.equal(dhh.baseTimestamp, T0 + 86_400_000);
  assert.equal((await decodeBatch(dh)).records[0]!.timestamp, T0);

  const defaults = await encodeBatch({ records: [{ value: Buffer.from('a') }], now: T0 });
  const dfh = readBatchHeader(defaults);
  assert.deepEqual([dfh.producerId, dfh.producerEpoch, dfh.baseSequence, dfh.partitionLeaderEpoch], [-1, -1, -1, -1]);
  assert.equal(dfh.baseTimestamp, T0);

  const empty = encodeBatchSync({ records: [], lastOffsetDelta: 4, baseOffset: 10 });
  const eh = readBatchHeader(empty);
  assert.deepEqual([eh.recordCount, eh.lastOffset, eh.baseTimestamp, eh.maxTimestamp, eh.byteLength], [0, 14, -1, -1, 61]);
  assert.deepEqual((await decodeBatch(empty)).records, []);

  assert.throws(() => encodeBatchSync({ records: [{ offsetDelta: 1 }, { offsetDelta: 1 }] }), RangeError);
  assert.throws(() => encodeBatchSync({ records: [], compression: Compression.gzip }), RangeError);
});

test('control batches: transaction markers decode with their control type', async () => {
  for (const commit of [true, false]) {
    const b = encodeEndTxnMarkerBatch({ commit, producerId: 42, producerEpoch: 3, coordinatorEpoch: 17, timestamp: T0, baseOffset: 99 });
    const d = await decodeBatch(b);
    assert.equal(d.header.isControl, true);
    assert.equal(d.header.isTransactional, true);
    assert.equal(d.header.baseSequence, -1);
    assert.equal(d.header.producerId, 42);
    assert.equal(d.records.length, 1);
    assert.deepEqual(d.records[0]!.control, {
      version: 0,
      type: commit ? ControlRecordType.commit : ControlRecordType.abort,
      coordinatorEpoch: 17,
    });
    assert.equal(d.records[0]!.offset, 99);
  }
  assert.equal(decodeControlRecord(Buffer.alloc(3), null), undefined);
  assert.deepEqual(decodeControlRecord(Buffer.from([0, 0, 0, 2]), Buffer.alloc(10)), { version: 0, type: 2 });
});

test('decodeBatches decodes concatenated batches', async () => {
  const a = await encodeBatch({ records: [{ value: Buffer.from('a'), timestamp: T0 }], baseOffset: 0 });
  const b = await encodeBatch({ records: [{ value: Buffer.from('b'), timestamp: T0 }, { value: Buffer.from('c'), timestamp: T0 }], baseOffset: 1, compression: Compression.zstd });
  const d = await decodeBatches(Buffer.concat([a, b]));
  assert.deepEqual(d.flatMap((x) => x.records.map((r) => [r.offset, r.value!.toString()])), [[0, 'a'], [1, 'b'], [2, 'c']]);
  await assert.rejects(decodeBatches(Buffer.concat([a, b.subarray(0, 70)])), isCode(CORRUPT_MESSAGE));
});

test('malformed records are INVALID_RECORD, bad CRC CORRUPT_MESSAGE, unknown codec 76', async () => {
  const good = await encodeBatch({ records: [{ value: Buffer.from('hello'), timestamp: T0 }, { value: Buffer.from('x'), timestamp: T0 }] });
  const patchCount = (n: number) => {
    const c = Buffer.from(good);
    c.writeInt32BE(n, RECORDS_COUNT_OFFSET);
    updateBatchCrc(c);
    return c;
  };
  await assert.rejects(decodeBatch(patchCount(1)), isCode(INVALID_RECORD, /remaining/));
  await assert.rejects(decodeBatch(patchCount(3)), isCode(INVALID_RECORD));
  await assert.rejects(decodeBatch(patchCount(-1)), isCode(INVALID_RECORD));
  await assert.rejects(decodeBatch(patchCount(2 ** 31 - 1)), isCode(INVALID_RECORD));
  // First record's length varint claims one byte more.
  const longer = Buffer.from(good);
  longer[61] = longer[61]! + 2; // zig-zag: +1
  updateBatchCrc(longer);
  await assert.rejects(decodeBatch(longer), isCode(INVALID_RECORD));
  // Header count negative.
  const negHeaders = Buffer.from(good);
  negHeaders[61 + 1 + 1 + 1 + 1 + 1 + 1 + 5] = 1; // zig-zag -1, where the first record's header count is
  updateBatchCrc(negHeaders);
  await assert.rejects(decodeBatch(negHeaders), isCode(INVALID_RECORD));
  const flipped = Buffer.from(good);
  flipped[70]! ^= 1;
  await assert.rejects(decodeBatch(flipped), isCode(CORRUPT_MESSAGE));
  assert.equal((await decodeBatch(flipped, { verifyCrc: false })).records.length, 2);
  const codec = Buffer.from(good);
  codec.writeInt16BE(6, 21);
  updateBatchCrc(codec);
  await assert.rejects(decodeBatch(codec), isCode(UNSUPPORTED_COMPRESSION_TYPE));
  // Garbage in a compressed payload (valid CRC).
  for (const c of [1, 2, 3, 4] as CompressionType[]) {
    const b = await encodeBatch({ records: [{ value: Buffer.alloc(1000, 1), timestamp: T0 }], compression: c });
    const bad = Buffer.from(b);
    for (let i = 61 + 4; i < bad.length; i += 3) bad[i] = 0x5a;
    updateBatchCrc(bad);
    await assert.rejects(decodeBatch(bad), isCode(INVALID_RECORD));
  }
});

// -------------------------------------------------------------------------------------------------
// Compression framings
// -------------------------------------------------------------------------------------------------

test('codec names', () => {
  assert.deepEqual(CODECS.map(compressionName), ['none', 'gzip', 'snappy', 'lz4', 'zstd']);
  assert.equal(compressionFromName('zstd'), 4);
  assert.equal(compressionFromName('producer'), undefined);
});

test('snappy: writes xerial framing; reads xerial, concatenated xerial and raw snappy', async () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(3000)); // > 32 KiB: several chunks
  const x = await compress(Compression.snappy, data);
  assert.ok(x.subarray(0, 8).equals(XERIAL_MAGIC));
  assert.equal(x.readInt32BE(8), 1);
  assert.equal(x.readInt32BE(12), 1);
  // Chunks: [int32 length][raw block], each block up to 32 KiB of input.
  let pos = 16;
  let chunks = 0;
  const out: Buffer[] = [];
  while (pos < x.length) {
    const n = x.readInt32BE(pos);
    out.push(snappy.uncompressSync(x.subarray(pos + 4, pos + 4 + n)) as Buffer);
    pos += 4 + n;
    chunks++;
  }
  assert.equal(chunks, Math.ceil(data.length / 32768));
  assert.ok(Buffer.concat(out).equals(data));
  assert.ok((await decompress(Compression.snappy, x)).equals(data));
  // Raw (unframed) snappy, as some non-Java clients write it.
  const raw = snappy.compressSync(data);
  assert.ok((await decompress(Compression.snappy, raw)).equals(data));
  // Two xerial streams back to back.
  const x2 = await compress(Compression.snappy, Buffer.from('second'));
  assert.ok((await decompress(Compression.snappy, Buffer.concat([x, x2]))).equals(Buffer.concat([data, Buffer.from('second')])));
  // Empty input.
  assert.equal((await decompress(Compression.snappy, await compress(Compression.snappy, Buffer.alloc(0)))).length, 0);
  // Truncated chunk.
  await assert.rejects(decompress(Compression.snappy, x.subarray(0, x.length - 5)), isCode(INVALID_RECORD));
  await assert.rejects(decompress(Compression.snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), isCode(INVALID_RECORD));
});

test('xxhash32 matches reference vectors', () => {
  assert.equal(xxhash32(Buffer.alloc(0)), 0x02cc5d05);
  assert.equal(xxhash32(Buffer.from('a')), 0x550d7456);
  assert.equal(xxhash32(Buffer.from('abc')), 0x32d153ff);
  assert.equal(xxhash32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
});

test('lz4: writes Kafka-style frames that lz4-napi reads; reads lz4-napi frames with and without checksums', async () => {
  const text = Buffer.from('lz4 frame interoperability, '.repeat(10_000)); // several 64 KiB blocks
  const noise = noiseBytes(100_000, 12345);
  for (const data of [Buffer.alloc(0), Buffer.from('x'), text, noise, Buffer.concat([text, noise])]) {
    const f = await compress(Compression.lz4, data);
    assert.equal(f.readUInt32LE(0), 0x184d2204);
    assert.equal(f[4], 0x60); // version 01, independent blocks, no checksums, no content size
    assert.equal(f[5], 0x40); // 64 KiB blocks
    assert.equal(f[6], (xxhash32(f, 4, 6) >>> 8) & 0xff);
    assert.equal(f.readUInt32LE(f.length - 4), 0); // end mark
    assert.ok(lz4.decompressFrameSync(f).equals(data), 'lz4-napi (lz4_flex) frame decoder reads our frame');
    assert.ok((await decompress(Compression.lz4, f)).equals(data));
    for (const options of [undefined, { blockChecksums: true, contentChecksum: true }, { contentChecksum: true }]) {
      const theirs = lz4.compressFrameSync(data, options);
      assert.ok((await decompress(Compression.lz4, theirs)).equals(data));
    }
  }
  // Incompressible data is stored in uncompressed blocks (high bit of the block size).
  const stored = compressSync(Compression.lz4, noise.subarray(0, 1000));
  assert.equal(stored.readUInt32LE(7), (0x80000000 | 1000) >>> 0);
});

test('lz4: rejects what Kafka rejects (dependent blocks, reserved bits, bad checksums)', async () => {
  const data = Buffer.from('abcdefgh'.repeat(20_000));
  const f = compressSync(Compression.lz4, data);
  const withFlg = (flg: number, bd = 0x40) => {
    const c = Buffer.from(f);
    c[4] = flg;
    c[5] = bd;
    c[6] = (xxhash32(c, 4, 6) >>> 8) & 0xff;
    return c;
  };
  assert.ok(decompressSync(Compression.lz4, withFlg(0x60)).equals(data));
  assert.throws(() => decompressSync(Compression.lz4, withFlg(0x40)), isCode(INVALID_RECORD, /dependent/));
  assert.throws(() => decompressSync(Compression.lz4, withFlg(0x61)), isCode(INVALID_RECORD, /reserved/));
  assert.throws(() => decompressSync(Compression.lz4, withFlg(0xa0)), isCode(INVALID_RECORD, /version/));
  assert.throws(() => decompressSync(Compression.lz4, withFlg(0x60, 0x30)), isCode(INVALID_RECORD, /block size/));
  assert.throws(() => decompressSync(Compression.lz4, withFlg(0x60, 0x41)), isCode(INVALID_RECORD, /reserved/));
  const badHc = Buffer.from(f);
  badHc[6]! ^= 1;
  assert.throws(() => decompressSync(Compression.lz4, badHc), isCode(INVALID_RECORD, /checksum/));
  const badMagic = Buffer.from(f);
  badMagic[0] = 0;
  assert.throws(() => decompressSync(Compression.lz4, badMagic), isCode(INVALID_RECORD, /magic/));
  assert.throws(() => decompressSync(Compression.lz4, f.subarray(0, f.length - 4)), isCode(INVALID_RECORD, /premature/));
  const checked = lz4.compressFrameSync(data, { blockChecksums: true, contentChecksum: true });
  const badBlock = Buffer.from(checked);
  badBlock[12]! ^= 0x40;
  assert.throws(() => decompressSync(Compression.lz4, badBlock), isCode(INVALID_RECORD));
  const badContent = Buffer.from(checked);
  badContent[badContent.length - 1]! ^= 1;
  assert.throws(() => decompressSync(Compression.lz4, badContent), isCode(INVALID_RECORD, /content checksum/));
  // Trailing bytes after the end mark are ignored, as Kafka does.
  assert.ok(decompressSync(Compression.lz4, Buffer.concat([f, Buffer.from('junk')])).equals(data));
});

test('zstd: frames with and without a content size, concatenated frames', async () => {
  const data = Buffer.from('zstandard '.repeat(50_000));
  const withSize = await compress(Compression.zstd, data);
  assert.equal(zstdBinding.getFrameContentSize(withSize), data.length);
  const cctx = new zstdBinding.CCtx();
  cctx.setParameter(zstdBinding.CParameter.contentSizeFlag, 0);
  const dst = Buffer.alloc(zstdBinding.compressBound(data.length));
  const noSize = dst.subarray(0, cctx.compress2(dst, data));
  assert.equal(zstdBinding.getFrameContentSize(noSize), null);
  assert.ok((await decompress(Compression.zstd, withSize)).equals(data));
  assert.ok((await decompress(Compression.zstd, noSize)).equals(data));
  assert.ok((await decompress(Compression.zstd, Buffer.concat([withSize, noSize]))).equals(Buffer.concat([data, data])));
  await assert.rejects(decompress(Compression.zstd, withSize.subarray(0, withSize.length - 3)), isCode(INVALID_RECORD));
  await assert.rejects(decompress(Compression.zstd, noSize.subarray(0, noSize.length - 3)), isCode(INVALID_RECORD));
  await assert.rejects(decompress(Compression.zstd, Buffer.from('not zstd at all')), isCode(INVALID_RECORD));
  // The shared context recovers after errors.
  assert.ok((await decompress(Compression.zstd, noSize)).equals(data));
});

test('gzip: ordinary and multi-member streams', async () => {
  const a = Buffer.from('gzip member one ');
  const b = Buffer.from('and two');
  assert.ok((await decompress(Compression.gzip, Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b)]))).equals(Buffer.concat([a, b])));
  const z = await compress(Compression.gzip, a);
  assert.equal(z[0], 0x1f);
  assert.equal(z[1], 0x8b);
  await assert.rejects(decompress(Compression.gzip, z.subarray(0, 10)), isCode(INVALID_RECORD));
  await assert.rejects(decompress(7 as CompressionType, z), isCode(UNSUPPORTED_COMPRESSION_TYPE));
});

test('decompression bombs: every codec stops at the limit with MESSAGE_TOO_LARGE', async () => {
  const size = 8 * 1024 * 1024;
  const zeros = Buffer.alloc(size);
  const cctx = new zstdBinding.CCtx();
  cctx.setParameter(zstdBinding.CParameter.contentSizeFlag, 0);
  const zdst = Buffer.alloc(zstdBinding.compressBound(size));
  const zstdNoSize = zdst.subarray(0, cctx.compress2(zdst, zeros));
  const cases: [CompressionType, Buffer][] = [
    [Compression.none, zeros],
    [Compression.gzip, await compress(Compression.gzip, zeros)],
    [Compression.snappy, await compress(Compression.snappy, zeros)],
    [Compression.snappy, snappy.compressSync(zeros)],
    [Compression.lz4, await compress(Compression.lz4, zeros)],
    [Compression.lz4, lz4.compressFrameSync(zeros)],
    [Compression.zstd, await compress(Compression.zstd, zeros)],
    [Compression.zstd, zstdNoSize],
  ];
  for (const [codec, data] of cases) {
    await assert.rejects(decompress(codec, data, 1024 * 1024), (e: unknown) => {
      assert.ok(e instanceof DecompressionLimitError, `${compressionName(codec)}: ${String(e)}`);
      assert.equal(e.errorCode, MESSAGE_TOO_LARGE);
      assert.equal(e.limit, 1024 * 1024);
      return true;
    });
    await assert.rejects(decompress(codec, data, size - 1), DecompressionLimitError);
    assert.equal((await decompress(codec, data, size)).length, size, compressionName(codec));
  }
  // Through decodeBatch.
  const batch = await encodeBatch({ records: [{ value: zeros, timestamp: T0 }], compression: Compression.zstd });
  assert.ok(batch.length < 2000);
  await assert.rejects(decodeBatch(batch, { maxDecompressedBytes: 1024 * 1024 }), isCode(MESSAGE_TOO_LARGE));
  assert.equal((await decodeBatch(batch, { maxDecompressedBytes: size + 100 })).records[0]!.value!.length, size);
});

// -------------------------------------------------------------------------------------------------
// kafkajs interoperability (an independent implementation of the v2 format)
// -------------------------------------------------------------------------------------------------

interface KjsEncoder {
  buffer: Buffer;
}
interface KjsRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: { [k: string]: Buffer | Buffer[] };
  timestamp: string;
  offset: string;
  isControlRecord: boolean;
}
interface KjsBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  inTransaction: boolean;
  timestampType: number;
  records: KjsRecord[];
}
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (o: object) => Promise<KjsEncoder>;
};
const KjsRecordEncoder = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => KjsEncoder;
const KjsBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: object) => Promise<KjsBatch>;
const KjsDecodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (d: object) => Promise<KjsRecord[]>;
const KjsDecoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => object;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: number | string): unknown };

const VECTOR_RECORDS = [
  { offsetDelta: 0, timestamp: T0, key: Buffer.from('key-0'), value: Buffer.from('value-0'), headers: [{ key: 'trace', value: Buffer.from('abc') }] },
  { offsetDelta: 1, timestamp: T0 + 500, key: null, value: Buffer.alloc(0), headers: [] },
  {
    offsetDelta: 2,
    timestamp: T0 + 250,
    key: Buffer.alloc(0),
    value: null,
    headers: [
      { key: 'ключ', value: Buffer.from('x') },
      { key: 'b', value: Buffer.alloc(0) },
    ],
  },
];

async function kafkajsBatch(compression: number): Promise<Buffer> {
  const records = VECTOR_RECORDS.map((r) =>
    KjsRecordEncoder({
      offsetDelta: r.offsetDelta,
      timestampDelta: r.timestamp - T0,
      key: r.key,
      value: r.value,
      headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value])),
    }),
  );
  const enc = await RecordBatch({
    compression,
    firstOffset: Long.fromValue(0),
    firstTimestamp: T0,
    maxTimestamp: T0 + 500,
    partitionLeaderEpoch: 0,
    lastOffsetDelta: 2,
    transactional: false,
    producerId: Long.fromValue(1234),
    producerEpoch: 3,
    firstSequence: 42,
    records,
  });
  return Buffer.from(enc.buffer);
}

function ourVector(compression: CompressionType): Promise<Buffer> {
  return encodeBatch({
    compression,
    records: VECTOR_RECORDS,
    partitionLeaderEpoch: 0,
    producerId: 1234,
    producerEpoch: 3,
    baseSequence: 42,
  });
}

test('kafkajs fixed vector: byte-identical uncompressed batch, decoded exactly', async () => {
  const theirs = await kafkajsBatch(0);
  const ours = await ourVector(Compression.none);
  assert.equal(ours.toString('hex'), theirs.toString('hex'));
  const [v] = validateBatches(theirs, { produceVersion: 3 });
  assert.equal(v!.producerId, 1234);
  const d = await decodeBatch(theirs);
  assert.deepEqual(actual(d.records), expected(VECTOR_RECORDS));
});

for (const compression of [Compression.none, Compression.gzip] as CompressionType[]) {
  test(`kafkajs interop (${compressionName(compression)}): we decode kafkajs batches, kafkajs decodes ours`, async () => {
    const theirs = await kafkajsBatch(compression);
    assert.equal(readBatchHeader(theirs).compression, compression);
    validateBatches(theirs, { produceVersion: 3 });
    assert.deepEqual(actual((await decodeBatch(theirs)).records), expected(VECTOR_RECORDS));

    const ours = await ourVector(compression);
    const k = await KjsBatchDecoder(new KjsDecoder(ours));
    assert.equal(k.firstOffset, '0');
    assert.equal(k.firstTimestamp, String(T0));
    assert.equal(k.maxTimestamp, String(T0 + 500));
    assert.equal(k.producerId, '1234');
    assert.equal(k.producerEpoch, 3);
    assert.equal(k.firstSequence, 42);
    assert.equal(k.lastOffsetDelta, 2);
    assert.deepEqual(
      k.records.map((r) => ({ offset: Number(r.offset), timestamp: Number(r.timestamp), key: r.key, value: r.value, headers: r.headers })),
      VECTOR_RECORDS.map((r, i) => ({
        offset: i,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value])),
      })),
    );
  });
}

test('kafkajs fetch path decodes several of our batches, ignoring a partial tail', async () => {
  const a = await encodeBatch({ records: [{ value: Buffer.from('a'), timestamp: T0 }], baseOffset: 10 });
  const b = await encodeBatch({ records: [{ value: Buffer.from('b'), timestamp: T0 }, { value: Buffer.from('c'), timestamp: T0 + 1 }], baseOffset: 11, compression: Compression.gzip });
  const c = await encodeBatch({ records: [{ value: Buffer.from('d'), timestamp: T0 }], baseOffset: 13 });
  const records = Buffer.concat([a, b, c.subarray(0, c.length - 2)]);
  const framed = Buffer.alloc(4 + records.length);
  framed.writeInt32BE(records.length, 0);
  records.copy(framed, 4);
  const k = await KjsDecodeMessages(new KjsDecoder(framed));
  assert.deepEqual(k.map((r) => [r.offset, r.value!.toString()]), [['10', 'a'], ['11', 'b'], ['12', 'c']]);
});

test('kafkajs reads our transaction marker as a control record', async () => {
  const m = encodeEndTxnMarkerBatch({ commit: true, producerId: 9, producerEpoch: 1, coordinatorEpoch: 5, timestamp: T0 });
  const k = await KjsBatchDecoder(new KjsDecoder(m));
  assert.equal(k.inTransaction, true);
  assert.equal(k.records[0]!.isControlRecord, true);
  assert.deepEqual(k.records[0]!.key, Buffer.from([0, 0, 0, 1]));
});
