/**
 * Record batches (magic v2, Kafka's DefaultRecordBatch) handled as bytes: the broker validates,
 * stamps and stores batches without decoding their records. See record.ts for the record codec.
 *
 * Layout (big-endian), offsets from the start of the batch:
 *
 *   0 baseOffset int64 | 8 batchLength int32 (bytes after this field) | 12 partitionLeaderEpoch int32
 *   16 magic int8 | 17 crc uint32 (CRC-32C of bytes 21..end) | 21 attributes int16
 *   23 lastOffsetDelta int32 | 27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64
 *   51 producerEpoch int16 | 53 baseSequence int32 | 57 recordCount int32 | 61 records...
 *
 * int64 fields (offsets, timestamps, producer ids) are exposed as JS numbers. They are exact below
 * 2^53, which offsets, epoch-millisecond timestamps and broker-allocated producer ids never reach;
 * writers reject values that are not safe integers.
 */
import { crc32c } from './crc32c.js';
import { Compression, isCompressionType } from './compression.js';
import {
  CORRUPT_MESSAGE,
  INVALID_RECORD,
  MESSAGE_TOO_LARGE,
  RecordsError,
  UNSUPPORTED_COMPRESSION_TYPE,
} from './errors.js';
import { invariant } from '../../base/assert.js';

// Header layout ---------------------------------------------------------------------------------

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
/** Size of the v2 batch header (Kafka's RECORD_BATCH_OVERHEAD): the smallest valid batch. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the part of a batch that is not counted by batchLength. */
export const LOG_OVERHEAD = 12;
/** Bytes needed to read a batch's magic byte (Kafka's HEADER_SIZE_UP_TO_MAGIC). */
export const HEADER_BYTES_UP_TO_MAGIC = 17;
/** Smallest batchLength Kafka accepts before looking at the magic (LegacyRecord.RECORD_OVERHEAD_V0). */
const LEGACY_MIN_BATCH_LENGTH = 14;
export const CURRENT_MAGIC = 2;

// Attribute bits ----------------------------------------------------------------------------------

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const TimestampType = { createTime: 0, logAppendTime: 1 } as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1;

// Header ------------------------------------------------------------------------------------------

export interface BatchHeader {
  /** Byte position of the batch in the buffer it was read from. */
  position: number;
  baseOffset: number;
  batchLength: number;
  /** Total size of the batch in bytes: LOG_OVERHEAD + batchLength. */
  byteLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Stored CRC-32C (unsigned). */
  crc: number;
  /** The attributes int16 as stored. */
  attributes: number;
  /** Codec bits 0-2 (a CompressionType, or 5-7 for a corrupt/unknown codec). */
  compression: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  /** Bit 6: baseTimestamp holds the delete horizon set by the log cleaner. */
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  /** baseOffset + lastOffsetDelta. */
  lastOffset: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** A batch accepted by validateBatches: its header, plus a view of its bytes for in-place stamping. */
export interface ValidatedBatch extends BatchHeader {
  /** View (no copy) of this batch's bytes inside the validated buffer. */
  buffer: Buffer;
}

/** Read a signed int64 as a number (exact below 2^53). */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 4294967296 + buf.readUInt32BE(pos + 4);
}

/** Write a safe integer as int64. */
export function writeInt64(buf: Buffer, pos: number, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`int64 value ${v} is not a safe integer`);
  const hi = Math.floor(v / 4294967296);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * 4294967296, pos + 4);
}

function corrupt(message: string): RecordsError {
  return new RecordsError(CORRUPT_MESSAGE, message);
}

function invalid(message: string): RecordsError {
  return new RecordsError(INVALID_RECORD, message);
}

/**
 * Decode the 61-byte header of the v2 batch at `position`. Only the header has to be present (a
 * storage engine may read just the header from disk); nothing is validated beyond the magic.
 * Throws RecordsError(CORRUPT_MESSAGE) when fewer than 61 bytes are available or magic is not 2.
 */
