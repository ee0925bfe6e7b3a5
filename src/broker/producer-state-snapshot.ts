/**
 * The bytes of a producer-state snapshot: one partition's idempotent-producer entries as they were at
 * an offset N (every batch below N reflected). The idea is Kafka's `<offset>.snapshot` file (a
 * versioned header, a CRC over the rest, one fixed-size record per producer); the layout is Rafka's
 * own, and it keeps the last DUPLICATE_WINDOW_BATCHES batches of each producer (Kafka's snapshot
 * keeps only the last one), so duplicate detection after a restart is as exact as before it.
 *
 *   version int16 (2) | crc uint32 (CRC-32C of every byte after it) | offset int64 | count int32
 *   count × producer:
 *     producerId int64 | epoch int16 | lastTimestamp int64
 *     coordinatorEpoch int32 | currentTxnFirstOffset int64    (-1: none)
 *     batchCount int8 | batchCount × (firstSeq int32 | lastSeq int32 | baseOffset int64 | lastOffsetDelta int32)
 *   abortedCount int32 | abortedCount × (producerId int64 | firstOffset int64 | lastOffset int64)   (version 2)
 *
 * Version 2 (transactions) fills the two transaction fields, allows a producer with no batches (one
 * known here only by a marker) and adds the partition's aborted-transactions index at the end, in
 * marker order: with the control batches replayed after the snapshot, that makes the index exact
 * after a restart without a file of its own (docs/transactions.md says why). Version 1 (written
 * before transactions; its transaction fields are always -1 and it has no index) is still read, as
 * a snapshot with no aborted transactions. A reader refuses versions it does not know.
 * A snapshot is derived data: one that fails its checksum or does not decode is ignored and an older
 * one (or the log itself) is used instead (producer-state-snapshots.ts).
 *
 * Callers: producer-state-snapshots.ts (encode when snapshotting, decode at start-up).
 */
import { crc32c } from '../protocol/records/crc32c.js';
import { readInt64, writeInt64 } from '../protocol/records/batch.js';
import { DUPLICATE_WINDOW_BATCHES, type AbortedTxn, type CachedBatch, type ProducerEntry } from './producer-state.js';

export const SNAPSHOT_VERSION = 2;
const HEADER_BYTES = 2 + 4 + 8 + 4;
const PRODUCER_BYTES = 8 + 2 + 8 + 4 + 8 + 1;
const BATCH_BYTES = 4 + 4 + 8 + 4;
const ABORTED_BYTES = 8 + 8 + 8;

/** What a snapshot holds: the partition's producers and its aborted transactions. */
export interface ProducerSnapshot {
  entries: ProducerEntry[];
  aborted: AbortedTxn[];
}
const CRC_START = 6;

/** A snapshot that cannot be used: torn, corrupt, of an unknown version, or not the one asked for. */
export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

export function encodeProducerSnapshot(offset: number, entries: readonly ProducerEntry[], aborted: readonly AbortedTxn[] = []): Buffer {
  let size = HEADER_BYTES + 4 + aborted.length * ABORTED_BYTES;
  for (const e of entries) size += PRODUCER_BYTES + e.batches.length * BATCH_BYTES;
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  writeInt64(buf, 6, offset);
  buf.writeInt32BE(entries.length, 14);
  let pos = HEADER_BYTES;
  for (const e of entries) {
    writeInt64(buf, pos, e.producerId);
    buf.writeInt16BE(e.epoch, pos + 8);
    writeInt64(buf, pos + 10, e.lastTimestamp);
    buf.writeInt32BE(e.coordinatorEpoch, pos + 18);
    writeInt64(buf, pos + 22, e.currentTxnFirstOffset);
    buf.writeInt8(e.batches.length, pos + 30);
    pos += PRODUCER_BYTES;
    for (const b of e.batches) {
      buf.writeInt32BE(b.firstSeq, pos);
      buf.writeInt32BE(b.lastSeq, pos + 4);
      writeInt64(buf, pos + 8, b.baseOffset);
      buf.writeInt32BE(b.lastOffsetDelta, pos + 16);
      pos += BATCH_BYTES;
    }
  }
  buf.writeInt32BE(aborted.length, pos);
  pos += 4;
  for (const a of aborted) {
    writeInt64(buf, pos, a.producerId);
    writeInt64(buf, pos + 8, a.firstOffset);
    writeInt64(buf, pos + 16, a.lastOffset);
    pos += ABORTED_BYTES;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(CRC_START)) >>> 0, 2);
  return buf;
}

