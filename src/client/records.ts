/**
 * The consumer's record decoder: one pass from a (decompressed) v2 batch body straight to the
 * messages handed to the application, skipping records before the fetch position. It reads the same
 * layout as src/protocol/records/record.ts (the reference decoder, which the tests compare against)
 * but allocates only what the application gets: one object per message, views of key and value, and
 * a shared empty array for records without headers.
 */
import type { BatchHeader } from '../protocol/records/batch.js';
import type { RecordHeader } from '../protocol/records/record.js';
import { RecordsError } from '../protocol/records/errors.js';

export interface ConsumerMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  timestamp: number;
}

const INVALID_RECORD = 87;

function fail(what: string, pos: number): never {
  throw new RecordsError(INVALID_RECORD, `invalid record structure: ${what} at byte ${pos}`);
}

/**
 * Append the records of one batch with offset ≥ `minOffset` to `out`. Returns the bytes of keys and
 * values added (for prefetch accounting). Throws RecordsError(INVALID_RECORD) on malformed records.
 */
export function decodeMessages(topic: string, partition: number, h: BatchHeader, data: Buffer, minOffset: number, out: ConsumerMessage[]): number {
  const count = h.recordCount;
  if (count < 0 || count * 7 > data.length) fail(`record count ${count}`, 0);
  const logAppendTime = h.timestampType === 1;
  const end = data.length;
  let pos = 0;
  let bytes = 0;
  // Zig-zag varint at `pos` (32 bits).
  const varint = (): number => {
    let u = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end) fail('premature end of records', pos);
      const b = data[pos++]!;
      if (shift === 28) {
        if (b > 0x0f) fail('varint longer than 32 bits', pos);
        u |= b << 28;
        break;
      }
      u |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    return (u >>> 1) ^ -(u & 1);
  };
  // Zig-zag varlong (timestamp deltas): exact up to 2^53.
  const varlong = (): number => {
    let u = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) fail('premature end of records', pos);
      const b = data[pos++]!;
      u += (b & 0x7f) * mul;
      if (b < 0x80) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      mul *= 128;
    }
    return fail('varlong longer than 10 bytes', pos);
  };
  const bytesField = (): Buffer | null => {
    const n = varint();
    if (n < 0) return null;
    if (n > end - pos) fail(`length ${n} overruns the records`, pos);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  for (let i = 0; i < count; i++) {
    const length = varint();
    if (length < 0 || length > end - pos) fail(`record length ${length}`, pos);
    const recordEnd = pos + length;
    pos++; // attributes
    const timestampDelta = varlong();
    const offset = h.baseOffset + varint();
    if (offset < minOffset) {
      pos = recordEnd;
      continue;
    }
    const key = bytesField();
    const value = bytesField();
    const headerCount = varint();
    let headers: RecordHeader[];
    if (headerCount === 0) headers = [];
    else {
      if (headerCount < 0 || headerCount * 2 > recordEnd - pos) fail(`${headerCount} record headers`, pos);
      headers = new Array(headerCount);
      for (let j = 0; j < headerCount; j++) {
        const kl = varint();
        if (kl < 0 || kl > recordEnd - pos) fail(`header key length ${kl}`, pos);
        const hk = data.toString('utf8', pos, pos + kl);
        pos += kl;
        headers[j] = { key: hk, value: bytesField() };
      }
    }
    if (pos !== recordEnd) fail(`record declared ${length} bytes`, pos);
    bytes += (key?.length ?? 0) + (value?.length ?? 0);
    out.push({ topic, partition, offset, key, value, headers, timestamp: logAppendTime ? h.maxTimestamp : h.baseTimestamp + timestampDelta });
  }
  if (pos !== end) throw new RecordsError(INVALID_RECORD, 'incorrect declared batch size, records still remaining');
  return bytes;
}
