/**
 * TxnOffsetCommit (key 28), versions 0–4: a transactional producer commits a consumer group's
 * offsets as part of its transaction (`sendOffsetsToTransaction`). They stay pending — invisible to
 * OffsetFetch, which answers UNSTABLE_OFFSET_COMMIT with require_stable — until the transaction
 * commits, when they become the group's committed offsets; an abort drops them.
 * - Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist,
 *   OFFSET_METADATA_TOO_LARGE past `offset.metadata.max.bytes`.
 * - The group (KIP-447): v3+ names the member, group instance and generation, checked against the
 *   group as a commit is (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, ILLEGAL_GENERATION), so a zombie of
 *   an old generation is refused; generation -1 commits to an empty or unknown group. INVALID_GROUP_ID
 *   for an empty group id. v2+ carries the committed leader epoch.
 * - The transaction: AddOffsetsToTxn must have added the group (INVALID_TXN_STATE otherwise);
 *   INVALID_PRODUCER_ID_MAPPING for another producer id; INVALID_PRODUCER_EPOCH for another epoch
 *   (the code Kafka's offsets-log append gives a fenced producer); COORDINATOR_NOT_AVAILABLE /
 *   NOT_COORDINATOR (retriable).
 * - v4 only adds TRANSACTION_ABORTABLE (KIP-890), which this broker never answers.
 * - ACLs (Kafka's handleTxnOffsetCommitRequest): WRITE on the transactional id, else
 *   TRANSACTIONAL_ID_AUTHORIZATION_FAILED everywhere; READ on the group, else
 *   GROUP_AUTHORIZATION_FAILED everywhere; READ on each topic, else TOPIC_AUTHORIZATION_FAILED for
 *   its partitions (the others are committed).
 */
import { ApiKey, TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import type { TxnOffset } from '../transactions/metadata.js';

function answer(topics: readonly { name: string; partitions: readonly { partitionIndex: number }[] }[], code: (ti: number, pi: number) => number) {
  return topics.map((t, ti) => ({ name: t.name, partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: code(ti, pi) })) }));
}

export default defineHandler({
  apiKey: ApiKey.TxnOffsetCommit,
  minVersion: 0,
  maxVersion: 4,
  request: TxnOffsetCommitRequest,
  response: TxnOffsetCommitResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) return { throttleTimeMs: 0, topics: answer(req.topics, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED) };
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, topics: answer(req.topics, () => ErrorCode.GROUP_AUTHORIZATION_FAILED) };
    const readable = req.topics.map((t) => allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name));
    const errors: number[][] = req.topics.map((t, ti) =>
      t.partitions.map((p) =>
        !readable[ti] ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : broker.topics.hasPartition(t.name, p.partitionIndex) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ),
    );
    const respond = () => ({ throttleTimeMs: 0, topics: answer(req.topics, (ti, pi) => errors[ti]![pi]!) });
    const rest = (code: number) => errors.forEach((ps) => ps.forEach((e, i) => e === ErrorCode.NONE && (ps[i] = code)));
    if (req.groupId === '') {
      rest(ErrorCode.INVALID_GROUP_ID);
      return respond();
    }
    const v3 = ctx.apiVersion >= 3;
    const groupError = broker.groups.validateTransactionalCommit({
      groupId: req.groupId,
      generationId: v3 ? req.generationId : -1,
      memberId: v3 ? req.memberId : '',
      groupInstanceId: v3 ? req.groupInstanceId : null,
    });
    if (groupError !== ErrorCode.NONE) {
      rest(groupError);
      return respond();
    }
    const now = broker.clock.now();
    const offsets: TxnOffset[] = [];
    const placed: [number, number][] = [];
    req.topics.forEach((t, ti) =>
      t.partitions.forEach((p, pi) => {
        if (errors[ti]![pi] !== ErrorCode.NONE) return;
        const committed = broker.groups.committedOffset(p, now);
        if (typeof committed === 'number') {
          errors[ti]![pi] = committed;
          return;
        }
        offsets.push({ topic: t.name, partition: p.partitionIndex, committed });
        placed.push([ti, pi]);
      }),
    );
    if (offsets.length > 0) {
      // Brokers sharing a database: stored pending there by this broker, the group's coordinator,
      // checked against the transaction's stored state; the transaction's coordinator applies or
      // drops them when the transaction ends (docs/cluster.md, "Transactions").
      const code = await broker.transactions.commitTxnOffsets(req.transactionalId, Number(req.producerId), req.producerEpoch, req.groupId, offsets);
      for (const [ti, pi] of placed) errors[ti]![pi] = code;
    }
    return respond();
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode) {
    return { topics: answer(req.topics, () => errorCode) };
  },
});
