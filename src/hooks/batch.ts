/**
 * Record batches as hooks see them: the header at once (no decoding), the records only when a hook
 * calls `records()`, and a new encoding only when a hook changed something.
 *
 * Re-encoding keeps what consumers and producers depend on:
 * - the batch's own compression, base offset, partition leader epoch, timestamp type, base
 *   timestamp, producer id, producer epoch and base sequence;
 * - every kept record's offset delta, so offsets never move. A record dropped on fetch leaves a gap
 *   in the offsets and the batch keeps its last offset delta, exactly like a batch the log cleaner
 *   compacted, so every consumer advances past it.
 * - On produce, an idempotent batch (producer id >= 0) is kept the same way: the producer's
 *   sequence numbers cover `lastOffsetDelta + 1` records, and the broker's duplicate and gap checks
 *   (and the producer's next base sequence) count on that, so dropped records leave offset gaps and
 *   a batch whose records were all dropped is still written, empty, as Kafka's cleaner keeps empty
 *   batches to preserve producer state. A non-idempotent batch is renumbered instead (no gaps); if
 *   all its records are dropped nothing is written.
 */
import { TimestampType, type BatchHeader } from '../protocol/records/batch.js';
import { compressionName, type CompressionType } from '../protocol/records/compression.js';
import { encodeBatch, sameHeaderAs, type DecodedRecord, type RecordHeader, type RecordInput } from '../protocol/records/record.js';
import { withDecodedBatch } from '../protocol/records/decode-turns.js';
import type { HookBatch, HookRecord } from './types.js';
import { MAX_DECOMPRESSED_BATCH_BYTES } from '../base/limits.js';


export type BatchMode = 'produce' | 'fetch';

function toBytes(v: Buffer | string | null): Buffer | null {
  if (v === null) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

class RecordView implements HookRecord {
  private _key: Buffer | null;
  private _value: Buffer | null;
  private _timestamp: number;
  private _headers: RecordHeader[];
  private headersOwned = false;
  private _dropped = false;
  /** Set when a hook assigned the timestamp (otherwise the stored delta is kept exactly). */
  timestampSet = false;

  constructor(
    private readonly batch: LazyBatch,
    readonly index: number,
    private readonly decoded: DecodedRecord,
  ) {
    this._key = decoded.key;
    this._value = decoded.value;
    this._timestamp = decoded.timestamp;
    this._headers = decoded.headers;
  }

  get offsetDelta(): number {
    return this.decoded.offsetDelta;
  }
  get offset(): number {
    return this.batch.baseOffset + this.decoded.offsetDelta;
  }
  get timestampDelta(): number {
    return this.decoded.timestampDelta;
  }
  get attributes(): number {
    return this.decoded.attributes;
  }

  get key(): Buffer | null {
    return this._key;
  }
  set key(v: Buffer | null) {
    this._key = v;
    this.batch.markChanged();
  }
  get value(): Buffer | null {
    return this._value;
  }
  set value(v: Buffer | null) {
    this._value = v;
    this.batch.markChanged();
  }
  get timestamp(): number {
    return this._timestamp;
  }
  set timestamp(v: number) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`invalid timestamp ${v}`);
    this._timestamp = v;
    this.timestampSet = true;
    this.batch.markChanged();
  }
  get headers(): readonly RecordHeader[] {
    return this._headers;
  }

  header(key: string): Buffer | null | undefined {
    for (let i = this._headers.length - 1; i >= 0; i--) if (this._headers[i]!.key === key) return this._headers[i]!.value;
    return undefined;
  }

  private ownHeaders(): RecordHeader[] {
    if (!this.headersOwned) {
      this._headers = this._headers.slice();
      this.headersOwned = true;
    }
    this.batch.markChanged();
    return this._headers;
  }

  setHeader(key: string, value: Buffer | string | null): void {
    const h = this.ownHeaders().filter((x) => x.key !== key);
    h.push({ key, value: toBytes(value) });
    this._headers = h;
  }

  addHeader(key: string, value: Buffer | string | null): void {
    this.ownHeaders().push({ key, value: toBytes(value) });
  }

  removeHeader(key: string): void {
    if (this.header(key) === undefined) return;
    this._headers = this.ownHeaders().filter((x) => x.key !== key);
  }

  keyText(): string | null {
    return this._key === null ? null : this._key.toString('utf8');
  }
  valueText(): string | null {
    return this._value === null ? null : this._value.toString('utf8');
  }
  valueJson<T = unknown>(): T {
    return (this._value === null ? null : JSON.parse(this._value.toString('utf8'))) as T;
  }
  setValueJson(v: unknown): void {
    this.value = Buffer.from(JSON.stringify(v), 'utf8');
  }

  drop(): void {
    if (this._dropped) return;
    this._dropped = true;
    this.batch.markChanged();
  }
  get dropped(): boolean {
    return this._dropped;
  }

  /** The record as the encoder takes it. */
  toInput(baseTimestamp: number, offsetDelta: number): RecordInput {
    return {
      key: this._key,
      value: this._value,
      headers: this._headers,
      timestamp: this.timestampSet ? this._timestamp : baseTimestamp + this.decoded.timestampDelta,
      offsetDelta,
      attributes: this.decoded.attributes,
    };
  }
}

