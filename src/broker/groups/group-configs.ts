/**
 * Per-group config overrides (KIP-848, Kafka's GroupConfig and GroupConfigManager): a consumer-
 * protocol group may have its own `consumer.session.timeout.ms` and `consumer.heartbeat.interval.ms`,
 * set with IncrementalAlterConfigs on a GROUP (32) resource and read with DescribeConfigs; the broker's
 * `group.consumer.session.timeout.ms` / `group.consumer.heartbeat.interval.ms` apply otherwise.
 *
 * - Values are checked as Kafka's GroupConfig.validate does: an int of at least 1 (else "Invalid
 *   value … for configuration …"), within the broker's `group.consumer.min/max.*` bounds, and the
 *   session timeout greater than the heartbeat interval, each with Kafka's message; an unknown name is
 *   "Unknown group config name: …". All INVALID_CONFIG.
 * - Overrides belong to the group id, whether the group exists or not (as Kafka's, kept in its
 *   metadata log), stored through the engine (putGroupConfig) before the change is acknowledged, and
 *   loaded at start. Kafka 4.1's share.* and streams.* group configs are not served: Rafka has no share
 *   or streams groups.
 *
 * Who calls it: the group coordinator (loading), the consumer groups (timeouts) and the config handlers
 * (api/32, api/44), on the broker's event loop.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import type { BrokerConfig } from '../../config/types.js';
import type { StorageEngine } from '../../storage/engine.js';
import type { Logger } from '../logger.js';

export const CONSUMER_SESSION_TIMEOUT_MS = 'consumer.session.timeout.ms';
export const CONSUMER_HEARTBEAT_INTERVAL_MS = 'consumer.heartbeat.interval.ms';

interface GroupConfigDef {
  readonly name: string;
  readonly doc: string;
  /** The broker setting it overrides, as a value and by name (its default's synonym). */
  readonly brokerKey: string;
  brokerValue(c: BrokerConfig): number;
}

export const GROUP_CONFIG_DEFS: readonly GroupConfigDef[] = [
  {
    name: CONSUMER_SESSION_TIMEOUT_MS,
    doc: 'The timeout to detect client failures when using the consumer group protocol.',
    brokerKey: 'group.consumer.session.timeout.ms',
    brokerValue: (c) => c.groupConsumerSessionTimeoutMs,
  },
  {
    name: CONSUMER_HEARTBEAT_INTERVAL_MS,
    doc: 'The heartbeat interval given to the members of a consumer group.',
    brokerKey: 'group.consumer.heartbeat.interval.ms',
    brokerValue: (c) => c.groupConsumerHeartbeatIntervalMs,
  },
];

/** Stored form: a JSON object of the overrides, name → value as a string (as Kafka keeps them). */
function encode(overrides: ReadonlyMap<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.fromEntries(overrides)), 'utf8');
}

function decode(value: Buffer): Map<string, string> {
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw new Error(`value of ${k} is not a string`);
    out.set(k, v);
  }
  return out;
}

/** One config as DescribeConfigs shows it. */
export interface DescribedGroupConfig {
  name: string;
  value: string;
  /** Overridden for this group (GROUP_CONFIG) or the broker's (DEFAULT_CONFIG, as Kafka reports it). */
  overridden: boolean;
  doc: string;
}

