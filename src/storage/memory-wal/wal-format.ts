/**
 * The on-disk format shared by the `memory` engine's write-ahead log and its snapshots: a file is a
 * sequence of checksummed, length-prefixed entries ("frames"), the first of which is a header.
 *
 *   frame   = payloadLength uint32 | crc uint32 (CRC-32C of the payload) | payload
 *   payload = type uint8 | fields (big-endian; strings and byte strings are length-prefixed)
 *
 * A WAL file holds the mutations in the order the engine applied them in memory. A snapshot holds
 * the whole state as the entries that rebuild it (topics, each partition's start, its batches,
 * committed offsets, group metadata) and ends with an `end` entry: a snapshot without it is
 * incomplete. Replaying a file stops at the first frame that is cut short or fails its checksum;
 * nothing after it is applied (see WalReader).
 *
 * Who calls: wal-writer.ts / snapshot.ts write frames, wal-engine.ts encodes and replays entries.
 */
import type { FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import type { GroupOffsetEntry, TopicRecord } from '../engine.js';
import { readInt64, writeInt64 } from '../../protocol/records/batch.js';

export const FRAME_HEADER_BYTES = 8;
/**
 * Largest payload a frame may declare. A length above it can only be garbage (a torn or overwritten
 * length field), so the reader treats it as the end of the valid data instead of allocating it.
 * Record batches are at most message.max.bytes (an int32), so 2^31 bytes plus fields is the bound.
 */
export const MAX_PAYLOAD_BYTES = 2 ** 31 + 64 * 1024;
/** Version of the file format, recorded in every header entry. */
export const FORMAT_VERSION = 1;

export type FileKind = 'wal' | 'snapshot';

export type WalEntry =
  | { type: 'header'; fileKind: FileKind; version: number; seq: number }
  | { type: 'clusterId'; clusterId: string }
  | { type: 'nextProducerId'; next: number }
  | { type: 'createTopic'; topic: TopicRecord }
  | { type: 'updateTopic'; topic: TopicRecord }
  | { type: 'deleteTopic'; name: string }
  | { type: 'append'; topic: string; partition: number; baseOffset: number; recordCount: number; maxTimestamp: number; bytes: Buffer }
  /** The log start offset moved (DeleteRecords or retention); whole batches below it are dropped. */
  | { type: 'truncate'; topic: string; partition: number; offset: number }
  | { type: 'commitOffsets'; groupId: string; entries: GroupOffsetEntry[] }
  | { type: 'deleteGroupOffsets'; groupId: string }
  | { type: 'groupMetadata'; groupId: string; value: Buffer | null }
  /** A producer-state snapshot of a partition taken at `offset` (opaque bytes; StorageEngine). */
  | { type: 'producerSnapshot'; topic: string; partition: number; offset: number; data: Buffer }
  /** A transactional id's coordinator state (opaque), or its removal. */
  | { type: 'txnState'; transactionalId: string; value: Buffer | null }
  /** A user's SCRAM credentials (opaque), or their removal. */
  | { type: 'scramUser'; user: string; value: Buffer | null }
  /** An ACL binding (opaque) under its key, or its removal. */
  | { type: 'aclBinding'; key: string; value: Buffer | null }
  /** A group's config overrides (opaque), or their removal. */
  | { type: 'groupConfig'; groupId: string; value: Buffer | null }
  /** A client quota entity's quotas (opaque), or their removal. */
  | { type: 'clientQuotas'; entity: string; value: Buffer | null }
  /** Snapshots only: an empty partition's log start and the offset its first stored batch has. */
  | { type: 'partitionState'; topic: string; partition: number; logStartOffset: number; nextOffset: number }
  /** Snapshots only: the last entry, with the number of entries before it (header included). */
  | { type: 'end'; entries: number };

const TYPE_CODES = {
  header: 1,
  clusterId: 2,
  nextProducerId: 3,
  createTopic: 4,
  updateTopic: 5,
  deleteTopic: 6,
  append: 7,
  truncate: 8,
  commitOffsets: 9,
  deleteGroupOffsets: 10,
  groupMetadata: 11,
  partitionState: 12,
  end: 13,
  producerSnapshot: 14,
  txnState: 15,
  scramUser: 16,
  aclBinding: 17,
  groupConfig: 18,
  clientQuotas: 19,
} as const satisfies Record<WalEntry['type'], number>;

const TYPE_BY_CODE = new Map<number, WalEntry['type']>(Object.entries(TYPE_CODES).map(([k, v]) => [v, k as WalEntry['type']]));

/** Thrown when a frame passed its checksum but its payload does not decode: a bug, never a torn write. */
export class WalFormatError extends Error {
  override readonly name = 'WalFormatError';
}

// ---- encoding ------------------------------------------------------------------------------------

/** Builds the fixed fields of a payload; large byte strings are kept as separate chunks (no copy). */
class PayloadWriter {
  private readonly parts: Buffer[] = [];
  private scratch = Buffer.allocUnsafe(256);
  private used = 0;

  private room(n: number): void {
    if (this.used + n <= this.scratch.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.used + n));
    this.scratch.copy(next, 0, 0, this.used);
    this.scratch = next;
  }

  u8(v: number): this {
    this.room(1);
    this.scratch.writeUInt8(v, this.used);
    this.used += 1;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.scratch.writeUInt32BE(v, this.used);
    this.used += 4;
    return this;
  }

  i64(v: number): this {
    this.room(8);
    writeInt64(this.scratch, this.used, v);
    this.used += 8;
    return this;
  }

  str(s: string): this {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.room(n);
    this.scratch.write(s, this.used, 'utf8');
    this.used += n;
    return this;
  }

  /** A trailing byte string that runs to the end of the payload, appended without copying. */
  tail(bytes: Buffer): this {
    this.flushScratch();
    this.parts.push(bytes);
    return this;
  }

  private flushScratch(): void {
    if (this.used === 0) return;
    this.parts.push(this.scratch.subarray(0, this.used));
    this.scratch = Buffer.allocUnsafe(256);
    this.used = 0;
  }

  finish(): Buffer[] {
    this.flushScratch();
    return this.parts;
  }
}

