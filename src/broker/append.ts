/**
 * The produce path for one partition: validate the batch bytes, apply idempotence, stamp what the
 * broker stamps (leader epoch, LogAppendTime), append through storage, remember the producer's
 * sequence, wake long-polling fetches. The records themselves are never decoded here.
 */
import type { Clock } from '../base/clock.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { assertWritableBatch, validateBatches, setPartitionLeaderEpoch, setLogAppendTime, type ValidatedBatch } from '../protocol/records/batch.js';
import { RecordsError } from '../protocol/records/errors.js';
import { encodeBatch, sameHeaderAs, type DecodedRecord } from '../protocol/records/record.js';
import { withDecodedBatch } from '../protocol/records/decode-turns.js';
import { Compression, type CompressionType } from '../protocol/records/compression.js';
import type { Topic } from './topics.js';
import type { Broker } from './broker.js';
import type { RequestContext } from './handler.js';
import type { PartitionAppendResult, RecordError } from '../contracts/stages.js';
import { MAX_DECOMPRESSED_BATCH_BYTES } from '../base/limits.js';

/** The leader epoch of every partition on this single broker. */
export const LEADER_EPOCH = 0;
/** Timestamp bounds at or above this are Kafka's "unlimited" (Long.MAX_VALUE). */
const UNLIMITED_MS = 2 ** 62;

export type { RecordError, PartitionAppendResult };

function failed(errorCode: number, errorMessage: string | null = null, recordErrors: RecordError[] = []): PartitionAppendResult {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors };
}

/**
 * What the produce path needs from a topic's configs, read once per topic object instead of once per
 * append (five config lookups, a split and three number parses per batch showed in the produce
 * profile). Topic objects are immutable — an AlterConfigs replaces the object — and the broker's
 * topic defaults are fixed at start, so a cache keyed by the object can never serve a stale value.
 */
interface AppendPolicy {
  maxMessageBytes: number;
  logAppendTime: boolean;
  compacted: boolean;
  beforeMs: number;
  afterMs: number;
  /** The records must be decoded: keys of a compacted topic, or bounded CreateTime timestamps. */
  checkRecords: boolean;
  /** The topic's `compression.type` when it is not 'producer': batches are stored in this codec. */
  compression: CompressionType | null;
  /** compression.gzip.level / compression.zstd.level for that codec (undefined: the codec's default). */
  compressionLevel: number | undefined;
  /** The broker's clock: `message.timestamp.before/after.max.ms` are checked against its now. */
  clock: Clock;
}

const TOPIC_CODECS: Record<string, CompressionType> = {
  uncompressed: Compression.none,
  gzip: Compression.gzip,
  snappy: Compression.snappy,
  lz4: Compression.lz4,
  zstd: Compression.zstd,
};

const policies = new WeakMap<Topic, AppendPolicy>();

function appendPolicy(broker: Broker, topic: Topic): AppendPolicy {
  let p = policies.get(topic);
  if (p) return p;
  const value = (name: string) => broker.topics.configValue(topic, name);
  const compacted = (value('cleanup.policy') ?? '').split(',').some((x) => x.trim() === 'compact');
  const logAppendTime = value('message.timestamp.type') === 'LogAppendTime';
  const beforeMs = Number(value('message.timestamp.before.max.ms') ?? UNLIMITED_MS);
  const afterMs = Number(value('message.timestamp.after.max.ms') ?? UNLIMITED_MS);
  const checkTime = !logAppendTime && (beforeMs < UNLIMITED_MS || afterMs < UNLIMITED_MS);
  const compression = TOPIC_CODECS[value('compression.type') ?? 'producer'] ?? null;
  const level =
    compression === Compression.gzip ? Number(value('compression.gzip.level') ?? -1) : compression === Compression.zstd ? Number(value('compression.zstd.level') ?? 3) : -1;
  p = {
    maxMessageBytes: Number(value('max.message.bytes') ?? broker.config.messageMaxBytes),
    logAppendTime,
    compacted,
    beforeMs,
    afterMs,
    checkRecords: compacted || checkTime,
    compression,
    compressionLevel: level === -1 ? undefined : level,
    clock: broker.clock,
  };
  policies.set(topic, p);
  return p;
}

