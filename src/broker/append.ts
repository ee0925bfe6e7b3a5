/**
 * The produce path for one partition: validate the batch bytes, apply idempotence, stamp what the
 * broker stamps (leader epoch, LogAppendTime), append through storage, remember the producer's
 * sequence, wake long-polling fetches. The records themselves are never decoded here.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { validateBatches, setPartitionLeaderEpoch, setLogAppendTime, type ValidatedBatch } from '../protocol/records/batch.js';
import { RecordsError } from '../protocol/records/errors.js';
import { decodeBatch } from '../protocol/records/record.js';
import type { Topic } from './topics.js';
import type { Broker } from './broker.js';

/** The leader epoch of every partition on this single broker. */
export const LEADER_EPOCH = 0;
/** Named limit: the most bytes one produced batch may decompress to when its records must be read. */
export const MAX_DECOMPRESSED_BATCH_BYTES = 128 * 1024 * 1024;
/** Timestamp bounds at or above this are Kafka's "unlimited" (Long.MAX_VALUE). */
const UNLIMITED_MS = 2 ** 62;

export interface RecordError {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

export interface PartitionAppendResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Which records made the batch fail (INVALID_RECORD, INVALID_TIMESTAMP), as Kafka reports them. */
  recordErrors?: RecordError[];
}

function failed(errorCode: number, errorMessage: string | null = null, recordErrors: RecordError[] = []): PartitionAppendResult {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors };
}

/**
 * Checks that need the records themselves, done only when the topic's configs ask for them (so an
 * ordinary topic never decodes a batch): a compacted topic refuses records without a key, and
 * `message.timestamp.before/after.max.ms` (KIP-937) bound CreateTime timestamps.
 */
async function checkRecords(broker: Broker, topic: Topic, h: ValidatedBatch): Promise<PartitionAppendResult | null> {
  const compacted = (broker.topics.configValue(topic, 'cleanup.policy') ?? '').split(',').some((p) => p.trim() === 'compact');
  const logAppendTime = broker.topics.configValue(topic, 'message.timestamp.type') === 'LogAppendTime';
  const beforeMs = Number(broker.topics.configValue(topic, 'message.timestamp.before.max.ms') ?? UNLIMITED_MS);
  const afterMs = Number(broker.topics.configValue(topic, 'message.timestamp.after.max.ms') ?? UNLIMITED_MS);
  const checkTime = !logAppendTime && (beforeMs < UNLIMITED_MS || afterMs < UNLIMITED_MS);
  if (!compacted && !checkTime) return null;
  let records;
  try {
    ({ records } = await decodeBatch(h.buffer, { maxDecompressedBytes: MAX_DECOMPRESSED_BATCH_BYTES }));
  } catch (err) {
    if (err instanceof RecordsError) return failed(err.errorCode, err.message);
    throw err;
  }
  const now = Date.now();
  const keyErrors: RecordError[] = [];
  const timeErrors: RecordError[] = [];
  records.forEach((r, i) => {
    if (compacted && r.key === null) {
      keyErrors.push({ batchIndex: i, batchIndexErrorMessage: `Compacted topic cannot accept message without key in topic partition ${topic.name}.` });
    }
    if (checkTime && (r.timestamp < now - beforeMs || r.timestamp > now + afterMs)) {
      timeErrors.push({
        batchIndex: i,
        batchIndexErrorMessage: `Timestamp ${r.timestamp} of message with offset ${i} is out of range. The timestamp should be within [${now - beforeMs}, ${now + afterMs}]`,
      });
    }
  });
  if (keyErrors.length > 0) return failed(ErrorCode.INVALID_RECORD, keyErrors[0]!.batchIndexErrorMessage, keyErrors);
  if (timeErrors.length > 0) return failed(ErrorCode.INVALID_TIMESTAMP, timeErrors[0]!.batchIndexErrorMessage, timeErrors);
  return null;
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
  const recordProblem = await checkRecords(broker, topic, h);
  if (recordProblem) return recordProblem;

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
