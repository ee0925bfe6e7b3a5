/**
 * Writes Kafka's primitive types into a list of buffers. Small values go into a growing scratch
 * chunk; large byte fields (record batches) are appended by reference, so a fetch response that
 * carries megabytes of stored batches never copies them (the socket writes the list with writev).
 */
import { EncodeError, EncodeLimitError } from './errors.js';
import { uuidToBytes } from './uuid.js';

const CHUNK_BYTES = 8192;
/** Byte fields at least this long are referenced instead of copied. */
const REFERENCE_MIN_BYTES = 512;

export class Writer {
  private readonly chunks: Buffer[] = [];
  private flushed = 0;
  private cur: Buffer;
  private start = 0;
  private pos = 0;
  /** See limitBytes. Checked only when a chunk is added, so the hot path pays nothing. */
  private maxBytes = Infinity;

  constructor(initialBytes = 256) {
    this.cur = Buffer.allocUnsafe(initialBytes);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.flushed + (this.pos - this.start);
  }

  /**
   * Refuse to grow past about `max` bytes: the write that would need a new chunk beyond it throws
   * EncodeLimitError, so a response too large to send is never built in full (at most `max` plus
   * one chunk is allocated).
   */
  limitBytes(max: number): this {
    this.maxBytes = max;
    return this;
  }

  private checkLimit(adding: number): void {
    if (this.length + adding > this.maxBytes) {
      throw new EncodeLimitError(`message is larger than its limit of ${this.maxBytes} bytes`);
    }
  }

  private ensure(n: number): void {
    if (this.cur.length - this.pos >= n) return;
    this.checkLimit(n);
    this.flushCurrent();
    this.cur = Buffer.allocUnsafe(Math.max(n, CHUNK_BYTES));
    this.start = 0;
    this.pos = 0;
  }

  private flushCurrent(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.cur.subarray(this.start, this.pos));
      this.flushed += this.pos - this.start;
      this.start = this.pos;
    }
  }

  int8(v: number): this { this.ensure(1); this.pos = this.cur.writeInt8(v, this.pos); return this; }
  uint8(v: number): this { this.ensure(1); this.pos = this.cur.writeUInt8(v, this.pos); return this; }
  bool(v: boolean): this { this.ensure(1); this.cur[this.pos++] = v ? 1 : 0; return this; }
  int16(v: number): this { this.ensure(2); this.pos = this.cur.writeInt16BE(v, this.pos); return this; }
  uint16(v: number): this { this.ensure(2); this.pos = this.cur.writeUInt16BE(v, this.pos); return this; }
  int32(v: number): this { this.ensure(4); this.pos = this.cur.writeInt32BE(v, this.pos); return this; }
  uint32(v: number): this { this.ensure(4); this.pos = this.cur.writeUInt32BE(v, this.pos); return this; }
  int64(v: bigint): this { this.ensure(8); this.pos = this.cur.writeBigInt64BE(v, this.pos); return this; }
  float64(v: number): this { this.ensure(8); this.pos = this.cur.writeDoubleBE(v, this.pos); return this; }

  uuid(v: string): this {
    return this.raw(uuidToBytes(v));
  }

  uvarint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EncodeError(`uvarint out of range: ${v}`);
    this.ensure(5);
    while (v >= 0x80) {
      this.cur[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.cur[this.pos++] = v;
    return this;
  }

  /** Zig-zag signed 32-bit varint (records). */
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zig-zag signed 64-bit varlong (records). */
  varlong(v: number | bigint): this {
    let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    this.ensure(10);
    while (z >= 0x80n) {
      this.cur[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.cur[this.pos++] = Number(z);
    return this;
  }

  /** Append bytes: copied when small, referenced (no copy) when large. */
  raw(b: Buffer | Uint8Array): this {
    if (b.length >= REFERENCE_MIN_BYTES) {
      this.checkLimit(b.length);
      this.flushCurrent();
      const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
      this.chunks.push(buf);
      this.flushed += buf.length;
      return this;
    }
    this.ensure(b.length);
    this.cur.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  private utf8(s: string, n: number): void {
    this.ensure(n);
    this.pos += this.cur.write(s, this.pos, n, 'utf8');
  }

  nullableString(s: string | null): this {
    if (s === null) return this.int16(-1);
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0x7fff) throw new EncodeError(`string of ${n} bytes is longer than 32767`);
    this.int16(n);
    this.utf8(s, n);
    return this;
  }

  string(s: string): this {
    return this.nullableString(s);
  }

  compactNullableString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n + 1);
    this.utf8(s, n);
    return this;
  }

  compactString(s: string): this {
    return this.compactNullableString(s);
  }

  nullableBytes(b: Buffer | Uint8Array | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    return this.raw(b);
  }

  bytes(b: Buffer | Uint8Array): this {
    return this.nullableBytes(b);
  }

  compactNullableBytes(b: Buffer | Uint8Array | null): this {
    if (b === null) return this.uvarint(0);
    this.uvarint(b.length + 1);
    return this.raw(b);
  }

  compactBytes(b: Buffer | Uint8Array): this {
    return this.compactNullableBytes(b);
  }

  /** Records fields may be a list of stored batches, written back to back without copying. */
  nullableRecords(r: Records | null, compact: boolean): this {
    if (r === null) return compact ? this.uvarint(0) : this.int32(-1);
    const parts = Buffer.isBuffer(r) ? [r] : r;
    let n = 0;
    for (const p of parts) n += p.length;
    if (compact) this.uvarint(n + 1);
    else this.int32(n);
    for (const p of parts) this.raw(p);
    return this;
  }

  arrayLength(n: number): this { return this.int32(n); }
  compactArrayLength(n: number): this { return this.uvarint(n + 1); }

  /** The written bytes as a list of buffers (for socket.writev / cork). */
  toBuffers(): Buffer[] {
    this.flushCurrent();
    return this.chunks;
  }

  /** The written bytes as one buffer (copies when there is more than one chunk). */
  toBuffer(): Buffer {
    const parts = this.toBuffers();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.flushed);
  }
}

/** Stored record batches: one buffer, or several written back to back. Decoding always gives one Buffer. */
export type Records = Buffer | readonly Buffer[];
