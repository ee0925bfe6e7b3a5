/**
 * Idempotent producer state after a restart: rebuilt from the newest batches of each partition's log,
 * as Kafka's ProducerStateManager rebuilds it from the log (Kafka starts from a snapshot taken at
 * segment roll; Rafka keeps no snapshot and scans a bounded tail instead).
 *
 * Per partition, the newest batches up to `PRODUCER_STATE_SCAN_BYTES` (a contiguous tail, ending at
 * the high watermark) are read through the storage interface and their headers replayed in offset
 * order into the ProducerStateManager: producer id, epoch, first and last sequence, base offset. A
 * producer whose batches lie in that tail continues where it was — a retried batch that the broker
 * acknowledged before the restart is answered as a duplicate with its original offset. A producer
 * whose last batch is older than the tail is unknown (UNKNOWN_PRODUCER_ID for sequence ≠ 0) and the
 * client starts over with a new producer id, as after Kafka expires a producer. The bound's cost: a
 * batch written but not acknowledged when the broker died, with more than the scanned bytes written
 * after it, is unknown too, and a client that renumbers it under a new producer id writes it again
 * (docs/reliability.md). Kafka's producer-state snapshots would lift the bound.
 *
 * Called once by Broker.start(), before the listener opens.
 */
import type { StorageEngine } from '../storage/engine.js';
import { iterateBatches, type BatchHeader } from '../protocol/records/batch.js';
import type { Topic } from './topics.js';
import type { Logger } from './logger.js';
import type { ProducerStateManager } from './producer-state.js';

/** Named limit: bytes of the newest batches read per partition to rebuild producer state. */
export const PRODUCER_STATE_SCAN_BYTES = 1024 * 1024;
/** Named limit: storage reads per partition while looking for the tail's start. */
const MAX_SCAN_READS = 32;
/** Named limit: bytes read per partition in all, including reads that overshot and were discarded. */
const SCAN_READ_BYTES_FACTOR = 4;
/** Partitions scanned at once. */
const SCAN_CONCURRENCY = 8;
/** First step back from the high watermark, in offsets; grows while reads fit. */
const FIRST_STEP_OFFSETS = 256;

export interface RebuildOptions {
  /** Bytes per partition (tests use small values); default PRODUCER_STATE_SCAN_BYTES. */
  scanBytes?: number;
}

export interface RebuildSummary {
  partitions: number;
  batches: number;
  /** Producer/partition entries in the manager afterwards. */
  entries: number;
  bytesRead: number;
}

export async function rebuildProducerState(
  producers: ProducerStateManager,
  storage: StorageEngine,
  topics: readonly Topic[],
  log: Logger,
  opts: RebuildOptions = {},
): Promise<RebuildSummary> {
  const scanBytes = opts.scanBytes ?? PRODUCER_STATE_SCAN_BYTES;
  const started = Date.now();
  const work: [string, number][] = [];
  for (const t of topics) for (let p = 0; p < t.partitionCount; p++) work.push([t.name, p]);
  const summary: RebuildSummary = { partitions: 0, batches: 0, entries: 0, bytesRead: 0 };
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const [topic, partition] = work[next++]!;
      let tail;
      try {
        tail = await tailBatches(storage, topic, partition, scanBytes);
      } catch (err) {
        // Its producers stay unknown (UNKNOWN_PRODUCER_ID, then a new producer id): safe, and the
        // partition itself is served or refused by the engine as usual.
        log.warn(`producer state of ${topic}-${partition} not rebuilt: ${(err as Error).message}`);
        continue;
      }
      summary.partitions++;
      summary.bytesRead += tail.bytesRead;
      for (const h of tail.headers) {
        if (h.producerId < 0 || h.isControl) continue;
        // Kafka's last sequence is baseSequence + lastOffsetDelta (kept by compaction, unlike the count).
        producers.record(topic, partition, { producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, recordCount: h.lastOffsetDelta + 1 }, h.baseOffset);
        summary.batches++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, work.length) }, worker));
  summary.entries = producers.size;
  if (summary.batches > 0) {
    log.info(
      `producer state: ${summary.entries} producer/partition entries from ${summary.batches} idempotent batches ` +
        `(newest ${scanBytes} bytes of ${summary.partitions} partitions, ${summary.bytesRead} bytes read, ${Date.now() - started} ms)`,
    );
  }
  return summary;
}

/**
 * Headers of a contiguous run of batches that ends with the partition's last batch and holds at most
 * `scanBytes` bytes: the longest such run, unless the read limits stop the search first. The storage
 * interface reads forward from an offset, so the start is found by stepping back from the high
 * watermark: each read covers [start, covered start) and is kept when it fits in what is left of
 * the budget; the next step is sized from the bytes per offset seen so far, and a step that did not
 * fit is retried at most half as long.
 */
export async function tailBatches(
  storage: StorageEngine,
  topic: string,
  partition: number,
  scanBytes: number,
): Promise<{ headers: BatchHeader[]; bytesRead: number }> {
  const { logStartOffset, highWatermark } = storage.offsets(topic, partition);
  const runs: BatchHeader[][] = [];
  let coveredFrom = highWatermark; // [coveredFrom, highWatermark) is in `runs`
  let budget = scanBytes;
  let bytesRead = 0;
  let seenBytes = 0;
  let seenOffsets = 0;
  let step = FIRST_STEP_OFFSETS;
  const fitting = () => (seenOffsets > 0 ? Math.floor((budget * seenOffsets) / seenBytes) : step * 4);
  for (let i = 0; i < MAX_SCAN_READS && coveredFrom > logStartOffset && budget > 0 && bytesRead < SCAN_READ_BYTES_FACTOR * scanBytes; i++) {
    const start = Math.max(logStartOffset, coveredFrom - step);
    const read = await storage.read(topic, partition, start, budget, false);
    bytesRead += read.bytes;
    const headers: BatchHeader[] = [];
    for (const buf of read.batches) for (const h of iterateBatches(buf)) headers.push(h);
    if (headers.length > 0) {
      seenBytes += read.bytes;
      seenOffsets += headers[headers.length - 1]!.lastOffset + 1 - headers[0]!.baseOffset;
    }
    const taken = headers.filter((h) => h.baseOffset < coveredFrom);
    const lastTaken = taken[taken.length - 1];
    // The run must join what is already covered: the read went on past it, or ended right at it.
    const joins = headers.some((h) => h.baseOffset >= coveredFrom) || (lastTaken !== undefined && lastTaken.lastOffset + 1 >= coveredFrom);
    if (!joins) {
      const tried = coveredFrom - start;
      if (tried <= 1) break; // not even the batch just before fits in what is left
      step = Math.max(1, Math.min(fitting(), Math.floor(tried / 2)));
      continue;
    }
    if (taken.length > 0) {
      runs.unshift(taken);
      for (const h of taken) budget -= h.byteLength;
      coveredFrom = taken[0]!.baseOffset;
    } else {
      coveredFrom = start; // no batch in [start, coveredFrom): a gap left by compaction
    }
    if (start === logStartOffset) break;
    step = Math.max(1, fitting());
  }
  return { headers: runs.flat(), bytesRead };
}
