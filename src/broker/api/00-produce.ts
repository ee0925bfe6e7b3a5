/**
 * Produce (key 0), versions 3–13 (v3 is the first with record batches, magic v2).
 * - v12 is v11 (KIP-890 bumped it to signal implicit partition addition to transactions, which we
 *   do not have). v13 names topics by id (KIP-516): an id we do not know is UNKNOWN_TOPIC_ID for
 *   each of its partitions, a known topic with a bad partition UNKNOWN_TOPIC_OR_PARTITION, as Kafka.
 * - Advertised from v0, as Apache Kafka 4.0 does (KAFKA-18659): librdkafka before 2.11.1 turns
 *   compression off unless the broker advertises Produce v0. Requests at v0–2 are still refused
 *   (the connection closes, as for any unsupported version).
 * - acks must be 0, 1 or -1 (INVALID_REQUIRED_ACKS). With one replica, -1 and 1 wait for the same
 *   thing: the append as durable as the storage engine is configured to make it.
 * - acks=0 gets no response; if any partition failed, the connection is closed instead, as Kafka
 *   does, so the producer notices and refreshes metadata.
 * - Per-partition errors: UNKNOWN_TOPIC_OR_PARTITION, CORRUPT_MESSAGE (bad CRC or framing),
 *   INVALID_RECORD (not exactly one batch, bad offsets, control records), MESSAGE_TOO_LARGE (against
 *   the topic's `max.message.bytes`), UNSUPPORTED_FOR_MESSAGE_FORMAT (magic 0/1), idempotence errors
 *   (OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, UNKNOWN_PRODUCER_ID); a duplicate of a
 *   batch already written is acknowledged with its original offset and not written again.
 * - Transactional batches (KIP-98): before one is appended the transaction coordinator is asked
 *   whether the partition is part of the producer's ongoing transaction (KIP-890 part 1; append.ts):
 *   INVALID_TXN_STATE if not, INVALID_PRODUCER_EPOCH for an old epoch. `transactional_id` (v3+) is
 *   not needed for that: the coordinator knows the producer id.
 * - Partitions of one request are appended concurrently, so a durable engine can sync them together.
 *   Once all of them have their offsets the handler says so (`ctx.sequenced`), and the connection
 *   starts its next Produce without waiting for this one's fsync (connection.ts).
 * - A partition named twice is appended and answered once, with its last occurrence's records, as
 *   Kafka does (it collects the partitions of a request in a map); a topic named twice is one topic.
 * - In a cluster (cluster.ts) a partition this node does not lead is NOT_LEADER_OR_FOLLOWER, nothing
 *   written, with the current leader and its endpoint (KIP-951, v10+) so the producer goes there.
 * - ACLs (authorizer.ts), as Kafka's handleProduceRequest: transactional records need WRITE on the
 *   transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED everywhere); each topic needs WRITE
 *   on it (else TOPIC_AUTHORIZATION_FAILED, asked before whether it exists, so nothing leaks). Since
 *   KIP-679 an idempotent producer needs nothing more.
 */
