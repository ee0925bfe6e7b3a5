/**
 * WriteTxnMarkers (key 27), version 1 (Kafka 4 removed v0): a transaction coordinator asks the
 * leader of each partition of a transaction to append its COMMIT or ABORT marker (KIP-98). Rafka's
 * coordinators send it when brokers share a PostgreSQL database and the partition is led by another
 * broker (src/broker/txn-markers-remote.ts); on one broker the coordinator writes markers itself.
 * - Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist;
 *   NOT_LEADER_OR_FOLLOWER where this broker does not lead it (the coordinator looks and retries);
 *   INVALID_PRODUCER_EPOCH for a marker older than the producer's epoch there and
 *   TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch than the partition's last marker
 *   of that producer (both refused without writing, as Kafka's leader does); KAFKA_STORAGE_ERROR.
 * - Markers for Kafka's `__consumer_offsets` are not sent here: transactional offsets are ended by
 *   the transaction coordinator through the database (docs/cluster.md).
 * - ACLs (Kafka's handleWriteTxnMarkersRequest): CLUSTER_ACTION on the cluster, an inter-broker
 *   right; without it every partition is answered CLUSTER_AUTHORIZATION_FAILED.
 */
import { ApiKey, WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { leaderError } from '../cluster.js';
import { defineHandler } from '../handler.js';

function answerAll(req: WriteTxnMarkersRequest, errorCode: number): WriteTxnMarkersResponse {
  return {
    markers: req.markers.map((m) => ({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode })) })),
    })),
  };
}

export default defineHandler({
  apiKey: ApiKey.WriteTxnMarkers,
  minVersion: 1,
  maxVersion: 1,
  request: WriteTxnMarkersRequest,
  response: WriteTxnMarkersResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    if (!allowed(ctx, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)) return answerAll(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const markers = await Promise.all(
      req.markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => {
                const topic = broker.topics.get(t.name);
                if (topic === undefined || partitionIndex < 0 || partitionIndex >= topic.partitionCount) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
                const notLeader = leaderError(broker, ctx.nodeId, topic, partitionIndex, -1);
                if (notLeader !== ErrorCode.NONE) return { partitionIndex, errorCode: notLeader };
                const errorCode = await broker.txnMarkers.writeTxnMarker(t.name, partitionIndex, {
                  producerId: Number(m.producerId),
                  producerEpoch: m.producerEpoch,
                  coordinatorEpoch: m.coordinatorEpoch,
                  commit: m.transactionResult,
                });
                return { partitionIndex, errorCode };
              }),
            ),
          })),
        ),
      })),
    );
    return { markers };
  },
  clientThrottlesFromVersion: null,
  errorResponse(req, _v, errorCode) {
    return answerAll(req, errorCode);
  },
});
