/**
 * Metadata (key 3), versions 0–13.
 * - v0: an empty topic list means all topics; v1+: null means all, empty means none.
 * - Unknown topics are auto-created when the request allows it (v4+ `allow_auto_topic_creation`,
 *   always before v4) and `auto.create.topics.enable` is on, with `num.partitions` partitions. Kafka
 *   answers LEADER_NOT_AVAILABLE for a topic it just created while leaders are elected; we create it
 *   synchronously, so the topic is returned ready.
 * - Otherwise UNKNOWN_TOPIC_OR_PARTITION; an illegal name INVALID_TOPIC_EXCEPTION; a lookup by topic
 *   id (v10+, a null name, or an empty one with a non-zero id as the Java client 4.x sends) that
 *   matches nothing UNKNOWN_TOPIC_ID.
 * - One broker, which leads every partition at leader epoch 0 and is the controller; in a cluster
 *   (cluster.ts) the live nodes, each partition's leader and epoch, and the first live node as controller.
 * - v13's top-level error code (KIP-1102, REBOOTSTRAP_REQUIRED for a client whose view of the
 *   cluster is stale) is always NONE: a single broker is never stale.
 * - A topic named more than once is answered once, as Kafka does (it collects the names in a set):
 *   a small request naming a large topic many times must not cost one description per repeat.
 * - The response is bounded (response-budget.ts): a topic whose description would take it past
 *   RESPONSE_MAX_BYTES is answered INVALID_REQUEST without partitions, before it is described.
 * - ACLs (authorizer.ts), as Kafka's handleTopicMetadataRequest: listing all topics shows only those
 *   the principal may DESCRIBE; a named one it may not is TOPIC_AUTHORIZATION_FAILED (asked before
 *   whether it exists); auto-creation needs CREATE on the cluster or the topic, else
 *   TOPIC_AUTHORIZATION_FAILED. v8+ `include_topic_authorized_operations` and (v8–10)
 *   `include_cluster_authorized_operations` are filled with the allowed operations' bit sets.
 */
import { ApiKey, MetadataRequest, MetadataResponse, type MetadataResponseTopic } from '../../protocol/messages/index.js';
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { ZERO_UUID } from '../../protocol/codec/uuid.js';
import type { Init } from '../../protocol/codec/message.js';
import { validateTopicName } from '../../config/topic-configs.js';
import { defineHandler } from '../handler.js';
import type { Broker } from '../broker.js';
import type { Topic } from '../topics.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';
import { controllerId, describePartition, liveBrokers } from '../cluster.js';
import type { RequestContext } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed, authorizedOperations } from '../security/request-authz.js';

/** Encoded bytes of one partition in the response, at most (v12: fields, three 1-node arrays, tags). */
const PARTITION_BYTES = 40;
/** …and of one topic besides its name and partitions. */
const TOPIC_BYTES = 32;

