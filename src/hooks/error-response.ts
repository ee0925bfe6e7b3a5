/**
 * Error responses for any API a hook refuses (onRequest / onResponse answering with an error code):
 * the response Kafka's `AbstractRequest.getErrorResponse` would build, the error code in every part
 * of the response that has one (each topic, partition, group or resource of the request), the
 * message where the API version carries one.
 *
 * An API without an entry here cannot be refused with an error code; the runner then closes the
 * connection (logged), which is what Kafka does for a request it cannot answer.
 */
import { ApiKey } from '../protocol/messages/index.js';

type Req = any;
type Body = Record<string, unknown>;
type Builder = (req: Req, version: number, errorCode: number, message: string | null) => Body;

const byTopicPartitions = (
  topics: readonly { name: string; partitions: readonly { partitionIndex: number }[] }[],
  partition: (p: { partitionIndex: number }) => Body,
) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map(partition) }));

const BUILDERS = new Map<number, Builder>([
  [
    ApiKey.Produce,
    (req, _v, errorCode, errorMessage) => ({
      responses: (req.topicData as Req[]).map((t) => ({
        name: t.name,
        partitionResponses: (t.partitionData as Req[]).map((p) => ({
          index: p.index,
          errorCode,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
          errorMessage,
          recordErrors: [],
        })),
      })),
    }),
  ],
  [
    ApiKey.Fetch,
    (req, v, errorCode) => ({
      errorCode: v >= 7 ? errorCode : 0,
      sessionId: 0,
      responses: (req.topics as Req[]).map((t) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: (t.partitions as Req[]).map((p) => ({
          partitionIndex: p.partition,
          errorCode,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          records: Buffer.alloc(0),
        })),
      })),
    }),
  ],
  [
    ApiKey.ListOffsets,
    (req, _v, errorCode) => ({
      topics: (req.topics as Req[]).map((t) => ({
        name: t.name,
        partitions: (t.partitions as Req[]).map((p) => ({ partitionIndex: p.partitionIndex, errorCode, timestamp: -1n, offset: -1n })),
      })),
    }),
  ],
  [
    ApiKey.Metadata,
    (req, _v, errorCode) => ({
      brokers: [],
      controllerId: -1,
      topics: ((req.topics as Req[] | null) ?? []).map((t) => ({ errorCode, name: t.name, topicId: t.topicId, partitions: [] })),
    }),
  ],
  [ApiKey.OffsetCommit, (req, _v, errorCode) => ({ topics: byTopicPartitions(req.topics, (p) => ({ partitionIndex: p.partitionIndex, errorCode })) })],
  [
    ApiKey.OffsetFetch,
    (req, v, errorCode) =>
      v >= 8
        ? { groups: (req.groups as Req[]).map((g) => ({ groupId: g.groupId, errorCode, topics: [] })) }
        : {
            // v0-1 have no top-level error: the code goes on each partition asked for.
            errorCode,
            topics: ((req.topics as Req[] | null) ?? []).map((t) => ({
              name: t.name,
              partitions: (t.partitionIndexes as number[]).map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, metadata: '', errorCode })),
            })),
          },
  ],
  [
    ApiKey.FindCoordinator,
    (req, v, errorCode, errorMessage) =>
      v >= 4
        ? { coordinators: (req.coordinatorKeys as string[]).map((key) => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage })) }
        : { errorCode, errorMessage, nodeId: -1, host: '', port: -1 },
  ],
  [ApiKey.JoinGroup, (req, v, errorCode) => ({ errorCode, generationId: -1, protocolName: v >= 7 ? null : '', leader: '', memberId: req.memberId, members: [] })],
  [ApiKey.Heartbeat, (_req, _v, errorCode) => ({ errorCode })],
  [ApiKey.LeaveGroup, (_req, _v, errorCode) => ({ errorCode, members: [] })],
  [ApiKey.SyncGroup, (_req, _v, errorCode) => ({ errorCode, assignment: Buffer.alloc(0) })],
  [
    ApiKey.DescribeGroups,
    (req, _v, errorCode) => ({
      groups: (req.groups as string[]).map((groupId) => ({ errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [] })),
    }),
  ],
  [ApiKey.ListGroups, (_req, _v, errorCode) => ({ errorCode, groups: [] })],
  [ApiKey.ApiVersions, (_req, _v, errorCode) => ({ errorCode, apiKeys: [] })],
  [
    ApiKey.CreateTopics,
    (req, _v, errorCode, errorMessage) => ({
      topics: (req.topics as Req[]).map((t) => ({ name: t.name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null })),
    }),
  ],
  [
    ApiKey.DeleteTopics,
    (req, v, errorCode, errorMessage) => ({
      responses:
        v >= 6
          ? (req.topics as Req[]).map((t) => ({ name: t.name, topicId: t.topicId, errorCode, errorMessage }))
          : (req.topicNames as string[]).map((name) => ({ name, errorCode, errorMessage })),
    }),
  ],
  [
    ApiKey.DeleteRecords,
    (req, _v, errorCode) => ({ topics: byTopicPartitions(req.topics, (p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode })) }),
  ],
  [ApiKey.InitProducerId, (_req, _v, errorCode) => ({ errorCode, producerId: -1n, producerEpoch: -1 })],
  [
    ApiKey.DescribeConfigs,
    (req, _v, errorCode, errorMessage) => ({
      results: (req.resources as Req[]).map((r) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })),
    }),
  ],
  [
    ApiKey.AlterConfigs,
    (req, _v, errorCode, errorMessage) => ({
      responses: (req.resources as Req[]).map((r) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName })),
    }),
  ],
  [
    ApiKey.CreatePartitions,
    (req, _v, errorCode, errorMessage) => ({ results: (req.topics as Req[]).map((t) => ({ name: t.name, errorCode, errorMessage })) }),
  ],
  [ApiKey.DeleteGroups, (req, _v, errorCode) => ({ results: (req.groupsNames as string[]).map((groupId) => ({ groupId, errorCode })) })],
  [
    ApiKey.IncrementalAlterConfigs,
    (req, _v, errorCode, errorMessage) => ({
      responses: (req.resources as Req[]).map((r) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName })),
    }),
  ],
  [ApiKey.OffsetDelete, (_req, _v, errorCode) => ({ errorCode, topics: [] })],
  [ApiKey.DescribeCluster, (_req, _v, errorCode, errorMessage) => ({ errorCode, errorMessage, clusterId: '', controllerId: -1, brokers: [] })],
]);

/** Whether `errorResponse` can answer this API. */
export function canRefuse(apiKey: number): boolean {
  return BUILDERS.has(apiKey);
}

/**
 * The error response to `request` (throttle time 0), or null when this API has no error form here.
 * Throws only on a request that is not the API's decoded shape (a hook's rewritten request).
 */
export function errorResponse(apiKey: number, apiVersion: number, request: unknown, errorCode: number, message: string | null): Body | null {
  const build = BUILDERS.get(apiKey);
  if (!build) return null;
  return { throttleTimeMs: 0, ...build(request, apiVersion, errorCode, message) };
}