export function readBatchHeader(buf: Buffer, position = 0): BatchHeader {
  if (position < 0 || buf.length - position < BATCH_HEADER_BYTES) {
    throw corrupt(`truncated record batch header at ${position}: ${buf.length - position} bytes available`);
  }
  const magic = buf.readInt8(position + MAGIC_OFFSET);
  if (magic !== CURRENT_MAGIC) throw corrupt(`record batch at ${position} has magic ${magic}, expected 2`);
  const attributes = buf.readInt16BE(position + ATTRIBUTES_OFFSET);
  const baseOffset = readInt64(buf, position);
  const batchLength = buf.readInt32BE(position + BATCH_LENGTH_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(position + LAST_OFFSET_DELTA_OFFSET);
  return {
    position,
    baseOffset,
    batchLength,
    byteLength: LOG_OVERHEAD + batchLength,
    partitionLeaderEpoch: buf.readInt32BE(position + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: buf.readUInt32BE(position + CRC_OFFSET),
    attributes,
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: attributes & TIMESTAMP_TYPE_MASK ? 1 : 0,
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_FLAG_MASK) !== 0,
    lastOffsetDelta,
    lastOffset: baseOffset + lastOffsetDelta,
    baseTimestamp: readInt64(buf, position + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, position + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, position + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(position + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(position + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(position + RECORDS_COUNT_OFFSET),
  };
}

// Cheap single-field readers (header bytes only) ------------------------------------------------

/** Total bytes of the batch at `position` (needs 12 bytes). */
export function batchByteLength(buf: Buffer, position = 0): number {
  return LOG_OVERHEAD + buf.readInt32BE(position + BATCH_LENGTH_OFFSET);
}

export function batchBaseOffset(buf: Buffer, position = 0): number {
  return readInt64(buf, position + BASE_OFFSET_OFFSET);
}

/** baseOffset + lastOffsetDelta of the batch at `position` (needs 27 bytes). */
export function batchLastOffset(buf: Buffer, position = 0): number {
  return readInt64(buf, position + BASE_OFFSET_OFFSET) + buf.readInt32BE(position + LAST_OFFSET_DELTA_OFFSET);
}

export function batchMaxTimestamp(buf: Buffer, position = 0): number {
  return readInt64(buf, position + MAX_TIMESTAMP_OFFSET);
}

// CRC ---------------------------------------------------------------------------------------------

function fullBatchEnd(buf: Buffer, position: number): number {
  if (position < 0 || buf.length - position < BATCH_HEADER_BYTES) {
    throw corrupt(`truncated record batch at ${position}`);
  }
  const end = position + batchByteLength(buf, position);
  if (end > buf.length || end < position + BATCH_HEADER_BYTES) {
    throw corrupt(`record batch at ${position} declares ${end - position} bytes; ${buf.length - position} available`);
  }
  return end;
}

/** CRC-32C over attributes..end of the batch at `position` (the whole batch must be present). */
export function computeBatchCrc(buf: Buffer, position = 0): number {
  const end = fullBatchEnd(buf, position);
  return crc32c(buf.subarray(position + ATTRIBUTES_OFFSET, end)) >>> 0;
}

/** Whether the batch at `position` is complete, at least 61 bytes, and its stored CRC matches. */
export function verifyBatchCrc(buf: Buffer, position = 0): boolean {
  if (position < 0 || buf.length - position < BATCH_HEADER_BYTES) return false;
  const end = position + batchByteLength(buf, position);
  if (end > buf.length || end < position + BATCH_HEADER_BYTES) return false;
  return (crc32c(buf.subarray(position + ATTRIBUTES_OFFSET, end)) >>> 0) === buf.readUInt32BE(position + CRC_OFFSET);
}

/** Recompute and store the CRC of the batch at `position` (after changing bytes 21..end). */
export function updateBatchCrc(buf: Buffer, position = 0): void {
  buf.writeUInt32BE(computeBatchCrc(buf, position), position + CRC_OFFSET);
}

// In-place stamping (leader append) ---------------------------------------------------------------

/** Write the batch's base offset (bytes 0-7, outside the CRC: no CRC update needed). */
export function assignOffsets(batch: Buffer, baseOffset: number, position = 0): void {
  if (batch.length - position < BATCH_HEADER_BYTES) throw corrupt(`truncated record batch at ${position}`);
  if (baseOffset < 0) throw new RangeError(`negative base offset ${baseOffset}`);
  writeInt64(batch, position + BASE_OFFSET_OFFSET, baseOffset);
}

/** Write the partition leader epoch (bytes 12-15, outside the CRC). */
export function setPartitionLeaderEpoch(batch: Buffer, epoch: number, position = 0): void {
  if (batch.length - position < BATCH_HEADER_BYTES) throw corrupt(`truncated record batch at ${position}`);
  batch.writeInt32BE(epoch, position + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Set the timestamp type and maxTimestamp, recomputing the CRC when anything changes (as Kafka's
 * DefaultRecordBatch.setMaxTimestamp). Other attribute bits are kept; bits 7-15 are cleared, as Kafka
 * recomputes the attributes from its known flags.
 */
export function setMaxTimestamp(batch: Buffer, timestampType: TimestampType, maxTimestamp: number, position = 0): void {
  const end = fullBatchEnd(batch, position);
  const attributes = batch.readInt16BE(position + ATTRIBUTES_OFFSET);
  const current = readInt64(batch, position + MAX_TIMESTAMP_OFFSET);
  const currentType = attributes & TIMESTAMP_TYPE_MASK ? 1 : 0;
  if (currentType === timestampType && current === maxTimestamp) return;
  const next = (attributes & 0x77) | (timestampType === TimestampType.logAppendTime ? TIMESTAMP_TYPE_MASK : 0);
  batch.writeInt16BE(next, position + ATTRIBUTES_OFFSET);
  writeInt64(batch, position + MAX_TIMESTAMP_OFFSET, maxTimestamp);
  batch.writeUInt32BE(crc32c(batch.subarray(position + ATTRIBUTES_OFFSET, end)) >>> 0, position + CRC_OFFSET);
}

/**
 * Stamp a batch for a LogAppendTime topic: timestamp type LogAppendTime, maxTimestamp = `nowMs`, CRC
 * recomputed. Readers then take every record's timestamp from maxTimestamp.
 */
export function setLogAppendTime(batch: Buffer, nowMs: number, position = 0): void {
  setMaxTimestamp(batch, TimestampType.logAppendTime, nowMs, position);
}

/**
 * The header, checked right before a batch is handed to storage (after hooks, re-compression and the
 * broker's own stamps): framing, magic, and the offsets it will take. Every batch was validated when
 * it arrived, so a failure here is a broker bug: these are invariants (src/base/assert.ts), not
 * client errors.
 */
export function assertWritableBatch(batch: Buffer, recordCount: number): void {
  invariant(batch.length >= BATCH_HEADER_BYTES, 'a batch to write holds at least its header', batch.length);
  invariant(LOG_OVERHEAD + batch.readInt32BE(BATCH_LENGTH_OFFSET) === batch.length, 'a batch to write is as long as its length field says', batch.readInt32BE(BATCH_LENGTH_OFFSET), batch.length);
  invariant(batch.readInt8(MAGIC_OFFSET) === CURRENT_MAGIC, 'a batch to write has magic 2', batch.readInt8(MAGIC_OFFSET));
  invariant(batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1 === recordCount, 'a batch to write takes lastOffsetDelta + 1 offsets', batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET), recordCount);
}

// Validation (produce path) -----------------------------------------------------------------------

export interface ValidateBatchesOptions {
  /** The topic's max.message.bytes: a batch larger than this is MESSAGE_TOO_LARGE. */
  maxMessageBytes?: number;
  /**
   * The Produce request version. From v3: the records must hold exactly one batch (INVALID_RECORD
   * otherwise); below v7: zstd is UNSUPPORTED_COMPRESSION_TYPE. Leave undefined to skip both checks.
   */
  produceVersion?: number;
  /**
   * Apply the checks Kafka applies to appends from clients (AppendOrigin.CLIENT), default true:
   * baseOffset 0, recordCount >= 1 and equal to lastOffsetDelta + 1, no control batches, a producer
   * id requires a base sequence. With false (replication, stored data), empty batches and gaps left by
   * compaction (lastOffsetDelta >= recordCount - 1) are accepted.
   */
  fromClient?: boolean;
}

/**
 * Validate the `records` bytes of one partition of a Produce request without decoding records.
 * Returns the batches (possibly none, for empty input without produceVersion >= 3). Throws RecordsError
 * whose `errorCode` is Kafka's answer for the partition. The checks and their codes follow Kafka 3.x/4.0
 * (KafkaApis + ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords, LogValidator):
 *
 * - fewer than 17 bytes left, batchLength < 14, or batch extends past the end: CORRUPT_MESSAGE.
 *   (Kafka's batch iterator stops silently at a partial trailing batch; the broker then answers
 *   INVALID_RECORD "must have at least one record batch" if that was the only batch, or trims the
 *   partial bytes and appends the rest. We reject instead of silently dropping data.)
 * - magic outside 0..2: CORRUPT_MESSAGE ("Invalid magic found in record").
 * - magic 0 or 1: INVALID_RECORD. Kafka answers this for Produce v3+ ("only allowed to contain record
 *   batches with magic version 2"); v0-v2 are removed in Kafka 4.0 (KIP-896) and not served here, so
 *   UNSUPPORTED_FOR_MESSAGE_FORMAT (43), which Kafka used for old message formats on old requests, is
 *   not used.
 * - produceVersion >= 3 and zero or several batches: INVALID_RECORD.
 * - batch smaller than the 61-byte header: CORRUPT_MESSAGE.
 * - produceVersion < 7 and zstd: UNSUPPORTED_COMPRESSION_TYPE.
 * - fromClient and baseOffset != 0: INVALID_RECORD.
 * - byteLength > maxMessageBytes: MESSAGE_TOO_LARGE.
 * - CRC-32C mismatch: CORRUPT_MESSAGE.
 * - codec id 5-7: UNSUPPORTED_COMPRESSION_TYPE (Kafka fails with IllegalArgumentException, i.e.
 *   UNKNOWN_SERVER_ERROR; 76 tells the client what is wrong and is not retried).
 * - recordCount < 0, lastOffsetDelta inconsistent with recordCount ("Inconsistent batch offset
 *   range"), recordCount 0 from a client, control batch from a client, producerId >= 0 with
 *   baseSequence < 0 from a client: INVALID_RECORD (Kafka's InvalidRecordException).
 *
 * Records inside the batch are not decoded (Kafka does decode them on the leader to check keys of
 * compacted topics, timestamps and the record structure; use decodeBatch from record.ts for that).
 */
export function validateBatches(records: Buffer, opts: ValidateBatchesOptions = {}): ValidatedBatch[] {
  const starts = frameBatches(records);
  const version = opts.produceVersion;
  if (version !== undefined && version >= 3) {
    if (starts.length === 0) {
      throw invalid(`Produce requests with version ${version} must have at least one record batch per partition`);
    }
    if (starts.length > 1) {
      throw invalid(`Produce requests with version ${version} are only allowed to contain exactly one record batch per partition`);
    }
  }
  const out: ValidatedBatch[] = new Array(starts.length);
  for (let i = 0; i < starts.length; i++) out[i] = validateBatch(records, starts[i]!, opts);
  return out;
}

/** Where each batch starts: the framing (Kafka's ByteBufferLogInputStream.nextBatchSize), then the magic. */
function frameBatches(records: Buffer): number[] {
  const starts: number[] = [];
  const end = records.length;
  let pos = 0;
  while (pos < end) {
    const remaining = end - pos;
    if (remaining < HEADER_BYTES_UP_TO_MAGIC) {
      throw corrupt(`truncated record batch at byte ${pos}: only ${remaining} bytes left`);
    }
    const batchLength = records.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (batchLength < LEGACY_MIN_BATCH_LENGTH) {
      throw corrupt(`record batch at byte ${pos} has invalid length ${batchLength}`);
    }
    const magic = records.readInt8(pos + MAGIC_OFFSET);
    if (magic < 0 || magic > CURRENT_MAGIC) throw corrupt(`invalid magic ${magic} in record batch at byte ${pos}`);
    const size = LOG_OVERHEAD + batchLength;
    if (size > remaining) {
      throw corrupt(`truncated record batch at byte ${pos}: declares ${size} bytes, ${remaining} present`);
    }
    if (magic !== CURRENT_MAGIC) {
      throw invalid(`record batches must use magic 2 (message format v2), got magic ${magic}`);
    }
    starts.push(pos);
    pos += size;
  }
  return starts;
}

/** One framed batch's contents: size, codec, base offset, max.message.bytes, CRC, counts. */
function validateBatch(records: Buffer, start: number, opts: ValidateBatchesOptions): ValidatedBatch {
  const version = opts.produceVersion;
  const fromClient = opts.fromClient ?? true;
  const size = batchByteLength(records, start);
  if (size < BATCH_HEADER_BYTES) {
    throw corrupt(`record batch at byte ${start} is ${size} bytes, smaller than the ${BATCH_HEADER_BYTES}-byte header`);
  }
  const h = readBatchHeader(records, start) as ValidatedBatch;
  if (version !== undefined && version < 7 && h.compression === Compression.zstd) {
    throw new RecordsError(
      UNSUPPORTED_COMPRESSION_TYPE,
      `Produce requests with version ${version} are not allowed to use ZStandard compression`,
    );
  }
  if (fromClient && h.baseOffset !== 0) {
    throw invalid(`the baseOffset of a produced record batch must be 0, but it is ${h.baseOffset}`);
  }
  if (opts.maxMessageBytes !== undefined && size > opts.maxMessageBytes) {
    throw new RecordsError(
      MESSAGE_TOO_LARGE,
      `the record batch is ${size} bytes, which exceeds the maximum configured value of ${opts.maxMessageBytes}`,
    );
  }
  const crc = crc32c(records.subarray(start + ATTRIBUTES_OFFSET, start + size)) >>> 0;
  if (crc !== h.crc) throw corrupt(`record batch at byte ${start} is corrupt (stored crc = ${h.crc}, computed crc = ${crc})`);
  if (!isCompressionType(h.compression)) {
    throw new RecordsError(UNSUPPORTED_COMPRESSION_TYPE, `unknown compression type id ${h.compression}`);
  }
  if (fromClient) checkClientCounts(h);
  else checkStoredCounts(h);
  h.buffer = records.subarray(start, start + size);
  return h;
}

/** Kafka's checks of a batch a client produced (AppendOrigin.CLIENT): offsets, count, control, sequence. */
function checkClientCounts(h: BatchHeader): void {
  const count = h.recordCount;
  if (h.lastOffsetDelta + 1 <= 0) {
    throw invalid(`batch has an invalid offset range: [${h.baseOffset}, ${h.lastOffset}]`);
  }
  if (count <= 0) throw invalid(`invalid reported count for record batch: ${count}`);
  if (h.lastOffsetDelta + 1 !== count) {
    throw invalid(`inconsistent batch offset range [${h.baseOffset}, ${h.lastOffset}] and count of records ${count}`);
  }
  if (h.isControl) throw invalid('clients are not allowed to write control records');
  if (h.producerId >= 0 && h.baseSequence < 0) {
    throw invalid(`invalid sequence number ${h.baseSequence} in record batch with producerId ${h.producerId}`);
  }
}

/** The looser checks of stored data: empty batches and compaction gaps are allowed. */
function checkStoredCounts(h: BatchHeader): void {
  const count = h.recordCount;
  if (count < 0) throw invalid(`found invalid record count ${count} in record batch`);
  if (h.lastOffsetDelta < count - 1) {
    throw invalid(`inconsistent batch offset range [${h.baseOffset}, ${h.lastOffset}] and count of records ${count}`);
  }
}

// Iteration over stored data ----------------------------------------------------------------------

export interface IterateBatchesOptions {
  /**
   * Stop silently at a partial batch at the end of the buffer (fetch responses may end with one) rather
   * than throwing CORRUPT_MESSAGE. Default false.
   */
  allowPartial?: boolean;
  /** Check each batch's CRC and throw CORRUPT_MESSAGE on a mismatch. Default false. */
  verifyCrc?: boolean;
}

/**
 * Yield the header of every batch in `buf` (concatenated v2 batches, e.g. a log segment or a fetch
 * response's records). Throws RecordsError(CORRUPT_MESSAGE) on a malformed or (unless allowPartial)
 * partial batch.
 */
export function* iterateBatches(buf: Buffer, opts: IterateBatchesOptions = {}): Generator<BatchHeader> {
  let pos = 0;
  const end = buf.length;
  while (pos < end) {
    const remaining = end - pos;
    if (remaining < BATCH_HEADER_BYTES) {
      if (opts.allowPartial) return;
      throw corrupt(`truncated record batch at byte ${pos}: only ${remaining} bytes left`);
    }
    const size = batchByteLength(buf, pos);
    if (size < BATCH_HEADER_BYTES) throw corrupt(`record batch at byte ${pos} has invalid size ${size}`);
    if (size > remaining) {
      if (opts.allowPartial) return;
      throw corrupt(`truncated record batch at byte ${pos}: declares ${size} bytes, ${remaining} present`);
    }
    const h = readBatchHeader(buf, pos);
    if (opts.verifyCrc && !verifyBatchCrc(buf, pos)) throw corrupt(`record batch at byte ${pos} fails its CRC check`);
    yield h;
    pos += size;
  }
}

export interface ValidPrefix {
  /** Bytes from the start of the buffer that hold complete, CRC-valid v2 batches. */
  validBytes: number;
  batchCount: number;
  /** baseOffset of the first valid batch, or -1. */
  firstOffset: number;
  /** lastOffset of the last valid batch, or -1. */
  lastOffset: number;
  /** Largest maxTimestamp among the valid batches, or -1. */
  maxTimestamp: number;
  /** Why scanning stopped before the end of the buffer, if it did. */
  error?: string;
}

/**
 * Walk `buf` and report the longest prefix of complete, CRC-valid v2 batches (for log recovery: the
 * rest should be truncated). Never throws for bad data.
 */
export function scanValidBatches(buf: Buffer): ValidPrefix {
  const result: ValidPrefix = { validBytes: 0, batchCount: 0, firstOffset: -1, lastOffset: -1, maxTimestamp: -1 };
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < BATCH_HEADER_BYTES) {
      result.error = `partial batch header at byte ${pos} (${remaining} bytes)`;
      break;
    }
    const size = batchByteLength(buf, pos);
    if (size < BATCH_HEADER_BYTES || size > remaining) {
      result.error = size > remaining ? `partial batch at byte ${pos}` : `invalid batch size ${size} at byte ${pos}`;
      break;
    }
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== CURRENT_MAGIC) {
      result.error = `magic ${magic} at byte ${pos}`;
      break;
    }
    if (!verifyBatchCrc(buf, pos)) {
      result.error = `CRC mismatch in batch at byte ${pos}`;
      break;
    }
    if (result.batchCount === 0) result.firstOffset = batchBaseOffset(buf, pos);
    result.lastOffset = batchLastOffset(buf, pos);
    result.maxTimestamp = Math.max(result.maxTimestamp, batchMaxTimestamp(buf, pos));
    result.batchCount++;
    pos += size;
    result.validBytes = pos;
  }
  return result;
}
