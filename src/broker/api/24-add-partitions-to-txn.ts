/**
 * AddPartitionsToTxn (key 24), versions 0–3: the client form, one transaction per request.
 * - v4+ batches transactions for brokers verifying produce requests (KIP-890 part 1, broker to
 *   broker); this broker verifies in-process (TxnProduceVerifier), so those versions are not served.
 * - Every partition must exist: otherwise the unknown ones get UNKNOWN_TOPIC_OR_PARTITION and the
 *   rest OPERATION_NOT_ATTEMPTED, nothing added (Kafka: "any failed partition check causes the
 *   entire request to fail").
 * - Then one answer for all partitions from the transaction coordinator: NONE (added; the
 *   transaction begins with its first partition), INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (v2+;
 *   INVALID_PRODUCER_EPOCH before, KIP-588), CONCURRENT_TRANSACTIONS while the previous transaction
 *   completes, INVALID_REQUEST for an empty transactional id, COORDINATOR_NOT_AVAILABLE /
 *   NOT_COORDINATOR (retriable).
 * - ACLs (Kafka's handleAddPartitionsToTxnRequest): WRITE on the transactional id, else
 *   TRANSACTIONAL_ID_AUTHORIZATION_FAILED everywhere; WRITE on each topic, else
 *   TOPIC_AUTHORIZATION_FAILED for its partitions and OPERATION_NOT_ATTEMPTED for the rest (checked
 *   before whether the partitions exist).
 */
import { ApiKey, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import { fencedCode } from '../transactions/errors.js';

function answer(topics: readonly { name: string; partitions: readonly number[] }[], code: (topic: string, partition: number) => number) {
  return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name, p) })) }));
}

export default defineHandler({
  apiKey: ApiKey.AddPartitionsToTxn,
  minVersion: 0,
  maxVersion: 3,
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  async handle(req, ctx) {
    const topics = req.v3AndBelowTopics;
    const broker = ctx.broker;
    const respond = (code: (topic: string, partition: number) => number) => ({
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: answer(topics, code),
    });
    if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.v3AndBelowTransactionalId)) return respond(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const writable = new Set(topics.filter((t) => allowed(ctx, AclOperation.WRITE, ResourceType.TOPIC, t.name)).map((t) => t.name));
    if (writable.size < new Set(topics.map((t) => t.name)).size) {
      return respond((t, p) => (!writable.has(t) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : broker.topics.hasPartition(t, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    }
    const known = (t: string, p: number) => broker.topics.hasPartition(t, p);
    if (!topics.every((t) => t.partitions.every((p) => known(t.name, p)))) {
      return respond((t, p) => (known(t, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    }
    const partitions = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
    const code = await broker.transactions.addToTransaction(req.v3AndBelowTransactionalId, Number(req.v3AndBelowProducerId), req.v3AndBelowProducerEpoch, partitions);
    const final = fencedCode(code, ctx.apiVersion, 2);
    return respond(() => final);
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode) {
    return { errorCode, resultsByTransaction: [], resultsByTopicV3AndBelow: answer(req.v3AndBelowTopics, () => errorCode) };
  },
});