function writePayload(e: WalEntry): Buffer[] {
  const w = new PayloadWriter().u8(TYPE_CODES[e.type]);
  switch (e.type) {
    case 'header':
      return w.u8(e.fileKind === 'wal' ? 0 : 1).u32(e.version).i64(e.seq).finish();
    case 'clusterId':
      return w.str(e.clusterId).finish();
    case 'nextProducerId':
      return w.i64(e.next).finish();
    case 'createTopic':
    case 'updateTopic':
      return w.str(JSON.stringify(e.topic)).finish();
    case 'deleteTopic':
      return w.str(e.name).finish();
    case 'append':
      return w.str(e.topic).u32(e.partition).i64(e.baseOffset).u32(e.recordCount).i64(e.maxTimestamp).tail(e.bytes).finish();
    case 'truncate':
      return w.str(e.topic).u32(e.partition).i64(e.offset).finish();
    case 'commitOffsets':
      return w.str(e.groupId).str(JSON.stringify(e.entries)).finish();
    case 'deleteGroupOffsets':
      return w.str(e.groupId).finish();
    case 'groupMetadata':
      w.str(e.groupId).u8(e.value === null ? 0 : 1);
      return (e.value === null ? w : w.tail(e.value)).finish();
    case 'txnState':
      w.str(e.transactionalId).u8(e.value === null ? 0 : 1);
      return (e.value === null ? w : w.tail(e.value)).finish();
    case 'scramUser':
      w.str(e.user).u8(e.value === null ? 0 : 1);
      return (e.value === null ? w : w.tail(e.value)).finish();
    case 'aclBinding':
      w.str(e.key).u8(e.value === null ? 0 : 1);
      return (e.value === null ? w : w.tail(e.value)).finish();
    case 'groupConfig':
      w.str(e.groupId).u8(e.value === null ? 0 : 1);
      return (e.value === null ? w : w.tail(e.value)).finish();
    case 'clientQuotas':
      w.str(e.entity).u8(e.value === null ? 0 : 1);
      return (e.value === null ? w : w.tail(e.value)).finish();
    case 'partitionState':
      return w.str(e.topic).u32(e.partition).i64(e.logStartOffset).i64(e.nextOffset).finish();
    case 'end':
      return w.i64(e.entries).finish();
    case 'producerSnapshot':
      return w.str(e.topic).u32(e.partition).i64(e.offset).tail(e.data).finish();
  }
}