/**
 * Run `use` on the batch's records (in the broker's decoding turn, within the request's budget:
 * decode-turns.ts), or answer for a batch whose records cannot be read.
 */
async function withRecords(
  h: ValidatedBatch,
  ctx: RequestContext | undefined,
  use: (records: DecodedRecord[]) => Promise<ValidatedBatch | PartitionAppendResult | null> | PartitionAppendResult | null,
): Promise<ValidatedBatch | PartitionAppendResult | null> {
  try {
    return await withDecodedBatch(ctx, h.buffer, MAX_DECOMPRESSED_BATCH_BYTES, (b) => use(b.records));
  } catch (err) {
    if (err instanceof RecordsError) return failed(err.errorCode, err.message);
    throw err;
  }
}

/**
 * Checks that need the records themselves, done only when the topic's configs ask for them (so an
 * ordinary topic never decodes a batch): a compacted topic refuses records without a key, and
 * `message.timestamp.before/after.max.ms` (KIP-937) bound CreateTime timestamps.
 */
async function checkRecords(topic: Topic, policy: AppendPolicy, h: ValidatedBatch, ctx: RequestContext | undefined): Promise<PartitionAppendResult | null> {
  return (await withRecords(h, ctx, (records) => recordProblem(topic, policy, records))) as PartitionAppendResult | null;
}

function recordProblem(topic: Topic, policy: AppendPolicy, records: DecodedRecord[]): PartitionAppendResult | null {
  const { compacted, beforeMs, afterMs } = policy;
  const checkTime = !policy.logAppendTime && (beforeMs < UNLIMITED_MS || afterMs < UNLIMITED_MS);
  const now = policy.clock.now();
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

/**
 * A topic whose `compression.type` names a codec stores its batches in that codec, as Kafka does: a
 * batch in another codec (or uncompressed) is decoded and written again, keeping everything but the
 * codec — offsets deltas, timestamps, producer id, epoch and sequence, attributes. The result must
 * still fit max.message.bytes (MESSAGE_TOO_LARGE otherwise — the Java client's RecordTooLargeException).
 */
async function recompress(h: ValidatedBatch, policy: AppendPolicy, ctx: RequestContext | undefined): Promise<ValidatedBatch | PartitionAppendResult> {
  return (await withRecords(h, ctx, (records) => encodeAgain(h, policy, records)))!;
}

async function encodeAgain(h: ValidatedBatch, policy: AppendPolicy, records: DecodedRecord[]): Promise<ValidatedBatch | PartitionAppendResult> {
  const bytes = await encodeBatch({
    records: records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: h.baseTimestamp + r.timestampDelta,
      offsetDelta: r.offsetDelta,
      attributes: r.attributes,
    })),
    ...sameHeaderAs(h),
    compression: policy.compression!,
    ...(policy.compressionLevel === undefined ? {} : { compressionLevel: policy.compressionLevel }),
    maxTimestamp: h.maxTimestamp,
    lastOffsetDelta: h.lastOffsetDelta,
  });
  if (bytes.length > policy.maxMessageBytes) {
    return failed(ErrorCode.MESSAGE_TOO_LARGE, `The batch is ${bytes.length} bytes in the topic's compression.type, larger than max.message.bytes (${policy.maxMessageBytes})`);
  }
  try {
    return validateBatches(bytes, { maxMessageBytes: policy.maxMessageBytes, fromClient: false })[0]!;
  } catch (err) {
    if (err instanceof RecordsError) return failed(err.errorCode, err.message);
    throw err;
  }
}

/** The topic's compression.type names a codec and the batch is in another one. */
function needsRecompression(h: ValidatedBatch, policy: AppendPolicy): boolean {
  return policy.compression !== null && h.compression !== policy.compression && h.lastOffsetDelta >= 0;
}

