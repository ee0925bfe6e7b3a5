/**
 * Producer-state snapshots: how idempotent producers' state survives a restart exactly, in bounded
 * time, as Kafka's ProducerStateManager does it.
 *
 * - Taking: after an append, when the engine says one is due (the log engine: a segment rolled past
 *   the newest snapshot; other engines: `segment.bytes` appended since it), the partition's entries
 *   are encoded (producer-state-snapshot.ts) at the offset N that ProducerStateManager.snapshotOffset
 *   gives — every idempotent batch below N is in them — and stored through the engine, one write
 *   at a time per partition. At clean shutdown every partition whose newest snapshot is not at its
 *   high watermark gets one there, so a clean restart replays nothing.
 * - Recovery (`recover`, once at start): per partition, the newest snapshot at or below the high
 *   watermark that passes its checksum is loaded, and the batches from its offset to the high
 *   watermark are replayed (ProducerStateManager.replay). A snapshot above the log end (a tail cut by
 *   crash recovery) or a damaged one is skipped for an older one; with none left the whole log is
 *   replayed, from the log start. Then, on durable engines, a snapshot is written at the high
 *   watermark whenever the newest stored one is not there or one was skipped, so the next start
 *   replays nothing again, a damaged one at the log end is overwritten, and a snapshot from beyond
 *   the old log end can never be loaded once new batches reuse its offsets.
 *
 * Time to recover a partition is therefore bounded by what was written since its last snapshot: one
 * segment at most after a crash, nothing after a clean stop; only a log with no usable snapshot at all
 * (a data directory from before snapshots existed, or every snapshot damaged) is read whole.
 *
 * Callers: Broker.start (recover), appendBatch in append.ts (afterAppend), Broker.close (snapshotAll).
 */
import type { StorageEngine } from '../storage/engine.js';
import { iterateBatches } from '../protocol/records/batch.js';
import { readTxnMarker } from './txn-log.js';
import type { Topic } from './topics.js';
import type { Logger } from './logger.js';
import type { ProducerStateManager } from './producer-state.js';
import { decodeProducerSnapshot, encodeProducerSnapshot } from './producer-state-snapshot.js';

/** Named limit: bytes read per storage read while replaying a partition's tail. */
export const REPLAY_READ_BYTES = 8 * 1024 * 1024;
/** Partitions recovered or snapshotted at once. */
const CONCURRENCY = 8;
/** After a failed snapshot write, the partition's next attempt waits this long (a full disk). */
const RETRY_AFTER_FAILURE_MS = 10_000;

export interface RecoverySummary {
  partitions: number;
  /** Partitions whose state came from a snapshot (the others were replayed from the log start). */
  fromSnapshot: number;
  /** Snapshots skipped: above the log end, unreadable or failing their checksum. */
  snapshotsIgnored: number;
  batchesReplayed: number;
  bytesReplayed: number;
  /** Producer/partition entries in the manager afterwards. */
  entries: number;
  ms: number;
}

export class ProducerSnapshots {
  /** Snapshot writes under way, by partition: never two at once for one partition. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Partitions whose last snapshot write failed, and when they may try again. */
  private readonly retryAt = new Map<string, number>();

  constructor(
    private readonly producers: ProducerStateManager,
    private readonly storage: StorageEngine,
    private readonly log: Logger,
  ) {}

  /** After an append: start a snapshot if the engine says one is due. Never throws, never waits. */
  afterAppend(topic: string, partition: number): void {
    const key = `${topic}\u0000${partition}`;
    if (this.writing.has(key)) return;
    const retry = this.retryAt.get(key);
    if (retry !== undefined && Date.now() < retry) return;
    try {
      if (this.storage.producerSnapshotDue(topic, partition)) void this.take(topic, partition);
    } catch {
      // The partition went away (its topic was deleted meanwhile): nothing to snapshot.
    }
  }