export class GroupConfigs {
  private readonly overrides = new Map<string, Map<string, string>>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly storage: StorageEngine,
    private readonly log: Logger,
  ) {}

  /**
   * Read the stored overrides (an unreadable value is reported and that group's overrides skipped).
   * They were valid when set; bounds changed since do not drop them, as Kafka does not re-check them.
   */
  load(): void {
    for (const [groupId, value] of this.storage.groupConfigs()) {
      try {
        const o = decode(value);
        for (const [k, v] of o) if (!GroupConfigs.isKnown(k) || !/^\d+$/.test(v)) throw new Error(`bad entry ${k}=${v}`);
        this.overrides.set(groupId, o);
      } catch (err) {
        this.log.error(`group ${groupId}: stored group configs unreadable (${(err as Error).message}); the broker's apply`);
      }
    }
  }

  /** The group's `consumer.session.timeout.ms`. */
  sessionTimeoutMs(groupId: string): number {
    return this.intValue(groupId, CONSUMER_SESSION_TIMEOUT_MS);
  }

  /** The group's `consumer.heartbeat.interval.ms`. */
  heartbeatIntervalMs(groupId: string): number {
    return this.intValue(groupId, CONSUMER_HEARTBEAT_INTERVAL_MS);
  }

  private intValue(groupId: string, name: string): number {
    const v = this.overrides.get(groupId)?.get(name);
    return v === undefined ? GROUP_CONFIG_DEFS.find((d) => d.name === name)!.brokerValue(this.config) : Number(v);
  }

  /** The group's overrides (a copy), to be changed and handed to `set`. */
  overridesOf(groupId: string): Map<string, string> {
    return new Map(this.overrides.get(groupId));
  }

  /** DescribeConfigs of a group: every group config (or those named), overridden or the broker's. */
  describe(groupId: string, keys: readonly string[] | null): DescribedGroupConfig[] {
    const o = this.overrides.get(groupId);
    return GROUP_CONFIG_DEFS.filter((d) => keys === null || keys.includes(d.name)).map((d) => {
      const v = o?.get(d.name);
      return { name: d.name, value: v ?? String(d.brokerValue(this.config)), overridden: v !== undefined, doc: d.doc };
    });
  }

  /** Whether a name is a group config (IncrementalAlterConfigs checks names before values). */
  static isKnown(name: string): boolean {
    return GROUP_CONFIG_DEFS.some((d) => d.name === name);
  }

  /** Kafka's GroupConfig.validate over the overrides with the broker's values for the rest; throws INVALID_CONFIG. */
  validate(overrides: ReadonlyMap<string, string>): void {
    const invalid = (message: string): never => {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, message);
    };
    for (const name of overrides.keys()) if (!GroupConfigs.isKnown(name)) invalid(`Unknown group config name: ${name}`);
    const value = (name: string): number => {
      const raw = overrides.get(name);
      if (raw === undefined) return GROUP_CONFIG_DEFS.find((d) => d.name === name)!.brokerValue(this.config);
      const text = raw.trim();
      const n = Number(text);
      if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(n) || n > 2147483647 || n < -2147483648) {
        return invalid(`Invalid value ${raw} for configuration ${name}: Not a number of type INT`);
      }
      if (n < 1) return invalid(`Invalid value ${raw} for configuration ${name}: Value must be at least 1`);
      return n;
    };
    const heartbeat = value(CONSUMER_HEARTBEAT_INTERVAL_MS);
    const session = value(CONSUMER_SESSION_TIMEOUT_MS);
    const c = this.config;
    if (heartbeat < c.groupConsumerMinHeartbeatIntervalMs) invalid(`${CONSUMER_HEARTBEAT_INTERVAL_MS} must be greater than or equal to group.consumer.min.heartbeat.interval.ms`);
    if (heartbeat > c.groupConsumerMaxHeartbeatIntervalMs) invalid(`${CONSUMER_HEARTBEAT_INTERVAL_MS} must be less than or equal to group.consumer.max.heartbeat.interval.ms`);
    if (session < c.groupConsumerMinSessionTimeoutMs) invalid(`${CONSUMER_SESSION_TIMEOUT_MS} must be greater than or equal to group.consumer.min.session.timeout.ms`);
    if (session > c.groupConsumerMaxSessionTimeoutMs) invalid(`${CONSUMER_SESSION_TIMEOUT_MS} must be less than or equal to group.consumer.max.session.timeout.ms`);
    if (session <= heartbeat) invalid(`${CONSUMER_SESSION_TIMEOUT_MS} must be greater than ${CONSUMER_HEARTBEAT_INTERVAL_MS}`);
  }

  /** Forget every group's overrides, stored ones too (`broker.reset()`, between tests). */
  async reset(): Promise<void> {
    for (const groupId of [...this.storage.groupConfigs().keys()]) await this.storage.putGroupConfig(groupId, null);
    this.overrides.clear();
  }

  /** Validate, store, then apply a group's new overrides (none: removed). Values kept as Kafka normalizes ints. */
  async set(groupId: string, overrides: ReadonlyMap<string, string>): Promise<void> {
    this.validate(overrides);
    const normalized = new Map([...overrides].map(([k, v]) => [k, String(Number(v.trim()))]));
    await this.storage.putGroupConfig(groupId, normalized.size === 0 ? null : encode(normalized));
    if (normalized.size === 0) this.overrides.delete(groupId);
    else this.overrides.set(groupId, normalized);
    this.log.info(`group ${groupId}: configs ${normalized.size === 0 ? 'reset to the broker defaults' : JSON.stringify(Object.fromEntries(normalized))}`);
  }
}