export async function appendToPartition(
  broker: Broker,
  topicName: string,
  partition: number,
  records: Buffer | null,
  produceVersion: number,
  /** The request, for hooks (src/hooks/): beforeProduce and afterProduce run only with it. */
  ctx?: RequestContext,
  /** Called once the batch has its offsets in the engine (not called when it is refused before). */
  queued?: () => void,
  /** The produce request's transactional id (verification of a transactional batch; null for none). */
  transactionalId: string | null = null,
): Promise<PartitionAppendResult> {
  const topic = broker.topics.get(topicName);
  if (!topic || partition < 0 || partition >= topic.partitionCount) {
    return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
  }
  const policy = appendPolicy(broker, topic);
  const maxMessageBytes = policy.maxMessageBytes;
  if (records === null) return failed(ErrorCode.INVALID_RECORD, 'Produce request has no records for the partition');
  let h: ValidatedBatch;
  try {
    // Produce v3+: exactly one batch, as Kafka requires; checked CRC, sizes, offsets, magic.
    h = validateBatches(records, { maxMessageBytes, produceVersion, fromClient: true })[0]!;
  } catch (err) {
    if (err instanceof RecordsError) return failed(err.errorCode, err.message);
    throw err;
  }
  // Only a batch with a producer id takes part in a transaction (Kafka's `hasProducerId && isTransactional`);
  // the flag alone on an anonymous batch changes nothing, as in Kafka.
  if (h.isTransactional && h.producerId >= 0) {
    // KIP-890 part 1: the coordinator must know the partition is in the producer's ongoing transaction
    // (a late batch of an aborted or timed-out transaction must not open a new one that never ends).
    // Brokers sharing a database, the coordinator elsewhere: a batch continuing the producer's
    // transaction open here at its epoch needs no second read of the database (Kafka too verifies
    // only a partition's first batch of a transaction; a late one is ended by the abort marker).
    const verified = broker.cluster?.exclusiveCoordinators === true && broker.producers.inTransaction(topicName, partition, h.producerId, h.producerEpoch)
      ? ErrorCode.NONE
      : await broker.txnVerifier.verifyTransactionalProduce(h.producerId, h.producerEpoch, topicName, partition, transactionalId);
    if (verified !== ErrorCode.NONE) {
      return failed(verified, `Producer ${h.producerId} at epoch ${h.producerEpoch} has no ongoing transaction including ${topicName}-${partition}`);
    }
  }
  if (policy.checkRecords) {
    const problem = await checkRecords(topic, policy, h, ctx);
    if (problem) return problem;
  }

  // An idempotent (or transactional) batch is checked, appended and recorded as one step per producer and partition
  // (ProducerStateManager.exclusive): a retry that arrives while the original is still being
  // written waits for it and is answered as its duplicate.
  if (h.producerId >= 0) {
    // Pipelining (issue 22): the producer's next batch may be appended while the one before it waits
    // for its fsync, when the engine fails appends in order and nothing runs between check and append.
    const batch = h;
    const goAhead =
      broker.storage.capabilities.appendsFailInOrder === true && broker.hooks.beforeProduce === null && !needsRecompression(h, policy) ? h : null;
    return broker.producers.exclusive(
      topicName,
      partition,
      h.producerId,
      (slot, continued) =>
        appendBatch(
          broker,
          topicName,
          partition,
          batch,
          policy,
          ctx,
          () => {
            slot.queued(batch);
            queued?.();
          },
          continued,
          slot.ahead,
        ),
      goAhead,
    );
  }
  return appendBatch(broker, topicName, partition, h, policy, ctx, queued, false);
}