/** The result of re-encoding a changed batch. */
export interface Reencoded {
  /** The new batch bytes, or null when nothing is left to write (non-idempotent produce, all dropped). */
  bytes: Buffer | null;
  /** Records in the new batch. */
  recordCount: number;
}

export class LazyBatch implements HookBatch {
  private decoded: RecordView[] | null = null;
  private decoding: Promise<RecordView[]> | null = null;
  private _changed = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly header: BatchHeader,
    readonly bytes: Buffer,
    readonly mode: BatchMode,
    /** The request this batch belongs to: its records are decoded within that request's budget. */
    private readonly request?: object,
  ) {}

  get baseOffset(): number {
    return this.header.baseOffset;
  }
  get lastOffsetDelta(): number {
    return this.header.lastOffsetDelta;
  }
  get recordCount(): number {
    return this.header.recordCount;
  }
  get compression(): HookBatch['compression'] {
    return compressionName(this.header.compression as CompressionType);
  }
  get timestampType(): HookBatch['timestampType'] {
    return this.header.timestampType === TimestampType.logAppendTime ? 'LogAppendTime' : 'CreateTime';
  }
  get producerId(): number {
    return this.header.producerId;
  }
  get producerEpoch(): number {
    return this.header.producerEpoch;
  }
  get baseSequence(): number {
    return this.header.baseSequence;
  }
  get idempotent(): boolean {
    return this.header.producerId >= 0;
  }
  get transactional(): boolean {
    return this.header.isTransactional;
  }
  get sizeBytes(): number {
    return this.bytes.length;
  }
  get changed(): boolean {
    return this._changed;
  }
  /** Whether records() was called (and so the records are in memory). */
  get isDecoded(): boolean {
    return this.decoded !== null;
  }

  markChanged(): void {
    this._changed = true;
  }

  records(): Promise<HookRecord[]> {
    if (this.decoded) return Promise.resolve(this.decoded);
    // One batch at a time process-wide, within the request's decompression budget (decode-turns.ts).
    this.decoding ??= withDecodedBatch(this.request, this.bytes, MAX_DECOMPRESSED_BATCH_BYTES, (b) => {
      this.decoded = b.records.map((r, i) => new RecordView(this, i, r));
      return this.decoded;
    }, false);
    return this.decoding;
  }

  /**
   * Encode the batch again after hooks changed it (see the file comment for what is kept). Only
   * called when `changed` is true, which implies the records were decoded.
   */
  async reencode(): Promise<Reencoded> {
    const views = this.decoded;
    if (!views) throw new Error('reencode() before records() was called');
    const h = this.header;
    const kept = views.filter((r) => !r.dropped);
    const keepOffsets = this.mode === 'fetch' || this.idempotent;
    if (kept.length === 0 && !keepOffsets) return { bytes: null, recordCount: 0 };
    const logAppendTime = h.timestampType === TimestampType.logAppendTime;
    const bytes = await encodeBatch({
      ...sameHeaderAs(h),
      records: kept.map((r, i) => r.toInput(h.baseTimestamp, keepOffsets ? r.offsetDelta : i)),
      compression: h.compression as CompressionType,
      // LogAppendTime: the broker's time stays; CreateTime: the largest kept timestamp (an empty
      // batch keeps the old one so time lookups still find its position).
      maxTimestamp: logAppendTime || kept.length === 0 ? h.maxTimestamp : undefined,
      lastOffsetDelta: keepOffsets ? h.lastOffsetDelta : undefined,
    });
    return { bytes, recordCount: kept.length };
  }
}
