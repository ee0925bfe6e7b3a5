/**
 * DescribeConfigs (key 32), versions 1–4 (v0 was removed in Kafka 4.0, KIP-896).
 * - TOPIC (2): every public topic config with its value and source (topic override, broker default
 *   from rafka.yaml, Kafka default), or only the keys asked for (unknown keys are left out, as Kafka
 *   does). Unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
 * - GROUP (32), any group id (the group need not exist): its KIP-848 group configs, GROUP_CONFIG
 *   where overridden, else the broker's value as DEFAULT_CONFIG (Kafka's answer). Empty name:
 *   INVALID_REQUEST.
 * - BROKER (4), name "" or our node id: the broker settings clients commonly read, read-only.
 * - Anything else (other broker ids, BROKER_LOGGER, unknown types): INVALID_REQUEST with a message.
 * - `config_source` and (when asked) synonyms; v3+ type and (when asked)
 *   documentation.
 * - ACLs: DESCRIBE_CONFIGS on the topic, group or (broker resources) cluster, else
 *   TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED with Kafka's message (config-resources.ts).
 * - A resource asked for twice is answered twice, as Kafka does, but described once: the repeats
 *   share the first answer's configs. The response is bounded (response-budget.ts): a resource that
 *   would take it past RESPONSE_MAX_BYTES is answered INVALID_REQUEST with no configs.
 */
import { ApiKey, DescribeConfigsRequest, DescribeConfigsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CONFIG_SOURCE } from '../../config/topic-configs.js';
import { authorizationMessage } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import { describedTopicConfigs } from './topic-config-view.js';
import { ResourceType, configAuthorizationError, describeBrokerConfigs, isThisBroker } from './config-resources.js';
import { AclOperation } from '../security/acls.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';

/** DescribeConfigs ConfigType INT. */
const INT_CONFIG_TYPE = 3;

interface Described {
  name: string;
  value: string;
  readOnly: boolean;
  source: number;
  isSensitive: boolean;
  configType: number;
  documentation: string;
  synonyms: { name: string; value: string; source: number }[];
}

export default defineHandler({
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 1,
  maxVersion: 4,
  request: DescribeConfigsRequest,
  response: DescribeConfigsResponse,
  handle(req, ctx) {
    const broker = ctx.broker;
    const budget = new ResponseBudget();
    const answered = new Map<string, { answer: ReturnType<typeof describe>; bytes: number }>();
    const results = req.resources.map((res) => {
      const refused = configAuthorizationError(ctx, AclOperation.DESCRIBE_CONFIGS, res.resourceType, res.resourceName);
      if (refused !== ErrorCode.NONE) return { resourceType: res.resourceType, resourceName: res.resourceName, errorCode: refused, errorMessage: authorizationMessage(refused), configs: [] };
      const key = JSON.stringify([res.resourceType, res.resourceName, res.configurationKeys]);
      let known = answered.get(key);
      if (known === undefined) {
        const answer = describe(res);
        known = { answer, bytes: answerBytes(answer) };
        answered.set(key, known);
      }
      if (!budget.take(known.bytes)) {
        return { resourceType: res.resourceType, resourceName: res.resourceName, errorCode: budget.errorCode, errorMessage: budget.message, configs: [] };
      }
      return known.answer;
    });
    return { throttleTimeMs: 0, results };

    function describe(res: DescribeConfigsRequest['resources'][number]) {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      // null asks for every config; so does an empty list (kafkajs sends [] for "all").
      const keys = res.configurationKeys !== null && res.configurationKeys.length > 0 ? res.configurationKeys : null;
      let described: Described[];
      if (res.resourceType === ResourceType.TOPIC) {
        const topic = broker.topics.get(res.resourceName);
        if (!topic) {
          return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic '${res.resourceName}' does not exist.`, configs: [] };
        }
        described = describedTopicConfigs(broker, topic.configs, keys ?? undefined);
      } else if (res.resourceType === ResourceType.GROUP && res.resourceName !== '') {
        described = broker.groups.configs.describe(res.resourceName, keys).map((c) => {
          const source = c.overridden ? CONFIG_SOURCE.GROUP_CONFIG : CONFIG_SOURCE.DEFAULT_CONFIG;
          return { name: c.name, value: c.value, readOnly: false, source, isSensitive: false, configType: INT_CONFIG_TYPE, documentation: c.doc, synonyms: [{ name: c.name, value: c.value, source }] };
        });
      } else if (res.resourceType === ResourceType.BROKER && isThisBroker(broker, res.resourceName)) {
        described = describeBrokerConfigs(broker);
        if (keys !== null) described = described.filter((d) => keys.includes(d.name));
      } else {
        const why =
          res.resourceType === ResourceType.BROKER
            ? `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${res.resourceName}`
            : res.resourceType === ResourceType.GROUP
              ? 'Group name must not be empty'
              : `Unsupported resource type ${res.resourceType} for DescribeConfigs`;
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: why, configs: [] };
      }
      return {
        ...base,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        configs: described.map((d) => ({
          name: d.name,
          value: d.value,
          readOnly: d.readOnly,
          isDefault: d.source === CONFIG_SOURCE.DEFAULT_CONFIG,
          configSource: d.source,
          isSensitive: d.isSensitive,
          synonyms: req.includeSynonyms ? d.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [],
          configType: d.configType,
          documentation: req.includeDocumentation ? d.documentation : null,
        })),
      };
    }
  },
  clientThrottlesFromVersion: 2,
  errorResponse(req, _v, errorCode, errorMessage) {
    return { results: req.resources.map((r) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })) };
  },
});

/** Estimated encoded size of one resource's answer. */
function answerBytes(a: { resourceName: string; errorMessage: string | null; configs: readonly { name: string; value: string; documentation: string | null; synonyms: readonly { name: string; value: string }[] }[] }): number {
  let n = 16 + stringBytes(a.resourceName) + stringBytes(a.errorMessage);
  for (const c of a.configs) {
    n += 8 + stringBytes(c.name) + stringBytes(c.value) + stringBytes(c.documentation);
    for (const syn of c.synonyms) n += 4 + stringBytes(syn.name) + stringBytes(syn.value);
  }
  return n;
}
