/**
 * DescribeTransactions (key 65), version 0 (KIP-664): per transactional id its state (Kafka's names:
 * Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), producer id and epoch,
 * timeout, the start of the current transaction (-1 when none) and its partitions.
 * TRANSACTIONAL_ID_NOT_FOUND for an unknown id, INVALID_REQUEST for an empty one,
 * COORDINATOR_NOT_AVAILABLE while the coordinator loads. The response is bounded
 * (response-budget.ts): an id whose partitions would take it past RESPONSE_MAX_BYTES is answered
 * INVALID_REQUEST without them.
 */
import { ApiKey, DescribeTransactionsRequest, DescribeTransactionsResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';

export default defineHandler({
  apiKey: ApiKey.DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  request: DescribeTransactionsRequest,
  response: DescribeTransactionsResponse,
  handle(req, ctx) {
    const budget = new ResponseBudget();
    // Asked once per topic per request: a transaction may span thousands of partitions.
    const authorizing = ctx.broker.security.authorizer.enabled;
    const describable = new Map<string, boolean>();
    const topicVisible = (topic: string) => {
      let ok = describable.get(topic);
      if (ok === undefined) describable.set(topic, (ok = allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, topic)));
      return ok;
    };
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((transactionalId) => {
        // ACLs (Kafka's handleDescribeTransactionsRequest): DESCRIBE on the transactional id; the
        // partitions listed are only those of topics the principal may DESCRIBE.
        if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return refused(transactionalId, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        const d = ctx.broker.transactions.describe(transactionalId);
        const topics = new Map<string, number[]>();
        let bytes = stringBytes(transactionalId) + stringBytes(d.state) + 32;
        for (const p of d.partitions) {
          if (authorizing && !topicVisible(p.topic)) continue;
          let list = topics.get(p.topic);
          if (!list) {
            topics.set(p.topic, (list = []));
            bytes += stringBytes(p.topic) + 8;
          }
          list.push(p.partition);
          bytes += 4;
        }
        if (!budget.take(bytes)) return refused(transactionalId, budget.errorCode);
        return {
          errorCode: d.errorCode,
          transactionalId,
          transactionState: d.state,
          transactionTimeoutMs: d.timeoutMs,
          transactionStartTimeMs: BigInt(d.startMs),
          producerId: BigInt(d.producerId),
          producerEpoch: d.producerEpoch,
          topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
        };
      }),
    };
  },
  clientThrottlesFromVersion: 0,
  errorResponse(req, _v, errorCode) {
    return { transactionStates: req.transactionalIds.map((transactionalId) => refused(transactionalId, errorCode)) };
  },
});

function refused(transactionalId: string, errorCode: number) {
  return {
    errorCode,
    transactionalId,
    transactionState: '',
    transactionTimeoutMs: 0,
    transactionStartTimeMs: -1n,
    producerId: -1n,
    producerEpoch: -1,
    topics: [],
  };
}
