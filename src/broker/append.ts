/**
 * The produce path for one partition: validate the batch bytes, apply idempotence, stamp what the
 * broker stamps (leader epoch, LogAppendTime), append through storage, remember the producer's
 * sequence, wake long-polling fetches. The records themselves are never decoded here.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { validateBatches, setPartitionLeaderEpoch, setLogAppendTime, type ValidatedBatch } from '../protocol/records/batch.js';
import { RecordsError } from '../protocol/records/errors.js';
import type { Broker } from './broker.js';

/** The leader epoch of every partition on this single broker. */
export const LEADER_EPOCH = 0;

export interface PartitionAppendResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

function failed(errorCode: number, errorMessage: string | null = null): PartitionAppendResult {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

export async function appendToPartition(
  broker: Broker,
  topicName: string,
  partition: number,
  records: Buffer | null,
  produceVersion: number,
): Promise<PartitionAppendResult> {
  const topic = broker.topics.get(topicName);
  if (!topic || partition < 0 || partition >= topic.partitionCount) {
    return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
  }
  const maxMessageBytes = Number(broker.topics.configValue(topic, 'max.message.bytes') ?? broker.config.messageMaxBytes);
  if (records === null) return failed(ErrorCode.INVALID_RECORD, 'Produce request has no records for the partition');
  let h: ValidatedBatch;
  try {
    // Produce v3+: exactly one batch, as Kafka requires; checked CRC, sizes, offsets, magic.
    h = validateBatches(records, { maxMessageBytes, produceVersion, fromClient: true })[0]!;
  } catch (err) {
    if (err instanceof RecordsError) return failed(err.errorCode, err.message);
    throw err;
  }
  if (h.isTransactional) {
    return failed(ErrorCode.INVALID_TXN_STATE, 'Transactions are not supported by this broker; the batch is transactional');
  }

  const idempotent = h.producerId >= 0;
  if (idempotent) {
    const check = broker.producers.check(topicName, partition, h);
    if (check.kind === 'duplicate') {
      const { logStartOffset } = broker.storage.offsets(topicName, partition);
      return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: check.baseOffset, logAppendTimeMs: -1, logStartOffset };
    }
    if (check.kind === 'error') return failed(check.errorCode, check.message);
  }

  setPartitionLeaderEpoch(h.buffer, LEADER_EPOCH);
  let logAppendTimeMs = -1;
  let maxTimestamp = h.maxTimestamp;
  if (broker.topics.configValue(topic, 'message.timestamp.type') === 'LogAppendTime') {
    logAppendTimeMs = Date.now();
    maxTimestamp = logAppendTimeMs;
    setLogAppendTime(h.buffer, logAppendTimeMs);
  }

  let baseOffset: number;
  try {
    ({ baseOffset } = await broker.storage.append(topicName, partition, { bytes: h.buffer, recordCount: h.lastOffsetDelta + 1, maxTimestamp }));
  } catch (err) {
    if (!broker.topics.hasPartition(topicName, partition)) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    broker.log.error(`append to ${topicName}-${partition} failed: ${(err as Error).message}`);
    return failed(ErrorCode.KAFKA_STORAGE_ERROR, (err as Error).message);
  }
  if (idempotent) broker.producers.record(topicName, partition, h, baseOffset);
  broker.waiters.notify(topicName, partition);
  const { logStartOffset } = broker.storage.offsets(topicName, partition);
  return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset, logAppendTimeMs, logStartOffset };
}
