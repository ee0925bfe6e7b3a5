/**
 * Key layout of the rocksdb engine. One key space, split by a one-byte prefix, ordered so that each
 * partition's batches are one contiguous, offset-ordered range (retention and DeleteRecords remove
 * a prefix of it with one range delete):
 *
 *   'M' name                                  broker metadata: cluster id, next producer id,
 *                                             next topic number, the sync marker
 *   'T' topicName                             topic record (JSON) with its topic number
 *   'P' topicNum u32 | partition u32          partition state: log start offset (int64)
 *   'D' topicNum u32 | partition u32 | base   a stored batch, base offset as big-endian uint64
 *   'I' topicNum u32 | partition u32 | base   the batch's index entry: last offset, max timestamp, size
 *   'S' topicNum u32 | partition u32 | offset a producer-state snapshot taken at `offset` (opaque bytes)
 *   'X' topicNum u32                          a deleted topic whose data ranges are still to be removed
 *   'O' len u16 group | len u16 topic | partition u32    a committed offset (JSON)
 *   'G' group                                 a group's metadata value (opaque bytes)
 *   'N' transactionalId                       a transactional id's coordinator state (opaque bytes)
 *
 * Data is keyed by a topic *number* allocated at creation, not by name, so a topic deleted and
 * created again under the same name never sees a leftover of the old one, and keys have a fixed
 * size. The 'I' entries are what `open` reads to rebuild the in-memory index (small values), so
 * start-up never reads the batches themselves; they are written in the same atomic write batch as
 * their 'D' entry, so the two never disagree.
 */
import { readInt64, writeInt64 } from '../../protocol/records/batch.js';

export const Prefix = {
  meta: 0x4d, // M
  topic: 0x54, // T
  partition: 0x50, // P
  data: 0x44, // D
  index: 0x49, // I
  producerSnapshot: 0x53, // S
  pendingDelete: 0x58, // X
  offsets: 0x4f, // O
  group: 0x47, // G
  txnState: 0x4e, // N
  scramUser: 0x55, // U
  aclBinding: 0x41, // A
  groupConfig: 0x43, // C
  clientQuotas: 0x51, // Q
} as const;

export const MetaKey = {
  clusterId: metaKey('cluster.id'),
  nextProducerId: metaKey('next.producer.id'),
  nextTopicNum: metaKey('next.topic.number'),
  /** Written with sync=true to make RocksDB fsync its WAL (and so every write before it). */
  sync: metaKey('sync'),
} as const;

function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.meta]), Buffer.from(name, 'utf8')]);
}

/** The range [gte, lt) of every key with a one-byte prefix. */
export function prefixRange(prefix: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) };
}

export function topicKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.topic]), Buffer.from(name, 'utf8')]);
}

export function topicNameOf(key: Buffer): string {
  return key.toString('utf8', 1);
}

export function partitionStateKey(topicNum: number, partition: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = Prefix.partition;
  k.writeUInt32BE(topicNum, 1);
  k.writeUInt32BE(partition, 5);
  return k;
}

/** Prefixes of the keys laid out as topic number | partition | offset. */
export type OffsetKeyPrefix = typeof Prefix.data | typeof Prefix.index | typeof Prefix.producerSnapshot;

/** A 'D', 'I' or 'S' key: prefix | topic number | partition | (base) offset. */
export function batchKey(prefix: OffsetKeyPrefix, topicNum: number, partition: number, baseOffset: number): Buffer {
  const k = Buffer.allocUnsafe(17);
  k[0] = prefix;
  k.writeUInt32BE(topicNum, 1);
  k.writeUInt32BE(partition, 5);
  writeInt64(k, 9, baseOffset);
  return k;
}

export function parseBatchKey(key: Buffer): { topicNum: number; partition: number; baseOffset: number } {
  return { topicNum: key.readUInt32BE(1), partition: key.readUInt32BE(5), baseOffset: readInt64(key, 9) };
}