export default defineHandler({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 13,
  request: MetadataRequest,
  response: MetadataResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    const allTopics = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    const allowAutoCreate = (ctx.apiVersion < 4 || req.allowAutoTopicCreation) && broker.config.autoCreateTopicsEnable;
    const topics: Init<MetadataResponseTopic>[] = [];
    const budget = new ResponseBudget();
    const withOperations = ctx.apiVersion >= 8 && req.includeTopicAuthorizedOperations;
    const describe = (t: Topic): Init<MetadataResponseTopic> =>
      budget.take(TOPIC_BYTES + stringBytes(t.name) + t.partitionCount * PARTITION_BYTES)
        ? { ...describeTopic(broker, t), topicAuthorizedOperations: authorizedOperations(ctx, withOperations, ResourceType.TOPIC, t.name) }
        : { errorCode: budget.errorCode, name: t.name, topicId: t.id, partitions: [] };
    const authorizing = broker.security.authorizer.enabled;
    if (allTopics) {
      for (const t of broker.topics.list()) if (!authorizing || allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name)) topics.push(describe(t));
    } else {
      const seen = new Set<string>();
      for (const requested of req.topics!) {
        const byId = requested.name === null || (requested.name === '' && requested.topicId !== ZERO_UUID);
        const key = byId ? `id:${requested.topicId}` : requested.name!; // ids are never valid names (':')
        if (seen.has(key)) continue;
        seen.add(key);
        topics.push(await resolveTopic(ctx, requested.name, requested.topicId, allowAutoCreate, describe));
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: liveBrokers(broker, ctx.security.listener),
      clusterId: broker.clusterId,
      controllerId: controllerId(broker),
      topics,
      clusterAuthorizedOperations: authorizedOperations(ctx, ctx.apiVersion >= 8 && ctx.apiVersion <= 10 && req.includeClusterAuthorizedOperations, ResourceType.CLUSTER, CLUSTER_NAME),
      errorCode: ErrorCode.NONE,
    };
  },
  clientThrottlesFromVersion: 6,
  errorResponse(req, _v, errorCode) {
    // A request for every topic (null) names none: Kafka's error response lists no topic either.
    return { brokers: [], controllerId: -1, topics: (req.topics ?? []).map((t) => ({ errorCode, name: t.name, topicId: t.topicId, partitions: [] })) };
  },
});

async function resolveTopic(
  ctx: RequestContext,
  name: string | null,
  topicId: string,
  allowAutoCreate: boolean,
  describe: (t: Topic) => Init<MetadataResponseTopic>,
): Promise<Init<MetadataResponseTopic>> {
  // By id: a null name, or an empty one beside a real id (the Java client 4.x asks so for the topics
  // of a KIP-848 regex assignment, MetadataRequest.Builder.forTopicIds; Kafka looks up every topic
  // with a non-zero id by its id).
  const broker = ctx.broker;
  const version = ctx.apiVersion;
  if (name === null || (name === '' && topicId !== ZERO_UUID)) {
    const byId = broker.topics.getById(topicId);
    // Kafka: topic ids are not secret, so an id the principal may not DESCRIBE is answered as such.
    if (byId && !allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, byId.name)) {
      return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name: version >= 12 ? null : '', topicId, partitions: [] };
    }
    if (byId) return describe(byId);
    // The response name is nullable only from v12; v10–11 answer an unknown id with an empty name.
    return { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: version >= 12 ? null : '', topicId, partitions: [] };
  }
  const unauthorized = { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, isInternal: false, partitions: [] };
  if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return unauthorized;
  let existing = broker.topics.get(name);
  // Brokers sharing a database: another one may have created it since this one last looked.
  if (!existing && broker.cluster?.refreshTopics) {
    await broker.cluster.refreshTopics();
    existing = broker.topics.get(name);
  }
  if (existing) return describe(existing);
  if (allowAutoCreate && !allowed(ctx, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME) && !allowed(ctx, AclOperation.CREATE, ResourceType.TOPIC, name)) return unauthorized;
  if (validateTopicName(name) !== null) {
    return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, topicId: ZERO_UUID, partitions: [] };
  }
  if (!allowAutoCreate) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID, partitions: [] };
  try {
    return describe(await broker.topics.autoCreate(name));
  } catch (err) {
    // A concurrent request may have created it between our check and our create.
    const now = broker.topics.get(name);
    if (now) return describe(now);
    if (!(err instanceof KafkaError)) return { errorCode: broker.engineFaults.answer(`auto-create of topic ${name}`, err).errorCode, name, topicId: ZERO_UUID, partitions: [] };
    broker.log.warn(`auto-create of topic ${name} failed: ${err.message}`);
    return { errorCode: err.errorCode, name, topicId: ZERO_UUID, partitions: [] };
  }
}

export function describeTopic(broker: Broker, t: Topic): Init<MetadataResponseTopic> {
  const partitions = [];
  for (let p = 0; p < t.partitionCount; p++) partitions.push({ partitionIndex: p, ...describePartition(broker, t, p) });
  return { errorCode: ErrorCode.NONE, name: t.name, topicId: t.id, isInternal: false, partitions };
}
