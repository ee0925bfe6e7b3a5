/**
 * DeleteRecords (key 21), versions 0–2 (KIP-107; v1 only adds throttling semantics, v2 is the
 * flexible encoding). Moves each partition's log start offset up to the requested offset; data
 * below it is no longer served (Fetch answers OFFSET_OUT_OF_RANGE, ListOffsets earliest returns the
 * new start) and whole segments below it are deleted by the engine.
 * - offset -1 means the high watermark (Kafka's DeleteRecordsRequest.HIGH_WATERMARK).
 * - Any other negative offset, or one above the high watermark: OFFSET_OUT_OF_RANGE.
 * - An offset below the current log start changes nothing and answers the current log start.
 * - A topic whose cleanup.policy lacks `delete` (compact only): POLICY_VIOLATION, as Kafka's
 *   Partition.deleteRecordsOnLeader refuses it.
 * - Unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION; a disk failure: KAFKA_STORAGE_ERROR; an
 *   engine bug: UNKNOWN_SERVER_ERROR (engine-faults.ts).
 * - In a cluster (cluster.ts), a partition this node does not lead: NOT_LEADER_OR_FOLLOWER.
 * - ACLs (Kafka's handleDeleteRecordsRequest): DELETE on the topic, else TOPIC_AUTHORIZATION_FAILED.
 * The deletion is complete when the response is sent, so `timeout_ms` is never reached.
 */
import { ApiKey, DeleteRecordsRequest, DeleteRecordsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import type { Broker } from '../broker.js';
import { leaderError } from '../cluster.js';

const HIGH_WATERMARK = -1;

export default defineHandler({
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  request: DeleteRecordsRequest,
  response: DeleteRecordsResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    const topics = [];
    for (const t of req.topics) {
      const partitions = [];
      const deletable = allowed(ctx, AclOperation.DELETE, ResourceType.TOPIC, t.name);
      for (const p of t.partitions) {
        if (!deletable) {
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
          continue;
        }
        const outcome = await deleteRecords(broker, ctx.nodeId, t.name, p.partitionIndex, Number(p.offset));
        partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: BigInt(outcome.lowWatermark), errorCode: outcome.errorCode });
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode) {
    return { topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode })) })) };
  },
});

async function deleteRecords(broker: Broker, nodeId: number | undefined, topicName: string, partition: number, offset: number): Promise<{ errorCode: number; lowWatermark: number }> {
  const topic = broker.topics.get(topicName);
  if (!topic || !broker.topics.hasPartition(topicName, partition)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 };
  const notLeader = leaderError(broker, nodeId, topic, partition, -1);
  if (notLeader !== ErrorCode.NONE) return { errorCode: notLeader, lowWatermark: -1 };
  const policies = (broker.topics.configValue(topic, 'cleanup.policy') ?? '').split(',').map((s) => s.trim());
  if (!policies.includes('delete')) return { errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1 };
  const { highWatermark } = broker.storage.offsets(topicName, partition);
  const target = offset === HIGH_WATERMARK ? highWatermark : offset;
  if (target < 0 || target > highWatermark) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 };
  try {
    const lowWatermark = await broker.storage.deleteRecordsBefore(topicName, partition, target);
    broker.log.debug(`DeleteRecords ${topicName}-${partition}: log start offset now ${lowWatermark}`);
    broker.txnLogStartMoved(topicName, partition, lowWatermark);
    return { errorCode: ErrorCode.NONE, lowWatermark };
  } catch (err) {
    if (!broker.topics.hasPartition(topicName, partition)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 };
    return { errorCode: broker.engineFaults.answer(`DeleteRecords ${topicName}-${partition}`, err).errorCode, lowWatermark: -1 };
  }
}