  /**
   * Start a snapshot of the partition at ProducerStateManager.snapshotOffset unless that is not past
   * its newest one. The entries are encoded now, synchronously with the offset, and written after.
   */
  private take(topic: string, partition: number, rewrite = false): Promise<void> | null {
    const key = `${topic}\u0000${partition}`;
    if (this.writing.has(key)) return null;
    const { highWatermark } = this.storage.offsets(topic, partition);
    const offset = this.producers.snapshotOffset(topic, partition, highWatermark);
    const stored = this.storage.producerSnapshotOffsets(topic, partition);
    if (!rewrite && stored.length > 0 && stored[stored.length - 1] === offset) return null;
    if (stored.length > 0 && stored[stored.length - 1]! > offset && offset < highWatermark) return null; // appends under way; later
    // Aborted transactions wholly below the log start are unreachable: dropped now, not stored again.
    this.producers.truncateAbortedBelow(topic, partition, this.storage.offsets(topic, partition).logStartOffset);
    const data = encodeProducerSnapshot(offset, this.producers.partitionEntries(topic, partition), [...this.producers.partitionAborted(topic, partition)]);
    const write = this.storage
      .writeProducerSnapshot(topic, partition, offset, data)
      .then(
        () => void this.retryAt.delete(key),
        (err: Error) => {
          this.retryAt.set(key, Date.now() + RETRY_AFTER_FAILURE_MS);
          this.log.warn(`producer snapshot of ${topic}-${partition} at ${offset} not written: ${err.message}`);
        },
      )
      .finally(() => this.writing.delete(key));
    this.writing.set(key, write);
    return write;
  }

  /**
   * Store a snapshot of the partition now, after any write under way, even at the offset of the
   * newest one: the in-memory state lost something an older snapshot still holds (compaction
   * emptied an aborted transaction). Failures are logged and retried as after an append.
   */
  async rewrite(topic: string, partition: number): Promise<void> {
    if (!this.storage.durable) return;
    await this.writing.get(`${topic}\u0000${partition}`);
    await this.take(topic, partition, true);
  }

  /** Clean shutdown, after the last append: a snapshot at each partition's high watermark. */
  async snapshotAll(topics: readonly Topic[]): Promise<void> {
    if (!this.storage.durable) return;
    await Promise.all(this.writing.values());
    await runLimited(partitionsOf(topics), async (topic, partition) => {
      try {
        if (this.storage.offsets(topic, partition).highWatermark === 0) return;
        await this.take(topic, partition);
      } catch (err) {
        this.log.warn(`producer snapshot of ${topic}-${partition} at shutdown not written: ${(err as Error).message}`);
      }
    });
  }

  /** Start-up: load each partition's newest usable snapshot and replay the log after it. */
  async recover(topics: readonly Topic[]): Promise<RecoverySummary> {
    const started = performance.now();
    const summary: RecoverySummary = { partitions: 0, fromSnapshot: 0, snapshotsIgnored: 0, batchesReplayed: 0, bytesReplayed: 0, entries: 0, ms: 0 };
    await runLimited(partitionsOf(topics), async (topic, partition) => {
      try {
        await this.recoverPartition(topic, partition, summary);
      } catch (err) {
        // Its producers stay (partly) unknown: UNKNOWN_PRODUCER_ID, then a new producer id. Safe, and
        // the partition itself is served or refused by the engine as usual.
        this.log.warn(`producer state of ${topic}-${partition} not recovered: ${(err as Error).message}`);
      }
    });
    summary.entries = this.producers.size;
    summary.ms = performance.now() - started;
    if (summary.batchesReplayed > 0 || summary.snapshotsIgnored > 0) {
      this.log.info(
        `producer state: ${summary.entries} producer/partition entries; ${summary.fromSnapshot} of ${summary.partitions} partitions from a snapshot, ` +
          `${summary.snapshotsIgnored} snapshots ignored, ${summary.batchesReplayed} batches (${summary.bytesReplayed} bytes) replayed in ${summary.ms.toFixed(0)} ms`,
      );
    }
    return summary;
  }

