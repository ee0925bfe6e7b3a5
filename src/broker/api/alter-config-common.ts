/** Checks shared by AlterConfigs and IncrementalAlterConfigs. */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import type { Broker } from '../broker.js';
import type { Topic } from '../topics.js';
import { ResourceType, isThisBroker } from './config-resources.js';

/** Why a resource cannot be altered at all, or null when it is a topic or a group we can alter. */
export function resourceProblem(
  broker: Broker,
  resourceType: number,
  resourceName: string,
  all: readonly { resourceType: number; resourceName: string }[],
): KafkaError | null {
  if (all.filter((r) => r.resourceType === resourceType && r.resourceName === resourceName).length > 1) {
    return new KafkaError(ErrorCode.INVALID_REQUEST, `Duplicate resource ${resourceName} in request.`);
  }
  if (resourceType === ResourceType.TOPIC) return null;
  if (resourceType === ResourceType.GROUP) return resourceName === '' ? new KafkaError(ErrorCode.INVALID_REQUEST, 'Group name must not be empty') : null;
  if (resourceType === ResourceType.BROKER || resourceType === ResourceType.BROKER_LOGGER) {
    if (!isThisBroker(broker, resourceName)) {
      return new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${resourceName}`);
    }
    return new KafkaError(ErrorCode.INVALID_REQUEST, 'Rafka has no dynamic broker configs; set them in rafka.yaml, RAFKA_* variables or flags.');
  }
  return new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}.`);
}

/**
 * Replace a group's config overrides (both alter APIs end here): validated as Kafka's GroupConfig
 * (INVALID_CONFIG), stored unless `validateOnly`.
 */
export async function alterGroupConfigs(broker: Broker, groupId: string, overrides: ReadonlyMap<string, string>, validateOnly: boolean): Promise<void> {
  const configs = broker.groups.configs;
  if (validateOnly) configs.validate(overrides);
  else await configs.set(groupId, overrides);
}

export function topicForAlter(broker: Broker, name: string): Topic {
  const topic = broker.topics.get(name);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
  return topic;
}
