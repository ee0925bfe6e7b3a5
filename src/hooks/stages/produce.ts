/**
 * beforeProduce (allow / refuse / transform a produced batch of one partition) and afterProduce
 * (observe the batch as written, offsets known).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { readBatchHeader, type ValidatedBatch } from '../../protocol/records/batch.js';
import type { RequestScope } from '../../contracts/request.js';
import type { HookStages, PartitionAppendResult } from '../../contracts/stages.js';
import { LazyBatch } from '../batch.js';
import { asRefusal, isFailure, requestInfo, stageContext, withLog, type Decided, type HookChain } from '../machinery.js';

export function beforeProduceStage(chain: HookChain): HookStages['beforeProduce'] {
  return chain.has('beforeProduce') ? (ctx, topic, partition, h) => runBeforeProduce(chain, ctx, topic, partition, h) : null;
}

export function afterProduceStage(chain: HookChain): HookStages['afterProduce'] {
  return chain.has('afterProduce') ? (ctx, t, p, h, base, lat) => runAfterProduce(chain, ctx, t, p, h, base, lat) : null;
}

async function runBeforeProduce(chain: HookChain, ctx: RequestScope, topic: string, partition: number, h: ValidatedBatch): Promise<ValidatedBatch | PartitionAppendResult> {
  const regs = chain.forTopic('beforeProduce', topic);
  if (regs.length === 0) return h;
  const batch = new LazyBatch(topic, partition, h, h.buffer, 'produce', ctx);
  const pctx = stageContext({ ...requestInfo(ctx, Date.now()), topic, partition, batch, log: chain.log });
  const where = `${topic}-${partition} from ${ctx.connection.remote} (client ${ctx.clientId ?? 'null'})`;
  for (const reg of regs) {
    const out = await chain.call(reg, 'beforeProduce', where, pctx, () => reg.hook.beforeProduce!(withLog(pctx, reg)));
    if (isFailure(out)) return refusedAppend(out.errorCode, out.message);
    let refusal: Decided | null;
    try {
      refusal = asRefusal(out, reg, 'beforeProduce');
    } catch (err) {
      const f = chain.failure(reg, 'beforeProduce', where, pctx, err);
      return refusedAppend(f.errorCode, f.message);
    }
    if (refusal) {
      chain.log.debug(`hook ${reg.name} refused ${where}: ${refusal.message}`);
      return refusedAppend(
        refusal.errorCode,
        refusal.message ?? null,
        (refusal.recordErrors ?? []).map((e) => ({ batchIndex: e.index, batchIndexErrorMessage: e.message ?? null })),
      );
    }
  }
  if (!batch.changed) return h;
  let re;
  try {
    re = await batch.reencode();
  } catch (err) {
    const f = chain.failure(regs[regs.length - 1]!, 'beforeProduce', where, pctx, err);
    return refusedAppend(f.errorCode, `records changed by hooks cannot be encoded: ${f.message}`);
  }
  if (re.bytes === null) {
    // Every record of a non-idempotent batch was dropped: nothing is written.
    let logStartOffset = -1;
    try {
      logStartOffset = ctx.broker.storage.offsets(topic, partition).logStartOffset;
    } catch {
      // deleted meanwhile: the answer still says nothing was written
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: -1, logAppendTimeMs: -1, logStartOffset };
  }
  const nh = readBatchHeader(re.bytes);
  // An idempotent batch keeps its record count as produced: the producer's sequence numbers (and
  // the broker's duplicate check) count the records it sent, and the offsets keep their gaps.
  return { ...nh, buffer: re.bytes, recordCount: batch.idempotent ? h.recordCount : nh.recordCount };
}

async function runAfterProduce(chain: HookChain, ctx: RequestScope, topic: string, partition: number, h: ValidatedBatch, baseOffset: number, logAppendTimeMs: number): Promise<void> {
  const regs = chain.forTopic('afterProduce', topic);
  if (regs.length === 0) return;
  const header = { ...readBatchHeader(h.buffer), baseOffset };
  const batch = new LazyBatch(topic, partition, header, h.buffer, 'fetch', ctx);
  const actx = stageContext({
    ...requestInfo(ctx, Date.now()),
    topic,
    partition,
    batch,
    baseOffset,
    lastOffset: baseOffset + header.lastOffsetDelta,
    logAppendTimeMs,
    log: chain.log,
  });
  const where = `${topic}-${partition} offsets ${baseOffset}..${actx.lastOffset}`;
  for (const reg of regs) await chain.call(reg, 'afterProduce', where, actx, () => reg.hook.afterProduce!(withLog(actx, reg)));
}

function refusedAppend(errorCode: number, errorMessage: string | null, recordErrors: PartitionAppendResult['recordErrors'] = []): PartitionAppendResult {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors };
}
