/** onJoin (allow / refuse a JoinGroup), onRebalance (a generation completed) and onCommit (offsets committed): group stages. */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { RequestScope } from '../../contracts/request.js';
import type { CommitArgsLike, CommitResultLike, HookStages, JoinArgsLike, JoinOutcomeLike, StageRefusal } from '../../contracts/stages.js';
import { asRefusal, isFailure, requestInfo, stageContext, withLog, type HookChain } from '../machinery.js';

export function joinStage(chain: HookChain): HookStages['onJoin'] {
  return chain.has('onJoin') ? (ctx, args) => joinDecision(chain, ctx, args) : null;
}

export function rebalanceStage(chain: HookChain): HookStages['onJoined'] {
  return chain.has('onRebalance') ? (_ctx, args, out) => runRebalance(chain, args, out) : null;
}

export function commitStage(chain: HookChain): HookStages['onCommit'] {
  return chain.has('onCommit') ? (ctx, args, results) => runCommit(chain, ctx, args, results) : null;
}

async function joinDecision(chain: HookChain, ctx: RequestScope, args: JoinArgsLike): Promise<StageRefusal | null> {
  const jctx = stageContext({
    ...requestInfo(ctx, Date.now()),
    groupId: args.groupId,
    memberId: args.memberId,
    groupInstanceId: args.groupInstanceId,
    protocolType: args.protocolType,
    protocols: args.protocols.map((p) => p.name),
    log: chain.log,
  });
  const where = `group ${args.groupId} member ${args.memberId || '(new)'} from ${ctx.connection.remote}`;
  for (const reg of chain.stage('onJoin')) {
    const out = await chain.call(reg, 'onJoin', where, jctx, () => reg.hook.onJoin!(withLog(jctx, reg)));
    if (isFailure(out)) return { errorCode: out.errorCode, message: out.message };
    try {
      const refusal = asRefusal(out, reg, 'onJoin');
      if (refusal) return refusal;
    } catch (err) {
      const f = chain.failure(reg, 'onJoin', where, jctx, err);
      return { errorCode: f.errorCode, message: f.message };
    }
  }
  return null;
}

/** A generation completed: the leader's JoinGroup answer carries it (one event per generation). */
function runRebalance(chain: HookChain, args: JoinArgsLike, out: JoinOutcomeLike): void {
  if (out.errorCode !== ErrorCode.NONE || out.leader !== out.memberId || out.leader === '') return;
  const event = stageContext({
    groupId: args.groupId,
    generationId: out.generationId,
    protocolType: out.protocolType ?? args.protocolType,
    protocol: out.protocolName,
    leaderId: out.leader,
    memberIds: out.members.map((m) => m.memberId),
    log: chain.log,
  });
  chain.observe('onRebalance', `group ${args.groupId} generation ${out.generationId}`, event);
}

function runCommit(chain: HookChain, ctx: RequestScope, args: CommitArgsLike, results: readonly CommitResultLike[]): void {
  const codes = new Map<string, number>();
  for (const t of results) for (const p of t.partitions) codes.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
  const offsets = args.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      offset: Number(p.committedOffset),
      metadata: p.committedMetadata,
      errorCode: codes.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.NONE,
    })),
  );
  const event = stageContext({
    ...requestInfo(ctx, Date.now()),
    groupId: args.groupId,
    memberId: args.memberId,
    generationId: args.generationIdOrMemberEpoch,
    offsets,
    log: chain.log,
  });
  chain.observe('onCommit', `group ${args.groupId}`, event);
}
