/**
 * AlterConfigs (key 33), versions 0–2: the legacy call that REPLACES a topic's overrides with the
 * given set (configs left out return to their defaults).
 * - TOPIC: unknown topic UNKNOWN_TOPIC_OR_PARTITION; unknown names or bad values INVALID_CONFIG;
 *   a null value or a name given twice INVALID_REQUEST. `validate_only` changes nothing.
 * - GROUP (32): the group's config overrides become the given set (api/44 has the rules).
 * - BROKER: Rafka has no dynamic broker configs: INVALID_REQUEST with that message. Other resource
 *   types: INVALID_REQUEST.
 */
import { ApiKey, AlterConfigsRequest, AlterConfigsResponse } from '../../protocol/messages/index.js';
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';

import { alterGroupConfigs, resourceProblem, topicForAlter } from './alter-config-common.js';
import { configAuthorizationError, ResourceType } from './config-resources.js';
import { AclOperation } from '../security/acls.js';

export default defineHandler({
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  request: AlterConfigsRequest,
  response: AlterConfigsResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    const responses = [];
    for (const res of req.resources) {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      // ACLs: ALTER_CONFIGS on the topic, group or (broker resources) cluster; Kafka sends no message.
      const refused = configAuthorizationError(ctx, AclOperation.ALTER_CONFIGS, res.resourceType, res.resourceName);
      if (refused !== ErrorCode.NONE) {
        responses.push({ ...base, errorCode: refused, errorMessage: null });
        continue;
      }
      try {
        const problem = resourceProblem(broker, res.resourceType, res.resourceName, req.resources);
        if (problem) throw problem;
        if (res.resourceType === ResourceType.GROUP) {
          const overrides = new Map<string, string>();
          for (const c of res.configs) {
            if (overrides.has(c.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${c.name}`);
            if (c.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for group configs: ${c.name}`);
            overrides.set(c.name, c.value);
          }
          await alterGroupConfigs(broker, res.resourceName, overrides, req.validateOnly);
          responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
          continue;
        }
        const topic = topicForAlter(broker, res.resourceName);
        const configs: Record<string, string> = {};
        for (const c of res.configs) {
          if (c.name in configs) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${c.name}`);
          if (c.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for topic configs: ${c.name}`);
          configs[c.name] = c.value;
        }
        broker.topics.validateConfigs(configs);
        if (!req.validateOnly) await broker.topics.setConfigs(topic.name, configs);
        responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        responses.push({ ...base, errorCode: err.errorCode, errorMessage: err.message });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode, errorMessage) {
    return { responses: req.resources.map((r) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName })) };
  },
});


