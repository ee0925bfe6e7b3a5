/**
 * The record codec (Kafka's DefaultRecord inside a magic v2 DefaultRecordBatch): encode a whole batch
 * from records, and decode a batch (decompressing as needed) into records. The broker's hot path does
 * not need this (see batch.ts); hooks, the client, compaction and timestamp lookups do.
 *
 * Record layout (varints are zig-zag signed):
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value
 *   headerCount varint | headers: keyLength varint, UTF-8 key, valueLength varint (-1 = null), value
 *
 * Decoded keys, values and header values are views (no copy) into the batch bytes, or into the
 * decompressed buffer: copy them if the source buffer is going to be reused.
 */
import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  DELETE_HORIZON_FLAG_MASK,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  TimestampType,
  readBatchHeader,
  verifyBatchCrc,
  writeInt64,
  type BatchHeader,
} from './batch.js';
import {
  Compression,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compress,
  decompress,
  isCompressionType,
  type CompressionType,
} from './compression.js';
import { CORRUPT_MESSAGE, INVALID_RECORD, RecordsError, UNSUPPORTED_COMPRESSION_TYPE } from './errors.js';
import { invariant } from '../../base/assert.js';
import { BATCH_DECODED_ELEMENTS_MAX, DECODE_YIELD_ELEMENTS, RECORD_HEADERS_MAX } from '../../base/limits.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** One record as stored in a batch (offset and timestamp relative to the batch). */
export interface KafkaRecord {
  /** Record attributes int8 (unused by Kafka, 0). */
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}
export type { KafkaRecord as Record };

/** Control record key (control batches only): version int16, type int16. */
export interface ControlRecordInfo {
  version: number;
  /** ControlRecordType: 0 ABORT, 1 COMMIT, 2-6 KRaft types. */
  type: number;
  /** For ABORT/COMMIT markers with a well-formed value: the coordinator epoch. */
  coordinatorEpoch?: number;
}

/** A decoded record with its absolute offset and timestamp. */
export interface DecodedRecord extends KafkaRecord {
  offset: number;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp for LogAppendTime batches. */
  timestamp: number;
  /** Present on records of control batches whose key is a control record key. */
  control?: ControlRecordInfo;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: DecodedRecord[];
}

export const ControlRecordType = {
  abort: 0,
  commit: 1,
  leaderChange: 2,
  snapshotHeader: 3,
  snapshotFooter: 4,
  kraftVersion: 5,
  kraftVoters: 6,
} as const;

// -------------------------------------------------------------------------------------------------
// Varints
// -------------------------------------------------------------------------------------------------

function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

