/**
 * A segment's sparse indexes, Kafka's `OffsetIndex` and `TimeIndex`. They are derived data: kept in
 * memory while the segment is open, written beside the segment when it is sealed (rolled) and at a
 * clean shutdown, and rebuilt from the `.log` file whenever they are missing, malformed or possibly
 * stale (after an unclean shutdown). They are never checksummed: a broken one is simply rebuilt.
 *
 * `.index`: 8-byte entries, big-endian: offset relative to the segment's base (uint32), byte
 * position of the batch in the `.log` (uint32). One entry per `index.interval.bytes` of log.
 *
 * `.timeindex`: 12-byte entries: timestamp (int64), relative offset (uint32). An entry
 * `(T, o)` says the largest batch timestamp seen so far in the segment is T, first reached by the
 * batch at offset o; timestamps strictly increase from entry to entry.
 *
 * Callers: LogSegment (owner), LogLoader (rebuild), LogCleaner (rebuild for a rewritten segment).
 */
import { readInt64, writeInt64 } from '../../protocol/records/batch.js';

const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;

/** Growable pair of uint32 columns. */
class U32Pairs {
  a = new Uint32Array(8);
  b = new Uint32Array(8);
  count = 0;

  push(x: number, y: number): void {
    if (this.count === this.a.length) {
      const a = new Uint32Array(this.a.length * 2);
      const b = new Uint32Array(this.b.length * 2);
      a.set(this.a);
      b.set(this.b);
      this.a = a;
      this.b = b;
    }
    this.a[this.count] = x;
    this.b[this.count] = y;
    this.count++;
  }

  /** Index of the last entry whose `a` is ≤ x, or -1. `a` must be sorted. */
  floor(x: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.a[mid]! <= x) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}

export class OffsetIndex {
  private readonly entries = new U32Pairs();

  constructor(readonly baseOffset: number) {}

  get entryCount(): number {
    return this.entries.count;
  }

  /** Add an entry; offsets and positions must strictly increase. */
  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    const n = this.entries.count;
    if (rel < 0 || rel > 0xffffffff || position > 0xffffffff) throw new RangeError(`index entry ${offset}@${position} out of range for base ${this.baseOffset}`);
    if (n > 0 && (rel <= this.entries.a[n - 1]! || position <= this.entries.b[n - 1]!)) {
      throw new Error(`index entries must increase: ${offset}@${position} after ${this.baseOffset + this.entries.a[n - 1]!}@${this.entries.b[n - 1]!}`);
    }
    this.entries.push(rel, position);
  }

  /** The last indexed batch at or below `offset`: where a scan for `offset` starts (position 0 if none). */
  lookup(offset: number): { offset: number; position: number } {
    const i = this.entries.floor(Math.max(0, Math.min(offset - this.baseOffset, 0xffffffff)));
    if (i < 0 || offset < this.baseOffset) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + this.entries.a[i]!, position: this.entries.b[i]! };
  }

  /** Last entry's position, or 0. */
  lastPosition(): number {
    return this.entries.count > 0 ? this.entries.b[this.entries.count - 1]! : 0;
  }

  encode(): Buffer {
    const out = Buffer.allocUnsafe(this.entries.count * OFFSET_ENTRY_BYTES);
    for (let i = 0; i < this.entries.count; i++) {
      out.writeUInt32BE(this.entries.a[i]!, i * OFFSET_ENTRY_BYTES);
      out.writeUInt32BE(this.entries.b[i]!, i * OFFSET_ENTRY_BYTES + 4);
    }
    return out;
  }

  /** Decode an index file; null when it is malformed (then it is rebuilt from the log). */
  static decode(baseOffset: number, data: Buffer, logBytes: number): OffsetIndex | null {
    if (data.length % OFFSET_ENTRY_BYTES !== 0) return null;
    const index = new OffsetIndex(baseOffset);
    for (let at = 0; at < data.length; at += OFFSET_ENTRY_BYTES) {
      const rel = data.readUInt32BE(at);
      const position = data.readUInt32BE(at + 4);
      const n = index.entries.count;
      if (position >= logBytes) return null;
      if (n > 0 && (rel <= index.entries.a[n - 1]! || position <= index.entries.b[n - 1]!)) return null;
      index.entries.push(rel, position);
    }
    return index;
  }
}

export class TimeIndex {
  private readonly rel = new U32Pairs(); // a = relative offset, b unused (kept for the growable shape)
  private timestamps = new Float64Array(8);

  constructor(readonly baseOffset: number) {}

  get entryCount(): number {
    return this.rel.count;
  }

  /** The last entry's timestamp, or -Infinity. */
  get lastTimestamp(): number {
    return this.rel.count > 0 ? this.timestamps[this.rel.count - 1]! : -Infinity;
  }

  get lastOffset(): number {
    return this.rel.count > 0 ? this.baseOffset + this.rel.a[this.rel.count - 1]! : -1;
  }

  /** Add `(timestamp, offset)` if `timestamp` is larger than the last entry's (otherwise ignored). */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp <= this.lastTimestamp) return;
    const rel = offset - this.baseOffset;
    if (rel < 0 || rel > 0xffffffff) throw new RangeError(`time index offset ${offset} out of range for base ${this.baseOffset}`);
    if (this.rel.count > 0 && rel < this.rel.a[this.rel.count - 1]!) throw new Error(`time index offsets must not decrease (${offset})`);
    if (this.rel.count === this.timestamps.length) {
      const t = new Float64Array(this.timestamps.length * 2);
      t.set(this.timestamps);
      this.timestamps = t;
    }
    this.timestamps[this.rel.count] = timestamp;
    this.rel.push(rel, 0);
  }

  /**
   * Where a search for the first batch with max timestamp ≥ `timestamp` may start: the offset of the
   * last entry whose timestamp is < `timestamp` (every batch before it is older), or the segment base.
   */
  lookup(timestamp: number): number {
    let lo = 0;
    let hi = this.rel.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! < timestamp) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? this.baseOffset : this.baseOffset + this.rel.a[found]!;
  }

  encode(): Buffer {
    const out = Buffer.allocUnsafe(this.rel.count * TIME_ENTRY_BYTES);
    for (let i = 0; i < this.rel.count; i++) {
      writeInt64(out, i * TIME_ENTRY_BYTES, this.timestamps[i]!);
      out.writeUInt32BE(this.rel.a[i]!, i * TIME_ENTRY_BYTES + 8);
    }
    return out;
  }

  static decode(baseOffset: number, data: Buffer): TimeIndex | null {
    if (data.length % TIME_ENTRY_BYTES !== 0) return null;
    const index = new TimeIndex(baseOffset);
    for (let at = 0; at < data.length; at += TIME_ENTRY_BYTES) {
      const ts = readInt64(data, at);
      const rel = data.readUInt32BE(at + 8);
      if (ts <= index.lastTimestamp) return null;
      if (index.rel.count > 0 && rel < index.rel.a[index.rel.count - 1]!) return null;
      index.maybeAppend(ts, baseOffset + rel);
    }
    return index;
  }
}