import { ApiKey, ProduceRequest, ProduceResponse, type ProduceResponseTopicProduceResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { Init } from '../../protocol/codec/message.js';
import { defineHandler } from '../handler.js';
import { appendToPartition, type PartitionAppendResult } from '../append.js';
import { LeaderHints, leaderError } from '../cluster.js';
import type { Topic } from '../topics.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';

const TOPIC_AUTHORIZATION_FAILED: PartitionAppendResult = { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };

const UNKNOWN_TOPIC_ID: PartitionAppendResult = {
  errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
  errorMessage: 'This server does not host this topic ID.',
  baseOffset: -1,
  logAppendTimeMs: -1,
  logStartOffset: -1,
};

export default defineHandler({
  apiKey: ApiKey.Produce,
  minVersion: 3,
  advertisedMinVersion: 0,
  maxVersion: 13,
  request: ProduceRequest,
  response: ProduceResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    let refuse: PartitionAppendResult | null = null;
    if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
      refuse = { errorCode: ErrorCode.INVALID_REQUIRED_ACKS, errorMessage: `Invalid required acks: ${req.acks}`, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
    }
    const topicData = collapse(req.topicData, ctx.apiVersion >= 13);
    if (broker.security.authorizer.enabled && hasTransactionalRecords(topicData)) {
      if (req.transactionalId === null || !allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) {
        refuse ??= { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: null, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
      }
    }
    // Only a cluster has partitions this node does not lead; a single broker looks nothing up here.
    const led: (Topic | undefined)[] = broker.cluster === null ? [] : topicData.map((t) => (t.byId ? broker.topics.getById(t.topicId) : broker.topics.get(t.name)));
    // Pipelining (connection.ts): the next Produce may start once every partition's append has its
    // offsets. One count per partition appended, plus one held until all of them are started.
    let unsequenced = 1;
    const sequenced = ctx.sequenced;
    const oneSequenced = (): void => {
      if (--unsequenced === 0) sequenced?.();
    };
    const append = (name: string, index: number, records: Buffer | null): Promise<PartitionAppendResult> => {
      unsequenced++;
      let done = false;
      const once = () => {
        if (!done) {
          done = true;
          oneSequenced();
        }
      };
      const result = appendToPartition(broker, name, index, records, ctx.apiVersion, ctx, once, req.transactionalId);
      void result.then(once, once);
      return result;
    };
    const pending = topicData.map((t, ti) => {
      const name = t.byId ? broker.topics.getById(t.topicId)?.name : t.name;
      const topic = led[ti];
      const writable = name === undefined || allowed(ctx, AclOperation.WRITE, ResourceType.TOPIC, name);
      return [...t.partitions].map(([index, records]) => {
        if (refuse) return Promise.resolve(refuse);
        if (name === undefined) return Promise.resolve(UNKNOWN_TOPIC_ID);
        if (!writable) return Promise.resolve(TOPIC_AUTHORIZATION_FAILED);
        if (topic !== undefined && index >= 0 && index < topic.partitionCount) {
          const errorCode = leaderError(broker, ctx.nodeId, topic, index, -1);
          if (errorCode !== ErrorCode.NONE) return Promise.resolve<PartitionAppendResult>({ errorCode, errorMessage: `This is not the leader of ${topic.name}-${index}.`, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 });
        }
        return append(name, index, records);
      });
    });
    oneSequenced();
    const hints = new LeaderHints(broker, ctx.security.listener);
    const responses: Init<ProduceResponseTopicProduceResponse>[] = [];
    let anyError = false;
    for (let ti = 0; ti < topicData.length; ti++) {
      const t = topicData[ti]!;
      const indexes = [...t.partitions.keys()];
      const results = await Promise.all(pending[ti]!);
      responses.push({
        name: t.name,
        topicId: t.topicId,
        partitionResponses: results.map((r, i) => {
          if (r.errorCode !== ErrorCode.NONE) anyError = true;
          return {
            index: indexes[i]!,
            errorCode: r.errorCode,
            baseOffset: BigInt(r.baseOffset),
            logAppendTimeMs: BigInt(r.logAppendTimeMs),
            logStartOffset: BigInt(r.logStartOffset),
            errorMessage: r.errorCode === ErrorCode.NONE ? null : r.errorMessage,
            recordErrors: r.recordErrors ?? [],
            currentLeader: hints.hint(led[ti], indexes[i]!, r.errorCode),
          };
        }),
      });
    }
    if (req.acks === 0) {
      if (anyError) ctx.connection.close('acks=0 produce failed');
      return null;
    }
    return { responses, throttleTimeMs: 0, nodeEndpoints: hints.endpoints() };
  },
  clientThrottlesFromVersion: 6,
  errorResponse(req, _v, errorCode, errorMessage) {
    if (req.acks === 0) return null; // no response: the caller closes the connection
    return {
      responses: req.topicData.map((t) => ({
        name: t.name,
        topicId: t.topicId,
        partitionResponses: t.partitionData.map((p) => ({
          index: p.index,
          errorCode,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
          errorMessage,
          recordErrors: [],
        })),
      })),
    };
  },
});

/** Whether any partition's records are a transactional batch (the attributes' bit 4, at byte 21 of a v2 batch). */
function hasTransactionalRecords(topicData: { partitions: Map<number, Buffer | null> }[]): boolean {
  for (const t of topicData) for (const records of t.partitions.values()) if (records !== null && records.length >= 23 && (records.readInt16BE(21) & 0x10) !== 0) return true;
  return false;
}

/** Topics in order of first appearance, each with its partitions' last records (Kafka's map semantics). */
function collapse(
  topicData: ProduceRequest['topicData'],
  byId: boolean,
): { name: string; topicId: string; byId: boolean; partitions: Map<number, Buffer | null> }[] {
  // v13+ names topics by id (KIP-516), so the id is the key there; before it, the name.
  const byKey = new Map<string, { name: string; topicId: string; byId: boolean; partitions: Map<number, Buffer | null> }>();
  for (const t of topicData) {
    const key = byId ? t.topicId : t.name;
    let entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, (entry = { name: t.name, topicId: t.topicId, byId, partitions: new Map() }));
    for (const p of t.partitionData) entry.partitions.set(p.index, p.records as Buffer | null);
  }
  return [...byKey.values()];
}
