/**
 * Reads Kafka's primitive types from one buffer. Every read is bounds-checked; a short or invalid
 * read throws DecodeError. Lengths and array counts are checked against the bytes that remain
 * *before* anything is allocated, so a hostile count can never make us allocate more than the frame.
 * Byte and record fields are returned as views (subarray) of the frame, without copying.
 *
 * Bytes are not the whole cost: each decoded array element becomes a JavaScript object tens of times
 * its wire size (an empty topic name is 2 bytes on the wire and ~60 bytes decoded). A reader may
 * therefore carry an element budget (`limitElements`): every array count is charged against it,
 * before the array is allocated, and a count past it throws DecodeLimitError. Elements of a primitive
 * type (int32 partition indexes, int64s, uuids) are not objects: one costs about its wire size, so it is
 * charged as that fraction of REQUEST_WIRE_BYTES_PER_ELEMENT (a list of 3,000 partition indexes, 12 KB,
 * is charged 1,500) — the budget's share per byte then always covers them, as a real client needs.
 */
import { DecodeError, DecodeLimitError } from './errors.js';
import { uuidFromBytes } from './uuid.js';
import { REQUEST_WIRE_BYTES_PER_ELEMENT } from '../../base/limits.js';

export class Reader {
  offset: number;
  readonly end: number;

  /** Array elements this reader may still decode (see limitElements). */
  private elementsLeft = Infinity;
  private elementLimit = Infinity;

  constructor(readonly buf: Buffer, offset = 0, end = buf.length) {
    this.offset = offset;
    this.end = end;
  }

  /** Allow at most `max` array elements, summed over every array read from now on (nested ones too). */
  limitElements(max: number): this {
    this.elementLimit = max;
    this.elementsLeft = max;
    return this;
  }

  /** Array elements decoded since limitElements (0 without a limit). */
  get elementsDecoded(): number {
    return this.elementLimit === Infinity ? 0 : this.elementLimit - this.elementsLeft;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): number {
    const at = this.offset;
    if (n < 0 || at + n > this.end) {
      throw new DecodeError(`truncated ${what}: need ${n} bytes at offset ${at}, ${this.end - at} left`);
    }
    this.offset = at + n;
    return at;
  }

  int8(): number { return this.buf.readInt8(this.need(1, 'int8')); }
  uint8(): number { return this.buf[this.need(1, 'uint8')]!; }
  bool(): boolean { return this.buf[this.need(1, 'bool')] !== 0; }
  int16(): number { return this.buf.readInt16BE(this.need(2, 'int16')); }
  uint16(): number { return this.buf.readUInt16BE(this.need(2, 'uint16')); }
  int32(): number { return this.buf.readInt32BE(this.need(4, 'int32')); }
  uint32(): number { return this.buf.readUInt32BE(this.need(4, 'uint32')); }
  int64(): bigint { return this.buf.readBigInt64BE(this.need(8, 'int64')); }
  float64(): number { return this.buf.readDoubleBE(this.need(8, 'float64')); }

  uuid(): string {
    const at = this.need(16, 'uuid');
    return uuidFromBytes(this.buf.subarray(at, at + 16));
  }

  /** Unsigned LEB128 varint of at most 5 bytes (32 bits), as Kafka's ByteUtils.readUnsignedVarint. */
  uvarint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.buf[this.need(1, 'varint')]!;
      if (i === 4 && b > 0x0f) throw new DecodeError('varint is longer than 32 bits');
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new DecodeError('varint is longer than 5 bytes');
  }

  /** Zig-zag signed varint (32 bits), used inside records. */
  varint(): number {
    const u = this.uvarint();
    return (u % 2 === 0 ? u / 2 : -(u + 1) / 2) | 0;
  }

  /** Zig-zag signed varlong (64 bits), used inside records. Returns a number: record fields fit 2^53. */
  varlong(): number {
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.need(1, 'varlong')]!;
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        const signed = (value >> 1n) ^ -(value & 1n);
        return Number(signed);
      }
    }
    throw new DecodeError('varlong is longer than 10 bytes');
  }

  /** Raw view of the next n bytes (no copy). */
  raw(n: number): Buffer {
    const at = this.need(n, 'bytes');
    return this.buf.subarray(at, at + n);
  }

  private utf8(n: number): string {
    const at = this.need(n, 'string');
    return this.buf.toString('utf8', at, at + n);
  }

  /** int16-length string; -1 is null. */
  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < -1) throw new DecodeError(`negative string length ${n}`);
    return this.utf8(n);
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw new DecodeError('null string where a value is required');
    return s;
  }

  /** unsigned-varint (length+1) string; 0 is null. */
  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.utf8(n - 1);
  }

  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw new DecodeError('null compact string where a value is required');
    return s;
  }

  /** int32-length bytes; -1 is null. */
  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < -1) throw new DecodeError(`negative bytes length ${n}`);
    return this.raw(n);
  }

  bytes(): Buffer {
    const b = this.nullableBytes();
    if (b === null) throw new DecodeError('null bytes where a value is required');
    return b;
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.raw(n - 1);
  }

  compactBytes(): Buffer {
    const b = this.compactNullableBytes();
    if (b === null) throw new DecodeError('null compact bytes where a value is required');
    return b;
  }

  /**
   * int32 array count; -1 is null. The count is checked against the bytes left (each element takes
   * at least `minElementBytes`), so a forged count cannot cause a large allocation. `primitive`: the
   * elements are of a fixed-size primitive type, `minElementBytes` each (see the class comment).
   */
  arrayLength(minElementBytes = 1, primitive = false): number {
    const n = this.int32();
    if (n === -1) return -1;
    if (n < -1) throw new DecodeError(`negative array length ${n}`);
    this.checkCount(n, minElementBytes, primitive);
    return n;
  }

  /** unsigned-varint (count+1) array count; returns -1 for null. */
  compactArrayLength(minElementBytes = 1, primitive = false): number {
    const n = this.uvarint() - 1;
    if (n === -1) return -1;
    this.checkCount(n, minElementBytes, primitive);
    return n;
  }

  private checkCount(n: number, minElementBytes: number, primitive: boolean): void {
    if (n * Math.max(minElementBytes, 0) > this.remaining) {
      throw new DecodeError(`array of ${n} elements cannot fit in the ${this.remaining} bytes left`);
    }
    const charge = primitive ? Math.ceil((n * Math.min(minElementBytes, REQUEST_WIRE_BYTES_PER_ELEMENT)) / REQUEST_WIRE_BYTES_PER_ELEMENT) : n;
    if (charge > this.elementsLeft) {
      throw new DecodeLimitError(`array of ${n} elements is past the request's limit of ${this.elementLimit} decoded elements`);
    }
    this.elementsLeft -= charge;
  }

  /** Skip n bytes (used for unknown tagged fields). */
  skip(n: number): void {
    this.need(n, 'tagged field');
  }
}