/** Parses a 'P' key. */
export function parsePartitionStateKey(key: Buffer): { topicNum: number; partition: number } {
  return { topicNum: key.readUInt32BE(1), partition: key.readUInt32BE(5) };
}

/** Every 'D' (or 'I', 'S') key of one partition below `endOffset`. */
export function batchRangeBelow(prefix: OffsetKeyPrefix, topicNum: number, partition: number, endOffset: number) {
  return { gte: batchKey(prefix, topicNum, partition, 0), lt: batchKey(prefix, topicNum, partition, endOffset) };
}

/** Every 'D' (or 'I', 'S') key of one topic number. */
export function topicDataRange(prefix: OffsetKeyPrefix, topicNum: number): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.alloc(5);
  gte[0] = prefix;
  gte.writeUInt32BE(topicNum, 1);
  const lt = Buffer.alloc(5);
  // topicNum + 1 never overflows into the prefix byte: numbers stay below 2^32 - 1 (checked at creation).
  lt[0] = prefix;
  lt.writeUInt32BE(topicNum + 1, 1);
  return { gte, lt };
}

export function pendingDeleteKey(topicNum: number): Buffer {
  const k = Buffer.allocUnsafe(5);
  k[0] = Prefix.pendingDelete;
  k.writeUInt32BE(topicNum, 1);
  return k;
}

export const MAX_TOPIC_NUMBER = 0xfffffffe;

function shortString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) throw new RangeError(`name of ${b.length} bytes is too long for a key`);
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

export function offsetsKey(groupId: string, topic: string, partition: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(partition, 0);
  return Buffer.concat([Buffer.from([Prefix.offsets]), shortString(groupId), shortString(topic), p]);
}

export function parseOffsetsKey(key: Buffer): { groupId: string; topic: string; partition: number } {
  let pos = 1;
  const gl = key.readUInt16BE(pos);
  const groupId = key.toString('utf8', pos + 2, pos + 2 + gl);
  pos += 2 + gl;
  const tl = key.readUInt16BE(pos);
  const topic = key.toString('utf8', pos + 2, pos + 2 + tl);
  pos += 2 + tl;
  return { groupId, topic, partition: key.readUInt32BE(pos) };
}

export function groupKey(groupId: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.group]), Buffer.from(groupId, 'utf8')]);
}

export function groupIdOf(key: Buffer): string {
  return key.toString('utf8', 1);
}

export function int64Value(v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeInt64(b, 0, v);
  return b;
}

export function readInt64Value(b: Buffer): number {
  return readInt64(b, 0);
}

/** An 'I' value: last offset, max timestamp, stored size. */
export function indexValue(lastOffset: number, maxTimestamp: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(20);
  writeInt64(b, 0, lastOffset);
  writeInt64(b, 8, maxTimestamp);
  b.writeUInt32BE(size, 16);
  return b;
}

export function parseIndexValue(b: Buffer): { lastOffset: number; maxTimestamp: number; size: number } {
  return { lastOffset: readInt64(b, 0), maxTimestamp: readInt64(b, 8), size: b.readUInt32BE(16) };
}

export function txnStateKey(transactionalId: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.txnState]), Buffer.from(transactionalId, 'utf8')]);
}

export function transactionalIdOf(key: Buffer): string {
  return key.toString('utf8', 1);
}

export function scramUserKey(user: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.scramUser]), Buffer.from(user, 'utf8')]);
}

export function scramUserOf(key: Buffer): string {
  return key.toString('utf8', 1);
}

export function aclBindingKey(id: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.aclBinding]), Buffer.from(id, 'utf8')]);
}

export function aclBindingOf(key: Buffer): string {
  return key.toString('utf8', 1);
}

export function groupConfigKey(groupId: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.groupConfig]), Buffer.from(groupId, 'utf8')]);
}

export function groupConfigOf(key: Buffer): string {
  return key.toString('utf8', 1);
}

export function clientQuotasKey(entity: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.clientQuotas]), Buffer.from(entity, 'utf8')]);
}

export function clientQuotasEntityOf(key: Buffer): string {
  return key.toString('utf8', 1);
}