/**
 * Encode one entry as a frame: a list of buffers to write in order (a batch's bytes are one of them,
 * not copied) and their total length. The CRC is computed over the payload chunks in turn.
 */
export function encodeFrame(e: WalEntry): { chunks: Buffer[]; bytes: number } {
  const payload = writePayload(e);
  let length = 0;
  let crc = 0;
  for (const p of payload) {
    length += p.length;
    crc = crc32c(p, crc);
  }
  if (length > MAX_PAYLOAD_BYTES) throw new RangeError(`WAL entry of ${length} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit`);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(crc, 4);
  return { chunks: [header, ...payload], bytes: FRAME_HEADER_BYTES + length };
}

// ---- decoding ------------------------------------------------------------------------------------

/** Reads the fields of one payload; any overrun is a WalFormatError (the CRC already matched). */
class PayloadReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new WalFormatError(`entry payload ends ${this.pos + n - this.buf.length} bytes early`);
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i64(): number {
    this.need(8);
    const v = readInt64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  json<T>(): T {
    try {
      return JSON.parse(this.str()) as T;
    } catch (err) {
      if (err instanceof WalFormatError) throw err;
      throw new WalFormatError(`entry holds malformed JSON: ${(err as Error).message}`);
    }
  }

  tail(): Buffer {
    const b = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return b;
  }

  done(): void {
    if (this.pos !== this.buf.length) throw new WalFormatError(`entry payload has ${this.buf.length - this.pos} unread bytes`);
  }
}

/** Decode a payload whose CRC matched. Byte fields are views of `payload` (copy to keep them). */
export function decodePayload(payload: Buffer): WalEntry {
  const r = new PayloadReader(payload);
  const code = r.u8();
  const type = TYPE_BY_CODE.get(code);
  if (type === undefined) throw new WalFormatError(`unknown entry type ${code}`);
  let e: WalEntry;
  switch (type) {
    case 'header': {
      const kind = r.u8();
      if (kind > 1) throw new WalFormatError(`unknown file kind ${kind}`);
      e = { type, fileKind: kind === 0 ? 'wal' : 'snapshot', version: r.u32(), seq: r.i64() };
      break;
    }
    case 'clusterId':
      e = { type, clusterId: r.str() };
      break;
    case 'nextProducerId':
      e = { type, next: r.i64() };
      break;
    case 'createTopic':
    case 'updateTopic':
      e = { type, topic: r.json<TopicRecord>() };
      break;
    case 'deleteTopic':
      e = { type, name: r.str() };
      break;
    case 'append':
      e = { type, topic: r.str(), partition: r.u32(), baseOffset: r.i64(), recordCount: r.u32(), maxTimestamp: r.i64(), bytes: r.tail() };
      break;
    case 'truncate':
      e = { type, topic: r.str(), partition: r.u32(), offset: r.i64() };
      break;
    case 'commitOffsets':
      e = { type, groupId: r.str(), entries: r.json<GroupOffsetEntry[]>() };
      break;
    case 'deleteGroupOffsets':
      e = { type, groupId: r.str() };
      break;
    case 'groupMetadata': {
      const groupId = r.str();
      e = { type, groupId, value: r.u8() === 0 ? null : r.tail() };
      break;
    }
    case 'txnState': {
      const transactionalId = r.str();
      e = { type, transactionalId, value: r.u8() === 0 ? null : r.tail() };
      break;
    }
    case 'scramUser': {
      const user = r.str();
      e = { type, user, value: r.u8() === 0 ? null : r.tail() };
      break;
    }
    case 'aclBinding': {
      const key = r.str();
      e = { type, key, value: r.u8() === 0 ? null : r.tail() };
      break;
    }

    case 'groupConfig': {
      const groupId = r.str();
      e = { type, groupId, value: r.u8() === 0 ? null : r.tail() };
      break;
    }

    case 'clientQuotas': {
      const entity = r.str();
      e = { type, entity, value: r.u8() === 0 ? null : r.tail() };
      break;
    }
    case 'partitionState':
      e = { type, topic: r.str(), partition: r.u32(), logStartOffset: r.i64(), nextOffset: r.i64() };
      break;
    case 'end':
      e = { type, entries: r.i64() };
      break;
    case 'producerSnapshot':
      e = { type, topic: r.str(), partition: r.u32(), offset: r.i64(), data: r.tail() };
      break;
  }
  r.done();
  return e;
}