  /**
   * One partition's producer state, rebuilt from the shared log when this broker becomes its leader
   * (shared-cluster.ts): what another broker appended is in it, so a batch it acknowledged and the
   * producer retries here is answered as a duplicate.
   */
  async recoverOne(topic: string, partition: number): Promise<void> {
    this.producers.dropPartition(topic, partition);
    const summary: RecoverySummary = { partitions: 0, fromSnapshot: 0, snapshotsIgnored: 0, batchesReplayed: 0, bytesReplayed: 0, entries: 0, ms: 0 };
    await this.recoverPartition(topic, partition, summary);
  }

  private async recoverPartition(topic: string, partition: number, summary: RecoverySummary): Promise<void> {
    const { logStartOffset, highWatermark } = this.storage.offsets(topic, partition);
    const stored = this.storage.producerSnapshotOffsets(topic, partition);
    let from = logStartOffset;
    let ignored = 0;
    for (const at of [...stored].reverse()) {
      if (at > highWatermark) {
        this.log.warn(`producer snapshot of ${topic}-${partition} at ${at} is beyond the log end ${highWatermark} (a tail cut by recovery): ignored`);
        ignored++;
        continue;
      }
      try {
        const data = await this.storage.readProducerSnapshot(topic, partition, at);
        if (data === null) continue;
        const snapshot = decodeProducerSnapshot(data, at);
        this.producers.load(topic, partition, snapshot.entries, snapshot.aborted);
      } catch (err) {
        this.log.warn(`producer snapshot of ${topic}-${partition} at ${at} ignored: ${(err as Error).message}`);
        ignored++;
        continue;
      }
      from = Math.max(at, logStartOffset);
      summary.fromSnapshot++;
      break;
    }
    summary.partitions++;
    summary.snapshotsIgnored += ignored;
    await this.replay(topic, partition, from, highWatermark, summary);
    // A fresh snapshot at the log end unless the newest good one is there: it also replaces (or, as
    // the engine keeps two, soon pushes out) a damaged one, which Kafka deletes at load.
    if (this.storage.durable && highWatermark > 0 && (ignored > 0 || stored[stored.length - 1] !== highWatermark)) await this.take(topic, partition, true);
  }

  /**
   * Replay the idempotent and transactional batches and the transaction markers of [from, to) into
   * the manager, REPLAY_READ_BYTES per read: open transactions and the aborted-transactions index
   * come back exactly as they were.
   */
  private async replay(topic: string, partition: number, from: number, to: number, summary: RecoverySummary): Promise<void> {
    let offset = from;
    while (offset < to) {
      const read = await this.storage.read(topic, partition, offset, REPLAY_READ_BYTES, true);
      let next = offset;
      for (const buf of read.batches) {
        for (const h of iterateBatches(buf)) {
          next = Math.max(next, h.lastOffset + 1);
          if (h.producerId < 0) continue;
          if (h.isControl) {
            const marker = await readTxnMarker(buf, h);
            if (marker) this.producers.recordMarker(topic, partition, marker, h.baseOffset, h.maxTimestamp);
            summary.batchesReplayed++;
            continue;
          }
          // Kafka's last sequence is baseSequence + lastOffsetDelta (kept by compaction, unlike the count).
          this.producers.replay(
            topic,
            partition,
            { producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, recordCount: h.lastOffsetDelta + 1, isTransactional: h.isTransactional },
            h.baseOffset,
            h.maxTimestamp,
          );
          summary.batchesReplayed++;
        }
      }
      summary.bytesReplayed += read.bytes;
      if (next <= offset) break; // nothing more to read (a gap at the end)
      offset = next;
    }
  }
}

function partitionsOf(topics: readonly Topic[]): [string, number][] {
  const out: [string, number][] = [];
  for (const t of topics) for (let p = 0; p < t.partitionCount; p++) out.push([t.name, p]);
  return out;
}

async function runLimited(work: [string, number][], fn: (topic: string, partition: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const [topic, partition] = work[next++]!;
      await fn(topic, partition);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, worker));
}
