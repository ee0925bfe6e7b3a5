/**
 * One partition's producer-state snapshots as an engine tracks them in memory (StorageEngine's
 * `writeProducerSnapshot` and friends): their offsets in order, their bytes where the engine keeps
 * them in memory, and the bytes appended since the newest one (when one is due for engines without
 * segments). The rules every engine shares live here: which snapshots a new one replaces, which a
 * new log start drops.
 *
 * Callers: MemoryEngine (and the WAL engine through it), RocksDbEngine, LogEngine (offsets only).
 */
import { PRODUCER_SNAPSHOTS_KEPT } from './engine.js';

/** Kafka's default `segment.bytes`: the snapshot interval of engines without segments. */
export const DEFAULT_SNAPSHOT_INTERVAL_BYTES = 1024 * 1024 * 1024;

export interface StoredSnapshot {
  offset: number;
  /** The bytes, for engines that keep them in memory; null where they live on disk only. */
  data: Buffer | null;
}

export class PartitionSnapshots {
  /** Ascending by offset. */
  items: StoredSnapshot[] = [];
  /** Bytes appended since the newest snapshot was stored. */
  bytesSince = 0;

  /** Add the snapshot at `offset`; returns the ones it replaces (to delete from storage). */
  add(offset: number, data: Buffer | null): StoredSnapshot[] {
    const below = this.items.filter((s) => s.offset < offset);
    const dropped = this.items.filter((s) => s.offset >= offset);
    const kept = below.slice(Math.max(0, below.length - (PRODUCER_SNAPSHOTS_KEPT - 1)));
    dropped.push(...below.slice(0, below.length - kept.length));
    this.items = [...kept, { offset, data }];
    this.bytesSince = 0;
    return dropped.filter((s) => s.offset !== offset);
  }

  /** Drop the snapshots below a new log start; returns them. */
  dropBelow(logStartOffset: number): StoredSnapshot[] {
    const gone = this.items.filter((s) => s.offset < logStartOffset);
    if (gone.length > 0) this.items = this.items.filter((s) => s.offset >= logStartOffset);
    return gone;
  }

  offsets(): number[] {
    return this.items.map((s) => s.offset);
  }

  get newest(): number | null {
    return this.items.length > 0 ? this.items[this.items.length - 1]!.offset : null;
  }

  find(offset: number): StoredSnapshot | undefined {
    return this.items.find((s) => s.offset === offset);
  }

  /** Engines without segments: due once `intervalBytes` have been appended since the newest snapshot. */
  dueAfterBytes(intervalBytes: number): boolean {
    return this.bytesSince >= intervalBytes;
  }
}

/**
 * The snapshot interval of a topic on engines without segments: its `segment.bytes` (or the internal
 * `internal.segment.bytes`), else the broker's `topic.defaults`, else Kafka's default.
 */
export function snapshotIntervalBytes(configs: Readonly<Record<string, string>>, defaults: Readonly<Record<string, string>> = {}): number {
  const v = (name: string) => configs[name] ?? defaults[name];
  const n = Number(v('internal.segment.bytes') ?? v('segment.bytes'));
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_SNAPSHOT_INTERVAL_BYTES;
}
