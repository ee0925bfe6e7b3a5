// @ts-check
/**
 * A CreateTopicPolicy as a hook: topic names must start with one of `options.prefixes`, and every
 * new topic gets at least `options.minPartitions` partitions and a retention.ms unless it sets one.
 * Refusals reach the client as POLICY_VIOLATION with the message (CreateTopics v1+, and Metadata's
 * auto-creation answers the topic with the code).
 *
 *   hooks:
 *     - module: ./topic-policy.js
 *       options: { prefixes: [orders., audit.], minPartitions: 3, retentionMs: 86400000 }
 */
import { ErrorCode } from 'rafka';

/** @type {import('rafka').HookFactory<{ prefixes?: string[]; minPartitions?: number; retentionMs?: number }>} */
export default function topicPolicy(options) {
  const prefixes = options.prefixes ?? [];
  const minPartitions = options.minPartitions ?? 1;
  return {
    name: 'topic-policy',
    onTopicCreate(ctx) {
      if (prefixes.length > 0 && !prefixes.some((p) => ctx.topic.startsWith(p))) {
        return { errorCode: ErrorCode.POLICY_VIOLATION, message: `topic names must start with ${prefixes.join(' or ')}` };
      }
      ctx.partitions = Math.max(ctx.partitions, minPartitions);
      if (options.retentionMs !== undefined && ctx.configs['retention.ms'] === undefined) ctx.configs['retention.ms'] = String(options.retentionMs);
    },
  };
}
