/**
 * How a topic's configs look to clients (CreateTopics v5+, DescribeConfigs): every known config with
 * its value and source — a topic override, a broker default from rafka.yaml, or Kafka's default.
 */
import { TOPIC_CONFIG_NAMES, describeTopicConfig, type DescribedTopicConfig } from '../../config/topic-configs.js';
import type { Broker } from '../broker.js';

export function describedTopicConfigs(broker: Broker, overrides: Readonly<Record<string, string>>, names: readonly string[] = TOPIC_CONFIG_NAMES): DescribedTopicConfig[] {
  const out: DescribedTopicConfig[] = [];
  for (const name of names) {
    const d = describeTopicConfig(name, overrides, broker.config.topicDefaults);
    if (d) out.push(d);
  }
  return out;
}

/** The CreateTopics v5+ `configs` list. */
export function describeAllTopicConfigs(broker: Broker, overrides: Readonly<Record<string, string>>) {
  return describedTopicConfigs(broker, overrides).map((d) => ({
    name: d.name,
    value: d.value,
    readOnly: d.readOnly,
    configSource: d.source,
    isSensitive: d.isSensitive,
  }));
}
