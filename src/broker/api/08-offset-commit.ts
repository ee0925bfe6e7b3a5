/**
 * OffsetCommit (key 8), versions 2–9: store a group's consumed positions (v0–1 were removed in
 * Kafka 4.0, KIP-896).
 * - Per partition, checked first (as Kafka does): an unknown topic or partition is
 *   UNKNOWN_TOPIC_OR_PARTITION. Then the group: generation -1 with no member id is a "simple" commit
 *   (admin tools, self-assigning consumers), accepted while the group has no members and creating it
 *   if needed; otherwise the member and generation must be current (UNKNOWN_MEMBER_ID,
 *   ILLEGAL_GENERATION, FENCED_INSTANCE_ID from v7, REBALANCE_IN_PROGRESS while the member waits for
 *   its assignment). A group error applies to every partition of the request.
 * - Metadata longer than offset.metadata.max.bytes: OFFSET_METADATA_TOO_LARGE for that partition.
 * - A commit refreshes the member's session, as a heartbeat does.
 * - v2–4: retention_time_ms: -1 (the default) leaves expiry to offsets.retention.minutes; any other
 *   value gives the offsets an expire timestamp of commit time + retention, stored with them by every
 *   engine and honoured by the retention pass as Kafka does (only once the group's offsets may expire
 *   at all: Empty, simple, or topics no longer subscribed); v5 drops it (KIP-211); v6: leader epoch,
 *   stored and returned by OffsetFetch; v7: group_instance_id; v8 flexible.
 * - v9 (KIP-848): for classic groups it is v8, except that a generation ≥ 0 for a group that does not
 *   exist is GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION. For a consumer-protocol group the
 *   generation field is the member epoch (Kafka's ConsumerGroup.validateOffsetCommit): epoch -1 is
 *   accepted while the group has no members; otherwise the member must exist (UNKNOWN_MEMBER_ID),
 *   use v9+ (UNSUPPORTED_VERSION) and name its current epoch (STALE_MEMBER_EPOCH).
 * - A failed storage write: NOT_COORDINATOR (Kafka's mapping of a failed offsets append; clients
 *   find the coordinator again and retry).
 * - ACLs (Kafka's handleOffsetCommitRequest): READ on the group, else GROUP_AUTHORIZATION_FAILED
 *   everywhere; READ on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions (listed
 *   first, as Kafka's response builder does), the others committed.
 */
import { ApiKey, OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import { DEFAULT_RETENTION_TIME_MS } from '../groups/coordinator.js';

export default defineHandler({
  apiKey: ApiKey.OffsetCommit,
  minVersion: 2,
  maxVersion: 9,
  request: OffsetCommitRequest,
  response: OffsetCommitResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, ...refusal(req, ErrorCode.GROUP_AUTHORIZATION_FAILED) };
    const readable = req.topics.filter((t) => allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name));
    const refused = refusal({ topics: req.topics.filter((t) => !readable.includes(t)) }, ErrorCode.TOPIC_AUTHORIZATION_FAILED).topics;
    if (readable.length === 0 && refused.length > 0) return { throttleTimeMs: 0, topics: refused };
    const committed = await ctx.broker.groups.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: v >= 7 ? req.groupInstanceId : null,
      apiVersion: v,
      retentionTimeMs: v <= 4 ? Number(req.retentionTimeMs) : DEFAULT_RETENTION_TIME_MS,
      topics: readable.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
          committedMetadata: p.committedMetadata,
        })),
      })),
    });
    const topics = [...refused, ...committed];
    if (ctx.broker.hooks.onCommit !== null) ctx.broker.hooks.onCommit(ctx, req, topics); // observers only
    return { throttleTimeMs: 0, topics };
  },
  clientThrottlesFromVersion: 4,
  errorResponse(req, _v, errorCode) {
    return refusal(req, errorCode);
  },
});

function refusal(req: Pick<OffsetCommitRequest, 'topics'>, errorCode: number) {
  return { topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })) };
}
