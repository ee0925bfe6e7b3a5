/**
 * OffsetFetch (key 9), versions 1–9: a group's committed offsets (v0 was removed in Kafka 4.0, KIP-896).
 * - Requested partitions without a commit answer offset -1, empty metadata and no error (v1+), also
 *   for topics that do not exist — Kafka does not check topics here. Deleting a topic deletes its
 *   committed offsets, so a deleted topic reads as never committed.
 * - v2+: a null topic list asks for every committed partition; a top-level error code (before v2,
 *   a group error is put on each partition).
 * - v5+: the committed leader epoch. v6+ flexible. v7+: require_stable (KIP-447): a partition with an
 *   offset a transaction has committed but not yet completed (TxnOffsetCommit, then EndTxn until
 *   the transaction is CompleteCommit/CompleteAbort) answers UNSTABLE_OFFSET_COMMIT (retriable),
 *   so a consumer starting after a read-process-write producer never reads a stale position.
 * - v8+: several groups per request, each answered with its own error code.
 * - v9 (KIP-848) adds member id and epoch, which only consumer-protocol groups check (Kafka's
 *   validateOffsetFetch: a member id or an epoch ≥ 0 must name a member, UNKNOWN_MEMBER_ID, at its
 *   current epoch, STALE_MEMBER_EPOCH, as the group's error); classic groups ignore them, as Kafka does.
 * - The response is bounded (response-budget.ts): a group whose offsets would take it past
 *   RESPONSE_MAX_BYTES is answered INVALID_REQUEST with no offsets (v8+: that group; before v8 the
 *   whole response). A group asked for twice with a null topic list is looked up once.
 * - ACLs (Kafka's handleOffsetFetchRequest): DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED
 *   for it; a null topic list answers only topics the principal may DESCRIBE, a named topic it may
 *   not is TOPIC_AUTHORIZATION_FAILED for each of its partitions.
 */
import { ApiKey, OffsetFetchRequest, OffsetFetchResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler, type RequestContext } from '../handler.js';
import type { FetchOutcome } from '../groups/coordinator.js';
import { offsetKey } from '../../storage/engine.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';

/**
 * require_stable (v7+): partitions with a pending transactional offset become UNSTABLE_OFFSET_COMMIT.
 * `shared`: brokers sharing a database, the pending offsets read from it before (null: that read failed).
 */
function stable(groupId: string, out: FetchOutcome, requireStable: boolean, ctx: RequestContext, shared: ReadonlyMap<string, ReadonlySet<string> | null>): FetchOutcome {
  if (!requireStable || out.errorCode !== ErrorCode.NONE) return out;
  const read = shared.get(groupId);
  // The database away: retriable, rather than offsets that may not be stable.
  if (read === null) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
  const pending = read ?? ctx.broker.transactions.pendingOffsets(groupId);
  if (pending.size === 0) return out;
  return {
    errorCode: out.errorCode,
    topics: out.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) =>
        pending.has(offsetKey(t.name, p.partitionIndex))
          ? { partitionIndex: p.partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
          : p,
      ),
    })),
  };
}

export default defineHandler({
  apiKey: ApiKey.OffsetFetch,
  minVersion: 1,
  maxVersion: 9,
  request: OffsetFetchRequest,
  response: OffsetFetchResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const groups = ctx.broker.groups;
    const budget = new ResponseBudget();
    const requireStable = v >= 7 && req.requireStable;
    // Brokers sharing a database: pending transactional offsets are kept there (another broker's
    // transaction may hold them), read once per group before answering.
    const shared = new Map<string, ReadonlySet<string> | null>();
    if (requireStable) {
      for (const groupId of v >= 8 ? req.groups.map((g) => g.groupId) : [req.groupId]) {
        const read = ctx.broker.transactions.sharedPendingOffsets(groupId);
        if (read !== null && !shared.has(groupId)) shared.set(groupId, await read.catch(() => null));
      }
    }
    const allOffsets = new Map<string, { out: FetchOutcome; bytes: number }>();
    const fetch = (
      groupId: string,
      topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null,
      member: { memberId: string | null; memberEpoch: number } | null = null,
    ): FetchOutcome => {
      if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
      let known = topics === null && member === null ? allOffsets.get(groupId) : undefined;
      if (known === undefined) {
        const out = stable(groupId, authorizedFetch(ctx, groupId, topics, member), requireStable, ctx, shared);
        known = { out, bytes: outcomeBytes(out) };
        if (topics === null && member === null) allOffsets.set(groupId, known);
      }
      return budget.take(known.bytes) ? known.out : { errorCode: budget.errorCode, topics: [] };
    };
    if (v >= 8) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => {
          const out = fetch(g.groupId, g.topics, v >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : null);
          return { groupId: g.groupId, errorCode: out.errorCode, topics: out.topics };
        }),
      };
    }
    const out = fetch(req.groupId, req.topics);
    if (v < 2 && out.errorCode !== ErrorCode.NONE) {
      // No top-level error before v2: every requested partition carries it.
      const topics = (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: out.errorCode })),
      }));
      return { throttleTimeMs: 0, errorCode: out.errorCode, topics };
    }
    return { throttleTimeMs: 0, errorCode: out.errorCode, topics: out.topics };
  },
  clientThrottlesFromVersion: 4,
  errorResponse(req, v, errorCode) {
    if (v >= 8) return { groups: req.groups.map((g) => ({ groupId: g.groupId, errorCode, topics: [] })) };
    // v0-1 have no top-level error: the code goes on each partition asked for.
    return {
      errorCode,
      topics: (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, metadata: '', errorCode })),
      })),
    };
  },
});

/** The group's offsets of the topics the principal may DESCRIBE; a named topic it may not is TOPIC_AUTHORIZATION_FAILED. */
function authorizedFetch(
  ctx: RequestContext,
  groupId: string,
  topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null,
  member: { memberId: string | null; memberEpoch: number } | null,
): FetchOutcome {
  const groups = ctx.broker.groups;
  if (!ctx.broker.security.authorizer.enabled) return groups.fetchOffsets(groupId, topics, member);
  const describable = (name: string) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
  if (topics === null) {
    const out = groups.fetchOffsets(groupId, null, member);
    return { errorCode: out.errorCode, topics: out.topics.filter((t) => describable(t.name)) };
  }
  const out = groups.fetchOffsets(groupId, topics.filter((t) => describable(t.name)), member);
  if (out.errorCode !== ErrorCode.NONE) return out;
  const refused = topics
    .filter((t) => !describable(t.name))
    .map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
    }));
  return { errorCode: out.errorCode, topics: [...out.topics, ...refused] };
}

/** Estimated encoded size of one group's offsets. */
function outcomeBytes(out: FetchOutcome): number {
  let n = 8;
  for (const t of out.topics) {
    n += 4 + stringBytes(t.name);
    for (const p of t.partitions) n += 20 + stringBytes(p.metadata);
  }
  return n;
}