function sizeOfUVarint(u: number): number {
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

function sizeOfVarint(v: number): number {
  return sizeOfUVarint(zigzag32(v));
}

const TWO_52 = 2 ** 52;

function sizeOfVarlong(v: number): number {
  if (v > -TWO_52 && v < TWO_52) {
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    let n = 1;
    while (z >= 128) {
      z = Math.floor(z / 128);
      n++;
    }
    return n;
  }
  let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
  let n = 1;
  while (z >= 128n) {
    z >>= 7n;
    n++;
  }
  return n;
}

function writeUVarint(buf: Buffer, pos: number, u: number): number {
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  return writeUVarint(buf, pos, zigzag32(v));
}

function writeVarlong(buf: Buffer, pos: number, v: number): number {
  if (v > -TWO_52 && v < TWO_52) {
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    while (z >= 128) {
      buf[pos++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
    buf[pos++] = z;
    return pos;
  }
  let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
  while (z >= 128n) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
  return pos;
}

/** Bounds-checked cursor over decompressed record bytes; failures are INVALID_RECORD. */
class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  fail(what: string): never {
    throw new RecordsError(INVALID_RECORD, `invalid record structure: ${what} at byte ${this.pos}`);
  }

  int8(): number {
    if (this.pos >= this.end) this.fail('premature end of records');
    return this.buf.readInt8(this.pos++);
  }

  varint(): number {
    const buf = this.buf;
    let u = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) this.fail('premature end of records');
      const b = buf[this.pos++]!;
      if (shift === 28) {
        if (b > 0x0f) this.fail('varint longer than 32 bits');
        u |= b << 28;
        break;
      }
      u |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    return (u >>> 1) ^ -(u & 1);
  }

  varlong(): number {
    const buf = this.buf;
    let lo = 0;
    let shift = 0;
    let b: number;
    do {
      if (this.pos >= this.end) this.fail('premature end of records');
      b = buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      shift += 7;
    } while (b >= 0x80 && shift < 28);
    if (b < 0x80) return (lo >>> 1) ^ -(lo & 1); // up to 28 bits
    // Bits 28..48 in double arithmetic (exact), beyond that BigInt.
    let u = lo;
    let mul = 2 ** 28;
    for (let i = 4; i < 7; i++) {
      if (this.pos >= this.end) this.fail('premature end of records');
      b = buf[this.pos++]!;
      u += (b & 0x7f) * mul;
      if (b < 0x80) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      mul *= 128;
    }
    let big = BigInt(u);
    for (let i = 7; i < 10; i++) {
      if (this.pos >= this.end) this.fail('premature end of records');
      b = buf[this.pos++]!;
      big |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) {
        big = BigInt.asUintN(64, big);
        return Number((big >> 1n) ^ -(big & 1n));
      }
    }
    return this.fail('varlong longer than 10 bytes');
  }

  /** Bytes of a varint length; any negative length is null (as Kafka's DefaultRecord.readFrom). */
  nullableBytes(): Buffer | null {
    const n = this.varint();
    if (n < 0) return null;
    if (n > this.end - this.pos) this.fail(`length ${n} overruns the record`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

// -------------------------------------------------------------------------------------------------
// Decoding
// -------------------------------------------------------------------------------------------------

/** Smallest encoded record: length, attributes, timestampDelta, offsetDelta, key, value, header count. */
const MIN_RECORD_BYTES = 7;

export interface DecodeBatchOptions {
  /** Limit on the decompressed size of the records (decompression-bomb guard). */
  maxDecompressedBytes?: number;
  /** Verify the batch CRC first (CORRUPT_MESSAGE on mismatch). Default true. */
  verifyCrc?: boolean;
  /** Told the size of the decompressed records before they are decoded (a budget counts it). */
  onDecompressed?: (bytes: number) => void;
}

/**
 * Decode the v2 batch at the start of `buf` (bytes after the batch are ignored). Throws RecordsError:
 * CORRUPT_MESSAGE for a truncated batch or CRC mismatch, UNSUPPORTED_COMPRESSION_TYPE for codec ids
 * 5-7, INVALID_RECORD for malformed records or compressed data (record count not matching, bytes left
 * over, bad lengths) and for more records and headers than src/base/limits.ts allows, MESSAGE_TOO_LARGE
 * (DecompressionLimitError) past the decompression limit. A long decode lets other work run every
 * DECODE_YIELD_ELEMENTS records plus headers, so one large batch does not stall every connection.
 */
export async function decodeBatch(buf: Buffer, opts: DecodeBatchOptions = {}): Promise<DecodedBatch> {
  const header = readBatchHeader(buf, 0);
  if (header.byteLength < BATCH_HEADER_BYTES || header.byteLength > buf.length) {
    throw new RecordsError(
      CORRUPT_MESSAGE,
      `record batch declares ${header.byteLength} bytes but ${buf.length} are available`,
    );
  }
  if ((opts.verifyCrc ?? true) && !verifyBatchCrc(buf, 0)) {
    throw new RecordsError(CORRUPT_MESSAGE, `record batch fails its CRC check (stored crc = ${header.crc})`);
  }
  if (!isCompressionType(header.compression)) {
    throw new RecordsError(UNSUPPORTED_COMPRESSION_TYPE, `unknown compression type id ${header.compression}`);
  }
  checkRecordCount(header, header.compression === Compression.none ? header.byteLength - RECORDS_OFFSET : Infinity);
  const body = buf.subarray(RECORDS_OFFSET, header.byteLength);
  const data =
    header.compression === Compression.none
      ? body
      : await decompress(header.compression, body, opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  opts.onDecompressed?.(data.length);
  const decoding = recordDecoder(header, data);
  for (let step = decoding.next(); ; step = decoding.next()) {
    if (step.done) return { header, records: step.value };
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Decode every batch in `buf` (concatenated batches; a partial trailing batch is an error). */
export async function decodeBatches(buf: Buffer, opts: DecodeBatchOptions = {}): Promise<DecodedBatch[]> {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const h = readBatchHeader(buf, pos);
    if (h.byteLength < BATCH_HEADER_BYTES || pos + h.byteLength > buf.length) {
      throw new RecordsError(CORRUPT_MESSAGE, `truncated record batch at byte ${pos}`);
    }
    out.push(await decodeBatch(buf.subarray(pos, pos + h.byteLength), opts));
    pos += h.byteLength;
  }
  return out;
}

/**
 * Decode the (already decompressed) records of a batch. Exactly `header.recordCount` records must fill
 * `data`, each exactly its declared length. Synchronous: decodeBatch is the variant that yields.
 */
export function decodeRecords(header: BatchHeader, data: Buffer): DecodedRecord[] {
  const decoding = recordDecoder(header, data);
  for (;;) {
    const step = decoding.next();
    if (step.done) return step.value;
  }
}

/** The header's record count against the bytes that hold the records and BATCH_DECODED_ELEMENTS_MAX. */
function checkRecordCount(header: BatchHeader, dataBytes: number): void {
  const count = header.recordCount;
  if (count < 0) throw new RecordsError(INVALID_RECORD, `found invalid record count ${count} in record batch`);
  if (count * MIN_RECORD_BYTES > dataBytes) {
    throw new RecordsError(INVALID_RECORD, `record count ${count} cannot fit in ${dataBytes} bytes of records`);
  }
  if (count > BATCH_DECODED_ELEMENTS_MAX) {
    throw new RecordsError(INVALID_RECORD, `record count ${count} is more than the ${BATCH_DECODED_ELEMENTS_MAX} records a batch may hold here`);
  }
}

/**
 * The record decoder proper, as a generator that pauses (yields) every DECODE_YIELD_ELEMENTS records
 * plus headers and returns the records. Counts are checked before anything is allocated for them:
 * the record count against the bytes and BATCH_DECODED_ELEMENTS_MAX, each header count against the
 * record's bytes, RECORD_HEADERS_MAX and what is left of BATCH_DECODED_ELEMENTS_MAX.
 */
function* recordDecoder(header: BatchHeader, data: Buffer): Generator<void, DecodedRecord[]> {
  checkRecordCount(header, data.length);
  const count = header.recordCount;
  let elementsLeft = BATCH_DECODED_ELEMENTS_MAX - count;
  let untilYield = DECODE_YIELD_ELEMENTS;
  const logAppendTime = header.timestampType === TimestampType.logAppendTime;
  const records: DecodedRecord[] = [];
  const c = new Cursor(data, 0, data.length);
  for (let i = 0; i < count; i++) {
    const length = c.varint();
    if (length < 0 || length > c.end - c.pos) c.fail(`record length ${length}`);
    const recordEnd = c.pos + length;
    const r = new Cursor(data, c.pos, recordEnd);
    const attributes = r.int8();
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = r.nullableBytes();
    const value = r.nullableBytes();
    const headerCount = r.varint();
    if (headerCount < 0) r.fail(`invalid number of record headers ${headerCount}`);
    if (headerCount * 2 > recordEnd - r.pos) r.fail(`${headerCount} record headers cannot fit`);
    if (headerCount > RECORD_HEADERS_MAX) r.fail(`${headerCount} record headers are more than the ${RECORD_HEADERS_MAX} a record may have here`);
    if (headerCount > elementsLeft) r.fail(`${headerCount} record headers take the batch past ${BATCH_DECODED_ELEMENTS_MAX} records and headers`);
    elementsLeft -= headerCount;
    const headers: RecordHeader[] = new Array(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const keyLength = r.varint();
      if (keyLength < 0) r.fail(`invalid negative header key size ${keyLength}`);
      if (keyLength > recordEnd - r.pos) r.fail(`header key length ${keyLength} overruns the record`);
      const hkey = data.toString('utf8', r.pos, r.pos + keyLength);
      r.pos += keyLength;
      headers[h] = { key: hkey, value: r.nullableBytes() };
    }
    if (r.pos !== recordEnd) r.fail(`record declared ${length} bytes but used ${r.pos - c.pos}`);
    const rec: DecodedRecord = {
      attributes,
      timestampDelta,
      offsetDelta,
      key,
      value,
      headers,
      offset: header.baseOffset + offsetDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
    };
    if (header.isControl) {
      const control = decodeControlRecord(key, value);
      if (control) rec.control = control;
    }
    records.push(rec);
    c.pos = recordEnd;
    untilYield -= 1 + headerCount;
    if (untilYield <= 0) {
      untilYield = DECODE_YIELD_ELEMENTS;
      yield;
    }
  }
  if (c.pos !== data.length) {
    throw new RecordsError(INVALID_RECORD, 'incorrect declared batch size, records still remaining');
  }
  return records;
}

/** Parse a control record's key (and, for ABORT/COMMIT, the marker value). Undefined if the key is too short. */
export function decodeControlRecord(key: Buffer | null, value: Buffer | null): ControlRecordInfo | undefined {
  if (key === null || key.length < 4) return undefined;
  const info: ControlRecordInfo = { version: key.readInt16BE(0), type: key.readInt16BE(2) };
  if ((info.type === ControlRecordType.abort || info.type === ControlRecordType.commit) && value && value.length >= 6) {
    info.coordinatorEpoch = value.readInt32BE(2);
  }
  return info;
}

// -------------------------------------------------------------------------------------------------
// Encoding
// -------------------------------------------------------------------------------------------------

export interface RecordInput {
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: readonly RecordHeader[];
  /** Absolute timestamp (ms); defaults to EncodeBatchOptions.now. */
  timestamp?: number;
  /** Offset relative to the batch; defaults to the record's index. Must increase. */
  offsetDelta?: number;
  /** Record attributes int8; default 0. */
  attributes?: number;
}

export interface EncodeBatchOptions {
  records: readonly RecordInput[];
  baseOffset?: number;
  compression?: CompressionType;
  compressionLevel?: number;
  timestampType?: TimestampType;
  isTransactional?: boolean;
  isControl?: boolean;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /**
   * Batch base timestamp; default the first record's timestamp (as the Java producer), or -1 for an
   * empty batch. Record timestampDeltas are relative to it.
   */
  baseTimestamp?: number;
  /** Default: the largest record timestamp (CreateTime) or `now` (LogAppendTime); -1 when empty. */
  maxTimestamp?: number;
  /** Set bit 6 and store this delete horizon as baseTimestamp (log cleaner). */
  deleteHorizonMs?: number;
  /** Default: the largest offsetDelta (records.length - 1 with default deltas; -1 when empty). */
  lastOffsetDelta?: number;
  /** Timestamp for records without one, and LogAppendTime; default Date.now(). */
  now?: number;
}

interface Sized {
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
  headerKeyBytes: number[];
  timestampDelta: number;
  offsetDelta: number;
  attributes: number;
  bodyBytes: number;
}

/** Encode a v2 record batch (computes lastOffsetDelta, maxTimestamp, compression and the CRC-32C). */
export async function encodeBatch(opts: EncodeBatchOptions): Promise<Buffer> {
  const compression = opts.compression ?? Compression.none;
  if (!isCompressionType(compression)) throw new RangeError(`unknown compression type ${String(compression)}`);
  const { records, body, header } = prepareBatch(opts);
  const payload = compression === Compression.none ? body : await compress(compression, body, { level: opts.compressionLevel });
  return finishBatch(header, compression, records, payload);
}

/**
 * The EncodeBatchOptions that write a batch again with `h`'s header: base offset, timestamp type,
 * transactional flag, leader epoch, producer id, epoch and base sequence, base timestamp (to which
 * the records' timestamps are relative). Records, codec, max timestamp and last offset delta are the
 * caller's to give.
 */
export function sameHeaderAs(h: BatchHeader): Omit<EncodeBatchOptions, 'records'> {
  return {
    baseOffset: h.baseOffset,
    timestampType: h.timestampType as TimestampType,
    isTransactional: h.isTransactional,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    baseTimestamp: h.baseTimestamp,
  };
}

/** Synchronous encodeBatch for uncompressed batches (e.g. transaction markers). */
export function encodeBatchSync(opts: EncodeBatchOptions): Buffer {
  const compression = opts.compression ?? Compression.none;
  if (compression !== Compression.none) throw new RangeError('encodeBatchSync only writes uncompressed batches');
  const { records, body, header } = prepareBatch(opts);
  return finishBatch(header, compression, records, body);
}

interface PreparedHeader {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributesWithoutCodec: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

function prepareBatch(opts: EncodeBatchOptions): { records: number; body: Buffer; header: PreparedHeader } {
  const inputs = opts.records;
  const now = opts.now ?? Date.now();
  const timestampType = opts.timestampType ?? TimestampType.createTime;
  const baseTimestamp = batchBaseTimestamp(opts, now);
  const sized = sizeRecords(inputs, baseTimestamp, now);
  const body = writeRecords(sized.records, sized.bodyBytes);

  let maxTimestamp: number;
  if (opts.maxTimestamp !== undefined) maxTimestamp = opts.maxTimestamp;
  else if (timestampType === TimestampType.logAppendTime) maxTimestamp = now;
  else maxTimestamp = sized.maxRecordTimestamp;

  const attributesWithoutCodec =
    (timestampType === TimestampType.logAppendTime ? TIMESTAMP_TYPE_MASK : 0) |
    (opts.isTransactional ? TRANSACTIONAL_FLAG_MASK : 0) |
    (opts.isControl ? CONTROL_FLAG_MASK : 0) |
    (opts.deleteHorizonMs !== undefined ? DELETE_HORIZON_FLAG_MASK : 0);

  return {
    records: inputs.length,
    body,
    header: {
      baseOffset: opts.baseOffset ?? 0,
      partitionLeaderEpoch: opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
      attributesWithoutCodec,
      lastOffsetDelta: opts.lastOffsetDelta ?? sized.maxOffsetDelta,
      baseTimestamp,
      maxTimestamp,
      producerId: opts.producerId ?? NO_PRODUCER_ID,
      producerEpoch: opts.producerEpoch ?? NO_PRODUCER_EPOCH,
      baseSequence: opts.baseSequence ?? NO_SEQUENCE,
    },
  };
}

/** The batch's base timestamp: a compacted batch's delete horizon, the caller's, or the first record's. */
function batchBaseTimestamp(opts: EncodeBatchOptions, now: number): number {
  if (opts.deleteHorizonMs !== undefined) return opts.deleteHorizonMs;
  if (opts.baseTimestamp !== undefined) return opts.baseTimestamp;
  return opts.records.length > 0 ? (opts.records[0]!.timestamp ?? now) : NO_TIMESTAMP;
}

/**
 * Check every record and work out its encoded size (so the body is allocated once): timestamps and
 * offset deltas relative to the batch, header key lengths in UTF-8.
 */
function sizeRecords(
  inputs: readonly RecordInput[],
  baseTimestamp: number,
  now: number,
): { records: Sized[]; bodyBytes: number; maxRecordTimestamp: number; maxOffsetDelta: number } {
  let maxRecordTimestamp = NO_TIMESTAMP;
  let maxOffsetDelta = -1;
  let bodyBytes = 0;
  const records: Sized[] = new Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const r = inputs[i]!;
    const timestamp = r.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`record ${i}: invalid timestamp ${timestamp}`);
    const offsetDelta = r.offsetDelta ?? i;
    if (!Number.isInteger(offsetDelta) || offsetDelta < 0 || offsetDelta > 0x7fffffff || offsetDelta <= maxOffsetDelta) {
      throw new RangeError(`record ${i}: offsetDelta ${offsetDelta} must be a non-negative int32 larger than the previous one`);
    }
    if (timestamp > maxRecordTimestamp) maxRecordTimestamp = timestamp;
    maxOffsetDelta = offsetDelta;
    const sized = sizeRecord(r, i, timestamp - baseTimestamp, offsetDelta);
    records[i] = sized;
    bodyBytes += sizeOfVarint(sized.bodyBytes) + sized.bodyBytes;
  }
  return { records, bodyBytes, maxRecordTimestamp, maxOffsetDelta };
}

/** One record's fields and the bytes its body takes (without its own length prefix). */
function sizeRecord(r: RecordInput, i: number, timestampDelta: number, offsetDelta: number): Sized {
  const key = r.key ?? null;
  const value = r.value ?? null;
  const headers = r.headers ?? NO_HEADERS;
  const headerKeyBytes: number[] = headers.length > 0 ? new Array(headers.length) : NO_HEADER_KEY_BYTES;
  const bodyBytes = recordBodyBytes(key, value, headers, timestampDelta, offsetDelta, i, headerKeyBytes);
  return { key, value, headers, headerKeyBytes, timestampDelta, offsetDelta, attributes: r.attributes ?? 0, bodyBytes };
}

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);
/** headerKeyBytes of a record without headers (never written to: it has no entries). */
const NO_HEADER_KEY_BYTES: number[] = [];

/**
 * Bytes of a record's body without its own length prefix; fills `headerKeyBytes` with the UTF-8
 * length of each header key. Throws TypeError for a header key that is not a string (record `i`).
 */
function recordBodyBytes(key: Buffer | null, value: Buffer | null, headers: readonly RecordHeader[], timestampDelta: number, offsetDelta: number, i: number, headerKeyBytes: number[]): number {
  let size =
    1 +
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    (key === null ? 1 : sizeOfVarint(key.length) + key.length) +
    (value === null ? 1 : sizeOfVarint(value.length) + value.length) +
    sizeOfVarint(headers.length);
  for (let h = 0; h < headers.length; h++) {
    const hdr = headers[h]!;
    if (typeof hdr.key !== 'string') throw new TypeError(`record ${i}: header key must be a string`);
    const kb = Buffer.byteLength(hdr.key, 'utf8');
    headerKeyBytes[h] = kb;
    size += sizeOfVarint(kb) + kb + (hdr.value === null ? 1 : sizeOfVarint(hdr.value.length) + hdr.value.length);
  }
  return size;
}

/**
 * Write one record (length prefix and body, `bodyBytes` as recordBodyBytes sized it) at `pos`;
 * returns the end. Positional arguments: the producer calls it per record and keeps no object.
 */
function writeRecord(
  buf: Buffer,
  pos: number,
  bodyBytes: number,
  attributes: number,
  timestampDelta: number,
  offsetDelta: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: readonly RecordHeader[],
  headerKeyBytes: readonly number[],
): number {
  pos = writeVarint(buf, pos, bodyBytes);
  buf.writeInt8(attributes, pos++);
  pos = writeVarlong(buf, pos, timestampDelta);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeNullableBytes(buf, pos, key);
  pos = writeNullableBytes(buf, pos, value);
  pos = writeVarint(buf, pos, headers.length);
  for (let h = 0; h < headers.length; h++) {
    const hdr = headers[h]!;
    const kb = headerKeyBytes[h]!;
    pos = writeVarint(buf, pos, kb);
    pos += buf.write(hdr.key, pos, kb, 'utf8');
    pos = writeNullableBytes(buf, pos, hdr.value);
  }
  return pos;
}

/** The records section of the batch, in one allocation of the size sizeRecords worked out. */
function writeRecords(sized: readonly Sized[], bodyBytes: number): Buffer {
  const body = Buffer.allocUnsafe(bodyBytes);
  let pos = 0;
  for (const s of sized) pos = writeRecord(body, pos, s.bodyBytes, s.attributes, s.timestampDelta, s.offsetDelta, s.key, s.value, s.headers, s.headerKeyBytes);
  invariant(pos === bodyBytes, 'the record encoder writes exactly the bytes it sized', pos, bodyBytes);
  return body;
}

function writeNullableBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

function finishBatch(h: PreparedHeader, compression: CompressionType, count: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
  payload.copy(out, RECORDS_OFFSET);
  writeHeaderAndCrc(out, h, compression, count);
  return out;
}

/** The batch header of `out` (the whole batch, records in place) and then its CRC-32C. */
function writeHeaderAndCrc(out: Buffer, h: PreparedHeader, compression: CompressionType, count: number): void {
  writeInt64(out, 0, h.baseOffset);
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8);
  out.writeInt32BE(h.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  out.writeInt16BE(h.attributesWithoutCodec | compression, ATTRIBUTES_OFFSET);
  out.writeInt32BE(h.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(out, BASE_TIMESTAMP_OFFSET, h.baseTimestamp);
  writeInt64(out, MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  writeInt64(out, PRODUCER_ID_OFFSET, h.producerId);
  out.writeInt16BE(h.producerEpoch, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(h.baseSequence, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(count, RECORDS_COUNT_OFFSET);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
}

// -------------------------------------------------------------------------------------------------
// Building a batch record by record (the producer)
// -------------------------------------------------------------------------------------------------

/** The header fields of a batch the producer finishes (the rest follow from its records). */
export interface BatchBuilderFinish {
  compression?: CompressionType;
  compressionLevel?: number;
  isTransactional?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

/** Bytes a BatchBuilder starts with unless told otherwise: a few dozen small records. */
const BATCH_BUILDER_INITIAL_BYTES = 4096;

/**
 * A v2 batch built record by record, as a producer fills it: each record is encoded when it is
 * appended, into one growing buffer behind room for the batch header. So the producer keeps no
 * object per record until the batch is sent, and an uncompressed batch is finished in place (header
 * and CRC written around the records) without a second copy of them. The bytes are the same as
 * encodeBatch's for the same records with default offset deltas (the records-codec test checks it);
 * the base timestamp is the first record's, as the Java producer's.
 *
 * The buffer doubles when it fills, so it may hold up to twice the batch's bytes until it is sent.
 */
export class BatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_BYTES;
  private count = 0;
  private baseTimestamp = NO_TIMESTAMP;
  private maxTimestamp = NO_TIMESTAMP;

  constructor(initialBytes = BATCH_BUILDER_INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + Math.max(initialBytes, 64));
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes of the uncompressed batch so far, header included. */
  get sizeInBytes(): number {
    return this.pos;
  }

  /** Encode one record (offset delta: its index; timestamp: absolute, in ms). */
  append(key: Buffer | null, value: Buffer | null, headers: readonly RecordHeader[] | undefined, timestamp: number): void {
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`record ${this.count}: invalid timestamp ${timestamp}`);
    if (this.count === 0x7fffffff) throw new RangeError('a batch holds at most 2^31 - 1 records');
    if (this.count === 0) this.baseTimestamp = timestamp;
    const timestampDelta = timestamp - this.baseTimestamp;
    const offsetDelta = this.count;
    const hs = headers ?? NO_HEADERS;
    const headerKeyBytes: number[] = hs.length > 0 ? new Array(hs.length) : NO_HEADER_KEY_BYTES;
    const bodyBytes = recordBodyBytes(key, value, hs, timestampDelta, offsetDelta, this.count, headerKeyBytes);
    const end = this.pos + sizeOfVarint(bodyBytes) + bodyBytes;
    if (end > this.buf.length) this.grow(end);
    const pos = writeRecord(this.buf, this.pos, bodyBytes, 0, timestampDelta, offsetDelta, key, value, hs, headerKeyBytes);
    invariant(pos === end, 'the batch builder writes exactly the bytes it sized', pos, end);
    this.pos = end;
    this.count++;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  private grow(atLeast: number): void {
    const next = Buffer.allocUnsafe(Math.max(atLeast, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /**
   * The finished batch (CreateTime, base offset 0). Uncompressed it is a view of the builder's own
   * buffer; compression runs as in encodeBatch (possibly on the thread pool). Call once.
   */
  async finish(opts: BatchBuilderFinish = {}): Promise<Buffer> {
    const compression = opts.compression ?? Compression.none;
    if (!isCompressionType(compression)) throw new RangeError(`unknown compression type ${String(compression)}`);
    const header: PreparedHeader = {
      baseOffset: 0,
      partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
      attributesWithoutCodec: opts.isTransactional ? TRANSACTIONAL_FLAG_MASK : 0,
      lastOffsetDelta: this.count - 1,
      baseTimestamp: this.baseTimestamp,
      maxTimestamp: this.maxTimestamp,
      producerId: opts.producerId ?? NO_PRODUCER_ID,
      producerEpoch: opts.producerEpoch ?? NO_PRODUCER_EPOCH,
      baseSequence: opts.baseSequence ?? NO_SEQUENCE,
    };
    if (compression === Compression.none) {
      const out = this.buf.subarray(0, this.pos);
      writeHeaderAndCrc(out, header, compression, this.count);
      return out;
    }
    const payload = await compress(compression, this.buf.subarray(BATCH_HEADER_BYTES, this.pos), { level: opts.compressionLevel });
    return finishBatch(header, compression, this.count, payload);
  }
}

// -------------------------------------------------------------------------------------------------
// Control batches
// -------------------------------------------------------------------------------------------------

/** Control record key: version int16 (0) + type int16. */
export function encodeControlRecordKey(type: number, version = 0): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt16BE(version, 0);
  b.writeInt16BE(type, 2);
  return b;
}

/** End-transaction marker value: version int16 (0) + coordinatorEpoch int32. */
export function encodeEndTxnMarkerValue(coordinatorEpoch: number, version = 0): Buffer {
  const b = Buffer.allocUnsafe(6);
  b.writeInt16BE(version, 0);
  b.writeInt32BE(coordinatorEpoch, 2);
  return b;
}

export interface EndTxnMarkerOptions {
  commit: boolean;
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  timestamp?: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

/**
 * A transaction marker batch, as Kafka's MemoryRecords.withEndTransactionMarker writes it: one control
 * record, transactional + control attributes, no compression, CreateTime, baseSequence -1.
 */
export function encodeEndTxnMarkerBatch(o: EndTxnMarkerOptions): Buffer {
  const timestamp = o.timestamp ?? Date.now();
  return encodeBatchSync({
    baseOffset: o.baseOffset ?? 0,
    partitionLeaderEpoch: o.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    producerId: o.producerId,
    producerEpoch: o.producerEpoch,
    baseSequence: NO_SEQUENCE,
    isTransactional: true,
    isControl: true,
    records: [
      {
        key: encodeControlRecordKey(o.commit ? ControlRecordType.commit : ControlRecordType.abort),
        value: encodeEndTxnMarkerValue(o.coordinatorEpoch),
        timestamp,
      },
    ],
  });
}
