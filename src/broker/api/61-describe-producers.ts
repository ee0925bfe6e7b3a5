/**
 * DescribeProducers (key 61), version 0 (KIP-664): per partition, the producers the broker holds
 * state for (idempotent and transactional), as Kafka's `activeProducerState`: producer id and epoch,
 * the last sequence written (-1 when the entry has no batch, e.g. only a marker), the largest
 * timestamp of its last batch, the coordinator epoch of its last transaction marker (-1 for none)
 * and the first offset of its ongoing transaction (-1 for none). These come from the producer state
 * (producer-state.ts), which the log side keeps and snapshots. UNKNOWN_TOPIC_OR_PARTITION for a
 * partition that does not exist. The response is bounded (response-budget.ts): a partition whose
 * producers would take it past RESPONSE_MAX_BYTES is answered INVALID_REQUEST without them.
 * In a cluster (cluster.ts), a partition this node does not lead is NOT_LEADER_OR_FOLLOWER, as
 * Kafka answers from a follower (the admin client asks the leader).
 */
import { ApiKey, DescribeProducersRequest, DescribeProducersResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, authorizationMessage } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import { ResponseBudget } from '../response-budget.js';
import { leaderError } from '../cluster.js';

/** Encoded bytes of one active producer (int64, int32, int32, int64, int32, int64, tags). */
const PRODUCER_BYTES = 40;

export default defineHandler({
  apiKey: ApiKey.DescribeProducers,
  minVersion: 0,
  maxVersion: 0,
  request: DescribeProducersRequest,
  response: DescribeProducersResponse,
  handle(req, ctx) {
    const broker = ctx.broker;
    const budget = new ResponseBudget();
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => {
          // ACLs (Kafka's handleDescribeProducersRequest): READ on the topic, Kafka's default message.
          if (!allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name)) {
            return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: authorizationMessage(ErrorCode.TOPIC_AUTHORIZATION_FAILED), activeProducers: [] };
          }
          if (!broker.topics.hasPartition(t.name, partitionIndex)) {
            return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.', activeProducers: [] };
          }
          if (broker.cluster !== null) {
            const notLeader = leaderError(broker, ctx.nodeId, broker.topics.get(t.name)!, partitionIndex, -1);
            if (notLeader !== ErrorCode.NONE) return { partitionIndex, errorCode: notLeader, errorMessage: 'This is not the leader of the partition.', activeProducers: [] };
          }
          const entries = broker.producers.partitionEntries(t.name, partitionIndex);
          if (!budget.take(16 + entries.length * PRODUCER_BYTES)) {
            return { partitionIndex, errorCode: budget.errorCode, errorMessage: budget.message, activeProducers: [] };
          }
          const activeProducers = entries.map((e) => ({
            producerId: BigInt(e.producerId),
            producerEpoch: e.epoch,
            lastSequence: e.batches.length > 0 ? e.batches[e.batches.length - 1]!.lastSeq : -1,
            lastTimestamp: BigInt(e.lastTimestamp),
            coordinatorEpoch: e.coordinatorEpoch,
            currentTxnStartOffset: BigInt(e.currentTxnFirstOffset),
          }));
          return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
        }),
      })),
    };
  },
  clientThrottlesFromVersion: 0,
  errorResponse(req, _v, errorCode, errorMessage) {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode, errorMessage, activeProducers: [] })),
      })),
    };
  },
});
