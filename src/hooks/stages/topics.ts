/** onTopicCreate (allow / refuse / adjust partitions and configs) and onTopicDelete (allow / refuse): Kafka's topic policies. */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import type { TopicPolicy } from '../../contracts/stages.js';
import { stageContext, withLog, type HookChain } from '../machinery.js';

/** The policy TopicManager consults; null when no hook implements either stage. */
export function topicPolicy(chain: HookChain): TopicPolicy | null {
  if (!chain.has('onTopicCreate') && !chain.has('onTopicDelete')) return null;
  return { create: (req) => runTopicCreate(chain, req), delete: (topic) => runTopicDelete(chain, topic) };
}

async function runTopicCreate(chain: HookChain, req: Parameters<TopicPolicy['create']>[0]): Promise<{ partitions: number; configs: Record<string, string> }> {
  const regs = chain.forTopic('onTopicCreate', req.name);
  if (regs.length === 0) return { partitions: req.partitions, configs: req.configs };
  const tctx = stageContext({
    topic: req.name,
    partitions: req.partitions,
    replicationFactor: req.replicationFactor,
    configs: { ...req.configs },
    origin: req.origin,
    log: chain.log,
  });
  for (const reg of regs) {
    const out = await chain.call(reg, 'onTopicCreate', `topic ${req.name}`, tctx, () => reg.hook.onTopicCreate!(withLog(tctx, reg)));
    chain.throwIfRefused(out, reg, 'onTopicCreate', `topic ${req.name}`, tctx);
  }
  if (!Number.isInteger(tctx.partitions)) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `hook set partitions to ${String(tctx.partitions)}`);
  const configs: Record<string, string> = {};
  for (const [k, v] of Object.entries(tctx.configs ?? {})) if (v !== undefined && v !== null) configs[k] = String(v);
  return { partitions: tctx.partitions, configs };
}

async function runTopicDelete(chain: HookChain, topic: { name: string; id: string; partitionCount: number }): Promise<void> {
  const regs = chain.forTopic('onTopicDelete', topic.name);
  const dctx = stageContext({ topic: topic.name, topicId: topic.id, partitions: topic.partitionCount, log: chain.log });
  for (const reg of regs) {
    const out = await chain.call(reg, 'onTopicDelete', `topic ${topic.name}`, dctx, () => reg.hook.onTopicDelete!(withLog(dctx, reg)));
    chain.throwIfRefused(out, reg, 'onTopicDelete', `topic ${topic.name}`, dctx);
  }
}
