/**
 * The partitions' side of transactions (KIP-98): what a transaction leaves in each partition's log
 * and how readers see it.
 *
 * - Markers: `PartitionTxnMarkers.writeTxnMarker` (the TxnMarkerWriter the coordinator calls) appends
 *   a COMMIT or ABORT control batch — attributes transactional + control, one record whose key is
 *   int16 version 0 + int16 type (0 abort, 1 commit) and whose value is int16 version 0 + int32
 *   coordinator epoch, the producer's id and epoch in the header, base sequence -1 — and then closes
 *   the producer's open transaction in ProducerStateManager (an abort enters the aborted-transactions
 *   index). Control batches are written only here: they never pass through the produce path, so they
 *   never reach produce hooks.
 * - The last stable offset (Kafka's UnifiedLog.lastStableOffset): the first offset of the oldest open
 *   transaction, not below the log start, else the high watermark. read_committed Fetch serves only
 *   below it and ListOffsets latest answers it.
 * - Before appending a transactional batch the produce path asks the broker's TxnProduceVerifier
 *   (the transaction coordinator) whether the partition is part of the producer's transaction.
 *
 * Callers: the broker's event loop (append.ts, 01-fetch.ts, 02-list-offsets.ts, the coordinator).
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { iterateBatches, type BatchHeader } from '../protocol/records/batch.js';
import { ControlRecordType, decodeBatch, encodeEndTxnMarkerBatch } from '../protocol/records/record.js';
import type { TxnMarkerWriter } from '../contracts/transactions.js';
import type { PartitionOffsets } from '../storage/engine.js';
import type { Broker } from './broker.js';
import type { TxnMarkerIdentity } from './producer-state.js';
import { LEADER_EPOCH, appendRecorded } from './append.js';

/** The partition's last stable offset, given its offsets now. */
export function lastStableOffset(broker: Broker, topic: string, partition: number, offsets: PartitionOffsets): number {
  const first = broker.producers.firstUnstableOffset(topic, partition);
  if (first === null) return offsets.highWatermark;
  // Kafka: an open transaction that began below the log start (DeleteRecords, retention) holds the
  // LSO at the log start, never below it.
  return Math.min(offsets.highWatermark, Math.max(offsets.logStartOffset, first));
}

/**
 * The COMMIT/ABORT marker of a control batch at `h.position` in `buf`, or null for another control
 * record type (KRaft's, never written by this broker) or an unreadable one.
 */
export async function readTxnMarker(buf: Buffer, h: BatchHeader): Promise<TxnMarkerIdentity | null> {
  const { records } = await decodeBatch(buf.subarray(h.position, h.position + h.byteLength), { verifyCrc: false });
  const control = records[0]?.control;
  if (!control || (control.type !== ControlRecordType.abort && control.type !== ControlRecordType.commit)) return null;
  return { producerId: h.producerId, producerEpoch: h.producerEpoch, coordinatorEpoch: control.coordinatorEpoch ?? -1, commit: control.type === ControlRecordType.commit };
}

/**
 * Keep only the batches that start below `limit` (read_committed: the LSO). A batch never straddles
 * the LSO, which is always a batch's base offset or the high watermark, so cutting at batch
 * boundaries serves exactly what is stable. Applies to the first batch too: KIP-74's "at least one
 * batch" never lets a read_committed consumer see unstable data.
 */
export function batchesBelow(batches: Buffer[], limit: number): { batches: Buffer[]; bytes: number; nextOffset: number } {
  const out: Buffer[] = [];
  let bytes = 0;
  let nextOffset = -1;
  for (const buf of batches) {
    let end = 0;
    let cut = false;
    for (const h of iterateBatches(buf)) {
      if (h.baseOffset >= limit) {
        cut = true;
        break;
      }
      end = h.position + h.byteLength;
      nextOffset = h.lastOffset + 1;
    }
    if (end > 0) {
      const kept = end === buf.length ? buf : buf.subarray(0, end);
      out.push(kept);
      bytes += kept.length;
    }
    if (cut) break;
  }
  return { batches: out, bytes, nextOffset };
}

/** The offset after the last batch of a read (-1 for none): the upper bound of aborted transactions to list. */
export function endOfBatches(batches: Buffer[]): number {
  let next = -1;
  for (const buf of batches) for (const h of iterateBatches(buf)) next = h.lastOffset + 1;
  return next;
}

/** Writes the coordinator's transaction markers into partitions (the broker's `txnMarkers`). */
export class PartitionTxnMarkers implements TxnMarkerWriter {
  constructor(private readonly broker: Broker) {}

  async writeTxnMarker(topic: string, partition: number, m: { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean }): Promise<number> {
    const broker = this.broker;
    if (!broker.topics.hasPartition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    // One step with the producer's appends to the partition (as its data batches are), so a marker
    // and a batch of the same producer are recorded in offset order.
    return broker.producers.exclusive(topic, partition, m.producerId, () => this.append(topic, partition, m));
  }

  private async append(topic: string, partition: number, m: TxnMarkerIdentity): Promise<number> {
    const broker = this.broker;
    if (!broker.topics.hasPartition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const refused = broker.producers.checkMarker(topic, partition, m);
    if (refused) {
      broker.log.warn(`transaction marker for ${topic}-${partition} not written: ${refused.message}`);
      return refused.errorCode;
    }
    const timestamp = broker.clock.now();
    const bytes = encodeEndTxnMarkerBatch({ ...m, timestamp, partitionLeaderEpoch: LEADER_EPOCH });
    // Recorded as a produced batch is (append.ts); waking long polls matters here: the LSO may have moved.
    const written = await appendRecorded(broker, topic, partition, { bytes, recordCount: 1, maxTimestamp: timestamp }, 'transaction marker to', (baseOffset) => {
      broker.producers.recordMarker(topic, partition, m, baseOffset, timestamp);
    });
    if ('errorCode' in written) return written.errorCode;
    return ErrorCode.NONE;
  }
}
