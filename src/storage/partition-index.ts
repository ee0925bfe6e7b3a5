/**
 * The rocksdb and postgres engines' in-memory index of one partition: for every stored batch its base and last
 * offset, max timestamp and size (what MemoryPartitionLog keeps, without the bytes). It answers the
 * synchronous questions of the interface (offsets, sizeBytes) and decides which keys a read, a
 * timestamp lookup or retention touches, so the database is only asked for batches that will be returned.
 * Rebuilt at open (rocksdb: from the small 'I' entries of keys.ts; postgres: from the batches' index columns).
 */
import type { RetentionPolicy } from './engine.js';
import { PartitionSnapshots } from './producer-snapshots.js';

export class PartitionIndex {
  readonly baseOffsets: number[] = [];
  readonly lastOffsets: number[] = [];
  readonly maxTimestamps: number[] = [];
  readonly sizes: number[] = [];
  logStartOffset = 0;
  highWatermark = 0;
  bytes = 0;
  /** Offsets of the partition's producer-state snapshots (their bytes stay in the database). */
  readonly snapshots = new PartitionSnapshots();

  get count(): number {
    return this.baseOffsets.length;
  }

  push(baseOffset: number, lastOffset: number, maxTimestamp: number, size: number): void {
    this.baseOffsets.push(baseOffset);
    this.lastOffsets.push(lastOffset);
    this.maxTimestamps.push(maxTimestamp);
    this.sizes.push(size);
    this.bytes += size;
    this.snapshots.bytesSince += size;
    this.highWatermark = lastOffset + 1;
  }

  /** Index of the first batch whose last offset is ≥ offset (count if none). */
  indexOf(offset: number): number {
    let lo = 0;
    let hi = this.lastOffsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastOffsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Positions [from, to) of the batches a read from `offset` returns: whole batches within
   * `maxBytes`, the first one even when larger if `minOneBatch` (KIP-74).
   */
  pick(offset: number, maxBytes: number, minOneBatch: boolean): { from: number; to: number } {
    const from = this.indexOf(Math.max(offset, this.logStartOffset));
    let to = from;
    let total = 0;
    while (to < this.count) {
      const size = this.sizes[to]!;
      if (total + size > maxBytes && !(minOneBatch && to === from)) break;
      total += size;
      to++;
    }
    return { from, to };
  }

  /** Position of the first batch holding the largest timestamp, -1 when empty (ListOffsets -3). */
  maxTimestampPosition(): number {
    let best = -1;
    for (let i = 0; i < this.count; i++) {
      if (best < 0 || this.maxTimestamps[i]! > this.maxTimestamps[best]!) best = i;
    }
    return best;
  }

  /** After loading: the bytes appended since the newest snapshot (all of them when there is none). */
  recountBytesSinceSnapshot(): void {
    const from = this.snapshots.newest ?? -1;
    this.snapshots.bytesSince = 0;
    for (let i = 0; i < this.count; i++) if (this.baseOffsets[i]! >= from) this.snapshots.bytesSince += this.sizes[i]!;
  }

  /** Clamp a requested log start as DeleteRecords does: never backwards, never past the end. */
  clampStart(offset: number): number {
    return Math.min(Math.max(offset, this.logStartOffset), this.highWatermark);
  }

  /**
   * The log start offset retention would move to (Kafka's rules on whole batches, never the newest
   * one), or the current one when nothing is to be removed.
   */
  retentionTarget(policy: RetentionPolicy): number {
    let drop = 0;
    const last = this.count - 1;
    let size = this.bytes;
    while (drop < last) {
      const tooOld = policy.retentionMs >= 0 && this.maxTimestamps[drop]! < policy.nowMs - policy.retentionMs;
      const tooBig = policy.retentionBytes >= 0 && size - this.sizes[drop]! >= policy.retentionBytes;
      if (!tooOld && !tooBig) break;
      size -= this.sizes[drop]!;
      drop++;
    }
    return drop === 0 ? this.logStartOffset : this.clampStart(this.lastOffsets[drop - 1]! + 1);
  }

  /**
   * Move the log start to `target` (already clamped) and forget the batches that end below it.
   * Returns the base offset of the first batch kept (the end of the key range to delete) and how
   * many batches were dropped.
   */
  truncateBefore(target: number): { dropped: number; keepFrom: number } {
    const dropped = this.indexOf(target);
    const keepFrom = dropped < this.count ? this.baseOffsets[dropped]! : this.highWatermark;
    if (dropped > 0) {
      for (let i = 0; i < dropped; i++) this.bytes -= this.sizes[i]!;
      this.baseOffsets.splice(0, dropped);
      this.lastOffsets.splice(0, dropped);
      this.maxTimestamps.splice(0, dropped);
      this.sizes.splice(0, dropped);
    }
    this.logStartOffset = target;
    return { dropped, keepFrom };
  }
}
