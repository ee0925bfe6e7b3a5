/**
 * IncrementalAlterConfigs (key 44), versions 0–1 (KIP-339): SET (0), DELETE (1), APPEND (2) and
 * SUBTRACT (3) on single topic configs, leaving the others as they are.
 * - APPEND/SUBTRACT only apply to list configs (e.g. `cleanup.policy`), else INVALID_CONFIG; they
 *   start from the current value (override or default).
 * - A key given twice for one resource: INVALID_REQUEST; unknown names or bad values: INVALID_CONFIG;
 *   unknown operation: INVALID_REQUEST. All changes to a resource apply together or not at all.
 * - GROUP (32), KIP-848 group configs (groups/group-configs.ts): SET and DELETE of
 *   `consumer.session.timeout.ms` and `consumer.heartbeat.interval.ms`, checked against the broker's
 *   `group.consumer.min/max.*` (INVALID_CONFIG); APPEND/SUBTRACT are INVALID_CONFIG (no list configs).
 *   The group need not exist.
 * - Broker resources: no dynamic broker configs (INVALID_REQUEST), as in AlterConfigs.
 */
import { ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../protocol/messages/index.js';
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { getTopicConfigDef, unknownTopicConfigMessage } from '../../config/topic-configs.js';
import { defineHandler } from '../handler.js';
import { alterGroupConfigs, resourceProblem, topicForAlter } from './alter-config-common.js';
import { configAuthorizationError, ResourceType } from './config-resources.js';
import { AclOperation } from '../security/acls.js';
import { GroupConfigs } from '../groups/group-configs.js';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

export default defineHandler({
  apiKey: ApiKey.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  request: IncrementalAlterConfigsRequest,
  response: IncrementalAlterConfigsResponse,
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
          const overrides = broker.groups.configs.overridesOf(res.resourceName);
          const seen = new Set<string>();
          for (const c of res.configs) {
            if (seen.has(c.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${c.name}`);
            seen.add(c.name);
            if (!GroupConfigs.isKnown(c.name)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown group config name: ${c.name}`);
            switch (c.configOperation) {
              case SET:
                if (c.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for group configs: ${c.name}`);
                overrides.set(c.name, c.value);
                break;
              case DELETE:
                overrides.delete(c.name);
                break;
              case APPEND:
              case SUBTRACT:
                throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value append is not allowed for config key: ${c.name}`);
              default:
                throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.configOperation} for ${c.name}`);
            }
          }
          await alterGroupConfigs(broker, res.resourceName, overrides, req.validateOnly);
          responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
          continue;
        }
        const topic = topicForAlter(broker, res.resourceName);
        const configs: Record<string, string> = { ...topic.configs };
        const seen = new Set<string>();
        for (const c of res.configs) {
          if (seen.has(c.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${c.name}`);
          seen.add(c.name);
          const def = getTopicConfigDef(c.name);
          if (!def) throw new KafkaError(ErrorCode.INVALID_CONFIG, unknownTopicConfigMessage(c.name));
          switch (c.configOperation) {
            case SET:
              if (c.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for topic configs: ${c.name}`);
              configs[c.name] = c.value;
              break;
            case DELETE:
              delete configs[c.name];
              break;
            case APPEND:
            case SUBTRACT: {
              if (def.type !== 'list') {
                throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value append is not allowed for config key: ${c.name}`);
              }
              const current = (configs[c.name] ?? broker.topics.configValue(topic, c.name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
              const items = (c.value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
              const next = c.configOperation === APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
              configs[c.name] = next.join(',');
              break;
            }
            default:
              throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.configOperation} for ${c.name}`);
          }
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
  clientThrottlesFromVersion: 0,
  errorResponse(req, _v, errorCode, errorMessage) {
    return { responses: req.resources.map((r) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName })) };
  },
});
