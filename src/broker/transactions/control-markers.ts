/**
 * The broker's TxnMarkerWriter until the log side of transactions is in place: it appends the
 * COMMIT/ABORT control batch Kafka writes (attributes transactional + control, one record whose key is
 * version 0 + type, 0 abort / 1 commit, and whose value is version 0 + the coordinator epoch) to the
 * partition through storage, as durable as any append. It keeps no per-partition transaction state:
 * no last stable offset, no aborted-transactions index — that is the log side's (TxnMarkerWriter in
 * src/contracts/transactions.ts), which replaces this writer on the broker.
 *
 * Callers: the transaction coordinator, on the event loop.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { encodeBatchSync } from '../../protocol/records/record.js';
import type { TxnMarkerWriter } from '../../contracts/transactions.js';
import type { StorageEngine } from '../../storage/engine.js';
import type { EngineFaults } from '../engine-faults.js';
import type { PartitionWaiters } from '../waiters.js';
import { LEADER_EPOCH } from '../append.js';

/** Kafka's ControlRecordType ids and the version of the marker key and value. */
const ABORT = 0;
const COMMIT = 1;
const MARKER_VERSION = 0;

export class ControlBatchMarkerWriter implements TxnMarkerWriter {
  constructor(
    private readonly deps: {
      readonly storage: StorageEngine;
      readonly topics: { hasPartition(name: string, partition: number): boolean };
      readonly waiters: PartitionWaiters;
      readonly engineFaults: EngineFaults;
    },
  ) {}

  async writeTxnMarker(topic: string, partition: number, m: { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean }): Promise<number> {
    if (!this.deps.topics.hasPartition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const key = Buffer.alloc(4);
    key.writeInt16BE(MARKER_VERSION, 0);
    key.writeInt16BE(m.commit ? COMMIT : ABORT, 2);
    const value = Buffer.alloc(6);
    value.writeInt16BE(MARKER_VERSION, 0);
    value.writeInt32BE(m.coordinatorEpoch, 2);
    const now = Date.now();
    const bytes = encodeBatchSync({
      records: [{ key, value, timestamp: now }],
      isTransactional: true,
      isControl: true,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      baseSequence: -1,
      partitionLeaderEpoch: LEADER_EPOCH,
      now,
    });
    try {
      await this.deps.storage.append(topic, partition, { bytes, recordCount: 1, maxTimestamp: now });
    } catch (err) {
      if (!this.deps.topics.hasPartition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return this.deps.engineFaults.answer(`write transaction marker to ${topic}-${partition}`, err).errorCode;
    }
    this.deps.waiters.notify(topic, partition);
    return ErrorCode.NONE;
  }
}