async function appendBatch(
  broker: Broker,
  topicName: string,
  partition: number,
  h: ValidatedBatch,
  policy: AppendPolicy,
  ctx: RequestContext | undefined,
  queued: (() => void) | undefined,
  /** The batch continues the producer's last one in flight (ProducerStateManager.exclusive): already checked. */
  continued: boolean,
  /** Settles when the batches this one went ahead of are recorded (or failed): it is recorded after them. */
  ahead: Promise<unknown> | null = null,
): Promise<PartitionAppendResult> {
  const idempotent = h.producerId >= 0;
  if (idempotent && !continued) {
    const check = broker.producers.check(topicName, partition, h);
    if (check.kind === 'duplicate') {
      const { logStartOffset } = broker.storage.offsets(topicName, partition);
      return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: check.baseOffset, logAppendTimeMs: -1, logStartOffset };
    }
    if (check.kind === 'error') return failed(check.errorCode, check.message);
  }
  // Hooks may refuse the batch or replace it (transformed records; same producer id, epoch and
  // sequences). Duplicates were answered above, so a retried batch does not run them twice.
  if (broker.hooks.beforeProduce !== null && ctx !== undefined) {
    const hooked = await broker.hooks.beforeProduce(ctx, topicName, partition, h);
    if ('errorCode' in hooked) return hooked;
    h = hooked;
  }

  if (needsRecompression(h, policy)) {
    const re = await recompress(h, policy, ctx);
    if ('errorCode' in re) return re;
    h = re;
  }

  setPartitionLeaderEpoch(h.buffer, LEADER_EPOCH);
  let logAppendTimeMs = -1;
  let maxTimestamp = h.maxTimestamp;
  if (policy.logAppendTime) {
    logAppendTimeMs = broker.clock.now();
    maxTimestamp = logAppendTimeMs;
    setLogAppendTime(h.buffer, logAppendTimeMs);
  }

  const recordCount = h.lastOffsetDelta + 1;
  const batch = h;
  // A transactional batch opens the producer's transaction here if none is open (the LSO stops at it).
  const record = idempotent ? (offset: number) => broker.producers.record(topicName, partition, batch, offset, maxTimestamp) : null;
  const written = await appendRecorded(broker, topicName, partition, { bytes: h.buffer, recordCount, maxTimestamp }, 'append to', record, queued, ahead);
  if ('errorCode' in written) return failed(written.errorCode, written.message);
  const { baseOffset } = written;
  broker.metrics?.produced(topicName, h.buffer.length, recordCount);
  if (broker.hooks.afterProduce !== null && ctx !== undefined) await broker.hooks.afterProduce(ctx, topicName, partition, h, baseOffset, logAppendTimeMs);
  const { logStartOffset } = broker.storage.offsets(topicName, partition);
  return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset, logAppendTimeMs, logStartOffset };
}

/**
 * Append one batch through storage with what every write of the broker needs around it (produced
 * batches here, transaction markers in txn-log.ts): a failure answered as a code (a topic deleted
 * meanwhile is UNKNOWN_TOPIC_OR_PARTITION; an engine fault per engine-faults.ts), the producer's
 * state recorded with `record` (null: no producer id), a snapshot started when due, and long polls
 * of the partition woken.
 */
export async function appendRecorded(
  broker: Broker,
  topic: string,
  partition: number,
  batch: { bytes: Buffer; recordCount: number; maxTimestamp: number },
  what: string,
  record: ((baseOffset: number) => void) | null,
  /** Called as soon as the engine has the batch in its call order (its offsets are assigned). */
  queued?: () => void,
  /** Record only once this settles (the producer's earlier batches are recorded first). */
  ahead: Promise<unknown> | null = null,
): Promise<{ baseOffset: number } | { errorCode: number; message: string | null }> {
  let baseOffset: number;
  // While a producer's batch is being appended, snapshots are taken below it: it may be in the log
  // before it is recorded (ProducerStateManager.snapshotOffset). The high watermark now is at most
  // the offset the engine assigns inside `append`.
  const appendId = record !== null ? broker.producers.appendStarted(topic, partition, broker.storage.offsets(topic, partition).highWatermark) : -1;
  try {
    // Inside the try: a broken header is the broker's bug, answered like an engine's (engine-faults.ts).
    assertWritableBatch(batch.bytes, batch.recordCount);
    const appended = broker.storage.append(topic, partition, batch);
    queued?.();
    ({ baseOffset } = await appended);
    if (ahead !== null) await ahead;
  } catch (err) {
    if (record !== null) broker.producers.appendDone(topic, partition, appendId);
    if (!broker.topics.hasPartition(topic, partition)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: null };
    const answer = broker.engineFaults.answer(`${what} ${topic}-${partition}`, err);
    return { errorCode: answer.errorCode, message: answer.message };
  }
  if (record !== null) {
    try {
      record(baseOffset);
    } finally {
      broker.producers.appendDone(topic, partition, appendId);
    }
  }
  broker.producerSnapshots.afterAppend(topic, partition);
  broker.waiters.notify(topic, partition);
  return { baseOffset };
}
