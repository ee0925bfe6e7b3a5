/**
 * beforeFetch (allow / refuse a partition a fetch asks for) and afterFetch (filter, redact or
 * transform the batches read for the consumer; fail closed).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { readBatchHeader, BATCH_HEADER_BYTES, batchByteLength } from '../../protocol/records/batch.js';
import type { RequestScope } from '../../contracts/request.js';
import type { FetchedTopicData, FetchPlanTopic, HookStages } from '../../contracts/stages.js';
import { LazyBatch } from '../batch.js';
import { requestInfo, stageContext, withLog, type HookChain } from '../machinery.js';

const EMPTY = Buffer.alloc(0);

export function beforeFetchStage(chain: HookChain): HookStages['beforeFetch'] {
  return chain.has('beforeFetch') ? (ctx, plan) => runBeforeFetch(chain, ctx, plan) : null;
}

export function afterFetchStage(chain: HookChain): HookStages['afterFetch'] {
  return chain.has('afterFetch') ? (ctx, plan, responses) => runAfterFetch(chain, ctx, plan, responses) : null;
}

async function runBeforeFetch(chain: HookChain, ctx: RequestScope, plan: readonly FetchPlanTopic[]): Promise<void> {
  const base = requestInfo(ctx, Date.now());
  for (const t of plan) {
    for (const p of t.partitions) {
      if (p.topic === null || p.errorCode !== ErrorCode.NONE) continue;
      const regs = chain.forTopic('beforeFetch', p.topic);
      if (regs.length === 0) continue;
      const fctx = stageContext({ ...base, topic: p.topic, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.maxBytes, log: chain.log });
      const where = `${p.topic}-${p.partition} for ${ctx.connection.remote} (client ${ctx.clientId ?? 'null'})`;
      for (const reg of regs) {
        const out = await chain.call(reg, 'beforeFetch', where, fctx, () => reg.hook.beforeFetch!(withLog(fctx, reg)));
        const code = chain.decisionCode(out, reg, 'beforeFetch', where, fctx);
        if (code !== ErrorCode.NONE) {
          p.errorCode = code;
          break;
        }
      }
    }
  }
}

async function runAfterFetch(chain: HookChain, ctx: RequestScope, plan: readonly FetchPlanTopic[], responses: readonly FetchedTopicData[]): Promise<void> {
  let base: ReturnType<typeof requestInfo> | null = null;
  for (let ti = 0; ti < plan.length; ti++) {
    const planned = plan[ti]!.partitions;
    const datas = responses[ti]?.partitions ?? [];
    for (let pi = 0; pi < planned.length; pi++) {
      const p = planned[pi]!;
      const data = datas[pi];
      if (!data || p.topic === null || (data.errorCode ?? 0) !== ErrorCode.NONE) continue;
      const regs = chain.forTopic('afterFetch', p.topic);
      if (regs.length === 0) continue;
      const pieces = splitBatches(data.records);
      if (pieces.length === 0) continue;
      base ??= requestInfo(ctx, Date.now());
      const batches: LazyBatch[] = [];
      const slots: (LazyBatch | Buffer)[] = pieces.map((piece) => {
        if (piece.header === null || piece.header.isControl) return piece.bytes;
        const b = new LazyBatch(p.topic!, p.partition, piece.header, piece.bytes, 'fetch', ctx);
        batches.push(b);
        return b;
      });
      if (batches.length === 0) continue;
      const fctx = stageContext({
        ...base,
        topic: p.topic,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        highWatermark: Number(data.highWatermark ?? -1n),
        batches,
        log: chain.log,
      });
      const where = `${p.topic}-${p.partition} at ${p.fetchOffset} for ${ctx.connection.remote} (client ${ctx.clientId ?? 'null'})`;
      let code: number = ErrorCode.NONE;
      for (const reg of regs) {
        const out = await chain.call(reg, 'afterFetch', where, fctx, () => reg.hook.afterFetch!(withLog(fctx, reg)));
        code = chain.decisionCode(out, reg, 'afterFetch', where, fctx);
        if (code !== ErrorCode.NONE) break;
      }
      if (code === ErrorCode.NONE && batches.some((b) => b.changed)) {
        try {
          data.records = await rebuild(slots);
        } catch (err) {
          code = chain.failure(regs[regs.length - 1]!, 'afterFetch', where, fctx, err).errorCode;
        }
      }
      // Fail closed: a consumer never receives records a hook could not finish with.
      if (code !== ErrorCode.NONE) {
        data.errorCode = code;
        data.records = EMPTY;
      }
    }
  }
}

interface Piece {
  bytes: Buffer;
  /** null: not a whole batch (passed through untouched). */
  header: ReturnType<typeof readBatchHeader> | null;
}

/** The whole batches of a fetched partition's records (Buffer or list of Buffers), in order. */
function splitBatches(records: unknown): Piece[] {
  const bufs: Buffer[] = Buffer.isBuffer(records) ? [records] : Array.isArray(records) ? (records as Buffer[]) : [];
  const out: Piece[] = [];
  for (const buf of bufs) {
    let pos = 0;
    while (pos < buf.length) {
      if (buf.length - pos < BATCH_HEADER_BYTES) {
        out.push({ bytes: buf.subarray(pos), header: null });
        break;
      }
      const size = batchByteLength(buf, pos);
      if (size < BATCH_HEADER_BYTES || pos + size > buf.length) {
        out.push({ bytes: buf.subarray(pos), header: null });
        break;
      }
      const bytes = buf.subarray(pos, pos + size);
      let header: Piece['header'] = null;
      try {
        header = readBatchHeader(bytes);
      } catch {
        header = null; // not magic 2: pass it through as stored
      }
      out.push({ bytes, header });
      pos += size;
    }
  }
  return out;
}

/**
 * The partition's records after hooks: unchanged batches as stored (views, no copy), changed ones
 * re-encoded. A batch left with no records is omitted when another batch follows it (the consumer
 * advances past it through the next batch's offsets) and kept, empty, when it is the last one, so
 * the consumer's next fetch starts after it.
 */
async function rebuild(slots: readonly (LazyBatch | Buffer)[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (Buffer.isBuffer(s)) out.push(s);
    else if (!s.changed) out.push(s.bytes);
    else {
      const re = await s.reencode();
      if (re.recordCount === 0 && i < slots.length - 1) continue;
      out.push(re.bytes!);
    }
  }
  return out;
}