/** Why a file's valid content ended where it did. */
export type ReadEnd =
  /** Every byte of the file belongs to a whole, valid frame. */
  | 'clean'
  /** The file ends inside a frame (a write cut short by a crash). */
  | 'torn'
  /** A complete frame failed its checksum, or declared an impossible length. */
  | 'corrupt';

/**
 * Reads the frames of one file sequentially without loading it whole (a WAL may be larger than a
 * Buffer can be). `next()` returns each valid frame's payload, or null at the end of the valid data;
 * `validEnd` is then the byte position up to which the file is sound and `end` says why it stopped.
 */
export class WalReader {
  private buf: Buffer = Buffer.alloc(0);
  /** File position of buf[0]. */
  private bufStart = 0;
  private filePos = 0;
  private eof = false;
  validEnd = 0;
  end: ReadEnd = 'clean';

  /** `fileSize`: the file's length when reading starts (a frame claiming more is torn, not allocated). */
  constructor(
    private readonly fh: FileHandle,
    private readonly fileSize: number,
    private readonly chunkBytes = 4 << 20,
  ) {}

  /** Ensure `n` bytes from file position `at` are buffered; false if the file is shorter. */
  private async fill(at: number, n: number): Promise<boolean> {
    while (at + n > this.bufStart + this.buf.length) {
      if (this.eof) return false;
      const keepFrom = at - this.bufStart;
      const kept = this.buf.subarray(keepFrom);
      const want = Math.max(this.chunkBytes, n - kept.length);
      const next = Buffer.allocUnsafe(kept.length + want);
      kept.copy(next, 0);
      const { bytesRead } = await this.fh.read(next, kept.length, want, this.filePos);
      this.filePos += bytesRead;
      if (bytesRead < want) this.eof = true;
      this.buf = next.subarray(0, kept.length + bytesRead);
      this.bufStart = at;
    }
    return true;
  }

  async next(): Promise<Buffer | null> {
    const at = this.validEnd;
    if (!(await this.fill(at, FRAME_HEADER_BYTES))) {
      this.end = at === this.bufStart + this.buf.length ? 'clean' : 'torn';
      return null;
    }
    const h = at - this.bufStart;
    const length = this.buf.readUInt32BE(h);
    const crc = this.buf.readUInt32BE(h + 4);
    // A zero length is never written (every payload has a type byte); all-zero bytes are what a
    // file system may show for a block that was allocated but whose data never reached the disk.
    if (length === 0 || length > MAX_PAYLOAD_BYTES) {
      this.end = 'corrupt';
      return null;
    }
    if (at + FRAME_HEADER_BYTES + length > this.fileSize || !(await this.fill(at, FRAME_HEADER_BYTES + length))) {
      this.end = 'torn';
      return null;
    }
    const start = at - this.bufStart + FRAME_HEADER_BYTES;
    const payload = this.buf.subarray(start, start + length);
    if (crc32c(payload) !== crc) {
      this.end = 'corrupt';
      return null;
    }
    this.validEnd = at + FRAME_HEADER_BYTES + length;
    return payload;
  }
}
