/**
 * Consumer lag from what the broker holds: for each partition a group has committed an offset for,
 * the partition's high watermark (the log end offset, with one replica) minus the committed offset —
 * what `kafka-consumer-groups.sh --describe` shows as LAG. Partitions of topics that no longer exist
 * are left out. Pure reads: callers are the broker's event loop (tests, diagnostics, hooks).
 */
import type { StorageEngine } from '../../storage/engine.js';
import type { Topic } from '../topics.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  committedOffset: number;
  logStartOffset: number;
  /** High watermark: the offset the next record will get. */
  logEndOffset: number;
  /** logEndOffset − committedOffset, never below 0 (a commit past the end counts as caught up). */
  lag: number;
}

export function consumerGroupLag(
  storage: Pick<StorageEngine, 'fetchOffsets' | 'offsets'>,
  topics: { get(name: string): Topic | undefined },
  groupId: string,
): PartitionLag[] {
  const out: PartitionLag[] = [];
  for (const c of storage.fetchOffsets(groupId).values()) {
    const t = topics.get(c.topic);
    if (!t || c.partition >= t.partitionCount) continue;
    const { logStartOffset, highWatermark } = storage.offsets(c.topic, c.partition);
    out.push({
      topic: c.topic,
      partition: c.partition,
      committedOffset: c.offset,
      logStartOffset,
      logEndOffset: highWatermark,
      lag: Math.max(0, highWatermark - c.offset),
    });
  }
  return out.sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
}

/** The total lag of a group over every partition it has committed. */
export function totalLag(lags: readonly PartitionLag[]): number {
  return lags.reduce((sum, l) => sum + l.lag, 0);
}