/**
 * Decode a snapshot stored for `offset`. Checks the checksum before reading anything else, and every
 * count against the bytes left before allocating for it.
 */
export function decodeProducerSnapshot(buf: Buffer, offset: number): ProducerSnapshot {
  if (buf.length < HEADER_BYTES) throw new SnapshotFormatError(`${buf.length} bytes, shorter than the header`);
  const version = buf.readInt16BE(0);
  if (version !== 1 && version !== SNAPSHOT_VERSION) throw new SnapshotFormatError(`version ${version}; this broker reads versions 1 to ${SNAPSHOT_VERSION}`);
  if ((crc32c(buf.subarray(CRC_START)) >>> 0) !== buf.readUInt32BE(2)) throw new SnapshotFormatError('checksum mismatch (torn or corrupt)');
  const at = readInt64(buf, 6);
  if (at !== offset) throw new SnapshotFormatError(`taken at offset ${at}, stored as ${offset}`);
  const count = buf.readInt32BE(14);
  if (count < 0 || count > (buf.length - HEADER_BYTES) / PRODUCER_BYTES) throw new SnapshotFormatError(`${count} producers do not fit in ${buf.length} bytes`);
  const entries: ProducerEntry[] = [];
  let pos = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + PRODUCER_BYTES > buf.length) throw new SnapshotFormatError('ends inside a producer');
    const batchCount = buf.readInt8(pos + 30);
    if (batchCount < (version === 1 ? 1 : 0) || batchCount > DUPLICATE_WINDOW_BATCHES) throw new SnapshotFormatError(`a producer with ${batchCount} batches`);
    const entry: ProducerEntry = {
      producerId: readInt64(buf, pos),
      epoch: buf.readInt16BE(pos + 8),
      lastTimestamp: readInt64(buf, pos + 10),
      coordinatorEpoch: buf.readInt32BE(pos + 18),
      currentTxnFirstOffset: readInt64(buf, pos + 22),
      batches: [],
    };
    pos += PRODUCER_BYTES;
    if (pos + batchCount * BATCH_BYTES > buf.length) throw new SnapshotFormatError('ends inside a batch');
    for (let j = 0; j < batchCount; j++) {
      const b: CachedBatch = { firstSeq: buf.readInt32BE(pos), lastSeq: buf.readInt32BE(pos + 4), baseOffset: readInt64(buf, pos + 8), lastOffsetDelta: buf.readInt32BE(pos + 16) };
      entry.batches.push(b);
      pos += BATCH_BYTES;
    }
    entries.push(entry);
  }
  const aborted: AbortedTxn[] = [];
  if (version >= 2) {
    if (pos + 4 > buf.length) throw new SnapshotFormatError('ends before the aborted transactions');
    const abortedCount = buf.readInt32BE(pos);
    pos += 4;
    if (abortedCount < 0 || abortedCount > (buf.length - pos) / ABORTED_BYTES) throw new SnapshotFormatError(`${abortedCount} aborted transactions do not fit`);
    for (let i = 0; i < abortedCount; i++) {
      aborted.push({ producerId: readInt64(buf, pos), firstOffset: readInt64(buf, pos + 8), lastOffset: readInt64(buf, pos + 16) });
      pos += ABORTED_BYTES;
    }
  }
  if (pos !== buf.length) throw new SnapshotFormatError(`${buf.length - pos} bytes after the last ${version >= 2 ? 'aborted transaction' : 'producer'}`);
  return { entries, aborted };
}
