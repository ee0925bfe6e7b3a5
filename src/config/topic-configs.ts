/**
 * The Kafka TOPIC configs Rafka knows: type, Kafka's default as DescribeConfigs shows it, validator,
 * broker-level synonyms. Used by CreateTopics / AlterConfigs / IncrementalAlterConfigs validation,
 * by DescribeConfigs (value, source, synonyms) and by the `topic.defaults` section of rafka.yaml.
 *
 * The table follows Apache Kafka 4.x (`LogConfig` + `ServerTopicConfigSynonyms`): configs removed in
 * 4.0 (`message.format.version`, `message.downconversion.enable`,
 * `message.timestamp.difference.max.ms`) are unknown, and `segment.bytes` has 4.x's 1 MiB minimum.
 * Like Kafka 4.x, the internal `internal.segment.bytes` overrides `segment.bytes` without a minimum
 * worth mentioning (tests roll small segments with it); it is not listed by DescribeConfigs.
 *
 * Error texts follow Kafka's `ConfigException`: `Invalid value <v> for configuration <name>: <why>`.
 */

/** Kafka's `ConfigDef.Type`, lower-cased. */
export type TopicConfigType = 'string' | 'int' | 'short' | 'long' | 'double' | 'boolean' | 'list' | 'class' | 'password';

/** Validator of a (parsed) value; mirrors Kafka's `ConfigDef.Range`, `ValidString`, `ValidList`. */
export type TopicConfigValidator =
  | { kind: 'none' }
  /** Inclusive bounds; bigint so that longs near 2^63 compare exactly. */
  | { kind: 'range'; min?: bigint | number; max?: bigint | number }
  /** Value must be one of `values` (case-sensitive, like Kafka's `ValidString.in`). */
  | { kind: 'in'; values: readonly string[] }
  /** Comma-separated list whose every element is one of `values` (Kafka's `ValidList.in`). */
  | { kind: 'list-in'; values: readonly string[] }
  /** A range, or exactly one of the `or` values (gzip's `[1,...,9] or -1`). */
  | { kind: 'range-or'; min: number; max: number; or: readonly number[] }
  /** Kafka's `ThrottledReplicaListValidator`: empty, `*`, or `partition:broker` pairs. */
  | { kind: 'throttled-replicas' };

export interface TopicConfigSynonym {
  /** Broker config name (e.g. `log.retention.ms`). */
  name: string;
  /**
   * The broker config's own default as DescribeConfigs shows it in the DEFAULT_CONFIG synonym, or
   * null when the broker config has no default (Kafka then skips it: `log.retention.ms` has none,
   * `log.retention.hours` = 168 is what `kafka-configs --describe --all` shows).
   */
  brokerDefault: string | null;
}

export interface TopicConfigDef {
  name: string;
  type: TopicConfigType;
  /** Kafka's default, formatted as DescribeConfigs shows it; null = no default (internal configs). */
  default: string | null;
  validator: TopicConfigValidator;
  /** Kafka's "Valid Values" column (`[-1,...]`, `[compact, delete]`), '' when unrestricted. */
  validValues: string;
  /** Password-type configs are sensitive; no topic config is. */
  sensitive: boolean;
  /** Broker-level synonyms in Kafka's priority order (first one wins); empty when there is none. */
  synonyms: readonly TopicConfigSynonym[];
  /** Convenience: `synonyms[0]?.name ?? null`, the "Server Default Property" of Kafka's docs. */
  brokerSynonym: string | null;
  /** Internal configs are accepted but not listed by DescribeConfigs. */
  internal: boolean;
  /** One-line description (DescribeConfigs `documentation` when asked for). */
  doc: string;
}

/** DescribeConfigs `ConfigType` codes (DescribeConfigsResponse v3+). */
export const CONFIG_TYPE_CODE: Readonly<Record<TopicConfigType, number>> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

/** DescribeConfigs `ConfigSource` codes. */
export const CONFIG_SOURCE = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  /** A group's own override (KIP-848 group configs). */
  GROUP_CONFIG: 8,
} as const;
export type ConfigSourceCode = (typeof CONFIG_SOURCE)[keyof typeof CONFIG_SOURCE];

const LONG_MAX = '9223372036854775807';
const INT_MIN = -2147483648n;
const INT_MAX = 2147483647n;
const LONG_MIN_BIG = -9223372036854775808n;
const LONG_MAX_BIG = 9223372036854775807n;

// ---- table -------------------------------------------------------------------------------------

interface Row {
  name: string;
  type: TopicConfigType;
  default: string | null;
  validator?: TopicConfigValidator;
  /** Broker synonyms: a name (default = the topic default) or [name, brokerDefault]. */
  synonyms?: ReadonlyArray<string | readonly [string, string | null]>;
  internal?: boolean;
  doc: string;
}

const atLeast = (min: bigint | number): TopicConfigValidator => ({ kind: 'range', min });
const between = (min: bigint | number, max: bigint | number): TopicConfigValidator => ({ kind: 'range', min, max });
const oneOf = (...values: string[]): TopicConfigValidator => ({ kind: 'in', values });

const ROWS: readonly Row[] = [
  {
    name: 'cleanup.policy', type: 'list', default: 'delete',
    validator: { kind: 'list-in', values: ['compact', 'delete'] },
    synonyms: ['log.cleanup.policy'],
    doc: 'Retention policy for old log segments: "delete", "compact" or both (comma-separated).',
  },
  {
    name: 'compression.gzip.level', type: 'int', default: '-1',
    validator: { kind: 'range-or', min: 1, max: 9, or: [-1] },
    synonyms: ['compression.gzip.level'],
    doc: 'Compression level used when compression.type is gzip.',
  },
  {
    name: 'compression.lz4.level', type: 'int', default: '9', validator: between(1, 17),
    synonyms: ['compression.lz4.level'],
    doc: 'Compression level used when compression.type is lz4.',
  },
  {
    name: 'compression.type', type: 'string', default: 'producer',
    validator: oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'),
    synonyms: ['compression.type'],
    doc: "Final compression of the topic's data; 'producer' keeps the producer's codec.",
  },
  {
    name: 'compression.zstd.level', type: 'int', default: '3', validator: between(-131072, 22),
    synonyms: ['compression.zstd.level'],
    doc: 'Compression level used when compression.type is zstd.',
  },
  {
    name: 'delete.retention.ms', type: 'long', default: '86400000', validator: atLeast(0),
    synonyms: ['log.cleaner.delete.retention.ms'],
    doc: 'How long delete tombstones are retained in compacted topics.',
  },
  {
    name: 'file.delete.delay.ms', type: 'long', default: '60000', validator: atLeast(0),
    synonyms: ['log.segment.delete.delay.ms'],
    doc: 'Time to wait before deleting a file from the filesystem.',
  },
  {
    name: 'flush.messages', type: 'long', default: LONG_MAX, validator: atLeast(1),
    synonyms: ['log.flush.interval.messages'],
    doc: 'Number of messages after which an fsync is forced.',
  },
  {
    name: 'flush.ms', type: 'long', default: LONG_MAX, validator: atLeast(0),
    synonyms: [['log.flush.interval.ms', null], ['log.flush.scheduler.interval.ms', LONG_MAX]],
    doc: 'Time after which an fsync is forced.',
  },
  {
    name: 'follower.replication.throttled.replicas', type: 'list', default: '',
    validator: { kind: 'throttled-replicas' },
    doc: 'Replicas whose log replication is throttled on the follower side.',
  },
  {
    name: 'index.interval.bytes', type: 'int', default: '4096', validator: atLeast(0),
    synonyms: ['log.index.interval.bytes'],
    doc: 'How often an entry is added to the offset index.',
  },
  {
    name: 'internal.segment.bytes', type: 'int', default: null, validator: atLeast(14), internal: true,
    doc: 'Testing only: overrides segment.bytes without its 1 MiB minimum.',
  },
  {
    name: 'leader.replication.throttled.replicas', type: 'list', default: '',
    validator: { kind: 'throttled-replicas' },
    doc: 'Replicas whose log replication is throttled on the leader side.',
  },
  {
    name: 'local.retention.bytes', type: 'long', default: '-2', validator: atLeast(-2),
    synonyms: ['log.local.retention.bytes'],
    doc: 'Local size limit when tiered storage is enabled; -2 = use retention.bytes.',
  },
  {
    name: 'local.retention.ms', type: 'long', default: '-2', validator: atLeast(-2),
    synonyms: ['log.local.retention.ms'],
    doc: 'Local time limit when tiered storage is enabled; -2 = use retention.ms.',
  },
  {
    name: 'max.compaction.lag.ms', type: 'long', default: LONG_MAX, validator: atLeast(1),
    synonyms: ['log.cleaner.max.compaction.lag.ms'],
    doc: 'Maximum time a message remains ineligible for compaction.',
  },
  {
    name: 'max.message.bytes', type: 'int', default: '1048588', validator: atLeast(0),
    synonyms: ['message.max.bytes'],
    doc: 'Largest record batch size allowed (after compression).',
  },
  {
    name: 'message.timestamp.after.max.ms', type: 'long', default: LONG_MAX, validator: atLeast(0),
    synonyms: ['log.message.timestamp.after.max.ms'],
    doc: "How far a CreateTime timestamp may be ahead of the broker's clock.",
  },
  {
    name: 'message.timestamp.before.max.ms', type: 'long', default: LONG_MAX, validator: atLeast(0),
    synonyms: ['log.message.timestamp.before.max.ms'],
    doc: "How far a CreateTime timestamp may be behind the broker's clock.",
  },
  {
    name: 'message.timestamp.type', type: 'string', default: 'CreateTime',
    validator: oneOf('CreateTime', 'LogAppendTime'),
    synonyms: ['log.message.timestamp.type'],
    doc: 'Whether record timestamps are the create time or the log append time.',
  },
  {
    name: 'min.cleanable.dirty.ratio', type: 'double', default: '0.5', validator: between(0, 1),
    synonyms: ['log.cleaner.min.cleanable.ratio'],
    doc: 'Dirty/total ratio at which the log compactor cleans the log.',
  },
  {
    name: 'min.compaction.lag.ms', type: 'long', default: '0', validator: atLeast(0),
    synonyms: ['log.cleaner.min.compaction.lag.ms'],
    doc: 'Minimum time a message remains uncompacted.',
  },
  {
    name: 'min.insync.replicas', type: 'int', default: '1', validator: atLeast(1),
    synonyms: ['min.insync.replicas'],
    doc: 'Minimum in-sync replicas for an acks=all write to succeed.',
  },
  {
    name: 'preallocate', type: 'boolean', default: 'false',
    synonyms: ['log.preallocate'],
    doc: 'Preallocate the file on disk when creating a new log segment.',
  },
  {
    name: 'remote.log.copy.disable', type: 'boolean', default: 'false',
    doc: 'Stop copying segments to remote storage (tiered storage).',
  },
  {
    name: 'remote.log.delete.on.disable', type: 'boolean', default: 'false',
    doc: 'Delete remote data when tiered storage is disabled on the topic.',
  },
  {
    name: 'remote.storage.enable', type: 'boolean', default: 'false',
    doc: 'Enable tiered storage for the topic.',
  },
  {
    // No validator in Kafka either: negative means "no size limit".
    name: 'retention.bytes', type: 'long', default: '-1',
    synonyms: ['log.retention.bytes'],
    doc: 'Maximum size a partition can grow to before old segments are discarded; -1 = unlimited.',
  },
  {
    name: 'retention.ms', type: 'long', default: '604800000', validator: atLeast(-1),
    synonyms: [['log.retention.ms', null], ['log.retention.minutes', null], ['log.retention.hours', '168']],
    doc: 'Maximum time a log is retained before old segments are discarded; -1 = unlimited.',
  },
  {
    name: 'segment.bytes', type: 'int', default: '1073741824', validator: atLeast(1048576),
    synonyms: ['log.segment.bytes'],
    doc: 'Segment file size of the log.',
  },
  {
    name: 'segment.index.bytes', type: 'int', default: '10485760', validator: atLeast(4),
    synonyms: ['log.index.size.max.bytes'],
    doc: 'Size of the index that maps offsets to file positions.',
  },
  {
    name: 'segment.jitter.ms', type: 'long', default: '0', validator: atLeast(0),
    synonyms: [['log.roll.jitter.ms', null], ['log.roll.jitter.hours', '0']],
    doc: 'Maximum random jitter subtracted from segment.ms.',
  },
  {
    name: 'segment.ms', type: 'long', default: '604800000', validator: atLeast(1),
    synonyms: [['log.roll.ms', null], ['log.roll.hours', '168']],
    doc: 'Time after which the log rolls a new segment even if the current one is not full.',
  },
  {
    name: 'unclean.leader.election.enable', type: 'boolean', default: 'false',
    synonyms: ['unclean.leader.election.enable'],
    doc: 'Allow out-of-sync replicas to become leader as a last resort.',
  },
];

function validValuesText(v: TopicConfigValidator): string {
  switch (v.kind) {
    case 'none':
    case 'throttled-replicas':
      return '';
    case 'range':
      if (v.min !== undefined && v.max !== undefined) return `[${v.min},...,${v.max}]`;
      if (v.min !== undefined) return `[${v.min},...]`;
      if (v.max !== undefined) return `[...,${v.max}]`;
      return '';
    case 'in':
    case 'list-in':
      return `[${v.values.join(', ')}]`;
    case 'range-or':
      return `[${v.min},...,${v.max}] or ${v.or.join(', ')}`;
  }
}

function buildDef(row: Row): TopicConfigDef {
  const validator = row.validator ?? { kind: 'none' };
  const synonyms: TopicConfigSynonym[] = (row.synonyms ?? []).map((s) =>
    typeof s === 'string' ? { name: s, brokerDefault: row.default } : { name: s[0], brokerDefault: s[1] },
  );
  return Object.freeze({
    name: row.name,
    type: row.type,
    default: row.default,
    validator,
    validValues: validValuesText(validator),
    sensitive: row.type === 'password',
    synonyms: Object.freeze(synonyms),
    brokerSynonym: synonyms[0]?.name ?? null,
    internal: row.internal ?? false,
    doc: row.doc,
  });
}

/** Every topic config Rafka knows, by name (including internal ones). */
export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDef> = new Map(ROWS.map((r) => [r.name, buildDef(r)]));

/** Public (non-internal) topic config names, sorted: what DescribeConfigs lists for a topic. */
export const TOPIC_CONFIG_NAMES: readonly string[] = Object.freeze(
  [...TOPIC_CONFIGS.values()].filter((d) => !d.internal).map((d) => d.name).sort(),
);

/** Kafka's defaults of all public topic configs, `name → value` as DescribeConfigs shows them. */
export function kafkaTopicConfigDefaults(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TOPIC_CONFIG_NAMES) out[name] = TOPIC_CONFIGS.get(name)!.default ?? '';
  return out;
}

export function isKnownTopicConfig(name: string): boolean {
  return TOPIC_CONFIGS.has(name);
}

export function getTopicConfigDef(name: string): TopicConfigDef | undefined {
  return TOPIC_CONFIGS.get(name);
}

/** Kafka's message for an unknown name (CreateTopics / AlterConfigs answer INVALID_CONFIG with it). */
export function unknownTopicConfigMessage(name: string): string {
  return `Unknown topic config name: ${name}`;
}

/** A broker config name used where a topic config belongs, e.g. `log.retention.ms` → `retention.ms`. */
export function topicConfigForBrokerSynonym(brokerName: string): string | undefined {
  for (const def of TOPIC_CONFIGS.values()) {
    if (def.synonyms.some((s) => s.name === brokerName) && def.name !== brokerName) return def.name;
  }
  return undefined;
}

// ---- value parsing and validation ---------------------------------------------------------------

type Parsed =
  | { ok: true; kind: 'int'; value: bigint }
  | { ok: true; kind: 'double'; value: number }
  | { ok: true; kind: 'boolean'; value: boolean }
  | { ok: true; kind: 'string'; value: string }
  | { ok: true; kind: 'list'; value: string[] }
  | { ok: false; why: string };

const INTEGER_RE = /^[+-]?\d+$/;
const DOUBLE_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[dDfF]?$/;

/** Parses like Kafka's `ConfigDef.parseType` (values are trimmed first). */
function parseValue(type: TopicConfigType, raw: string): Parsed {
  const s = raw.trim();
  switch (type) {
    case 'int':
    case 'short':
    case 'long': {
      const [lo, hi, label] =
        type === 'long' ? [LONG_MIN_BIG, LONG_MAX_BIG, 'LONG'] : type === 'int' ? [INT_MIN, INT_MAX, 'INT'] : [-32768n, 32767n, 'SHORT'];
      if (!INTEGER_RE.test(s)) return { ok: false, why: `Not a number of type ${label}` };
      const n = BigInt(s);
      if (n < lo || n > hi) return { ok: false, why: `Not a number of type ${label}` };
      return { ok: true, kind: 'int', value: n };
    }
    case 'double': {
      if (!DOUBLE_RE.test(s)) return { ok: false, why: 'Not a number of type DOUBLE' };
      const n = Number(s.replace(/[dDfF]$/, ''));
      if (!Number.isFinite(n)) return { ok: false, why: 'Not a number of type DOUBLE' };
      return { ok: true, kind: 'double', value: n };
    }
    case 'boolean': {
      const l = s.toLowerCase();
      if (l === 'true') return { ok: true, kind: 'boolean', value: true };
      if (l === 'false') return { ok: true, kind: 'boolean', value: false };
      return { ok: false, why: 'Expected value to be either true or false' };
    }
    case 'list':
      return { ok: true, kind: 'list', value: s === '' ? [] : s.split(/\s*,\s*/) };
    case 'string':
    case 'class':
    case 'password':
      return { ok: true, kind: 'string', value: s };
  }
}

function cmp(a: bigint | number, b: bigint | number): number {
  // Mixed comparisons are exact in JS (bigint vs number compares mathematically).
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkValidator(v: TopicConfigValidator, parsed: Exclude<Parsed, { ok: false }>): string | null {
  switch (v.kind) {
    case 'none':
      return null;
    case 'range': {
      if (parsed.kind !== 'int' && parsed.kind !== 'double') return null;
      if (v.min !== undefined && cmp(parsed.value, v.min) < 0) return `Value must be at least ${v.min}`;
      if (v.max !== undefined && cmp(parsed.value, v.max) > 0) return `Value must be no more than ${v.max}`;
      return null;
    }
    case 'range-or': {
      if (parsed.kind !== 'int') return null;
      const n = Number(parsed.value);
      if (v.or.includes(n) || (n >= v.min && n <= v.max)) return null;
      return `Value must be between ${v.min} and ${v.max} or one of ${v.or.join(', ')}`;
    }
    case 'in':
      if (parsed.kind !== 'string') return null;
      return v.values.includes(parsed.value) ? null : `String must be one of: ${v.values.join(', ')}`;
    case 'list-in':
      // Reported per element by the caller (Kafka names the bad element, not the whole list).
      return null;
    case 'throttled-replicas': {
      if (parsed.kind !== 'list') return null;
      const items = parsed.value;
      if (items.length === 0) return null;
      if (items.length === 1 && items[0] === '*') return null;
      if (items.every((i) => /^\d+:\d+$/.test(i))) return null;
      return 'Must be the literal \'*\' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...';
    }
  }
}

/**
 * Validates one topic config value as Kafka does on CreateTopics / AlterConfigs.
 * Returns null when valid, else a Kafka-style message (the broker answers INVALID_CONFIG with it).
 * Unknown names give `Unknown topic config name: <name>`.
 */
export function validateTopicConfig(name: string, value: string): string | null {
  const def = TOPIC_CONFIGS.get(name);
  if (!def) return unknownTopicConfigMessage(name);
  const parsed = parseValue(def.type, value);
  const invalid = (v: string, why: string) => `Invalid value ${v} for configuration ${name}: ${why}`;
  if (!parsed.ok) return invalid(value, parsed.why);
  if (def.validator.kind === 'list-in' && parsed.kind === 'list') {
    for (const el of parsed.value) {
      if (!def.validator.values.includes(el)) return invalid(el, `String must be one of: ${def.validator.values.join(', ')}`);
    }
    return null;
  }
  const why = checkValidator(def.validator, parsed);
  return why === null ? null : invalid(value, why);
}

export interface TopicConfigProblem {
  /** The offending config name. */
  name: string;
  /** Kafka-style message; the Kafka error is INVALID_CONFIG (40). */
  message: string;
}

/**
 * Validates a whole set of topic configs (CreateTopics `configs`, or the result of applying an
 * AlterConfigs request to the current overrides): unknown names, each value, then Kafka's
 * cross-config checks (`min.compaction.lag.ms` ≤ `max.compaction.lag.ms`). Values are resolved
 * against `defaults` (the broker's topic defaults) for the cross-checks. Returns the first problem.
 */
export function validateTopicConfigs(
  configs: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>> = {},
): TopicConfigProblem | null {
  const entries: Array<readonly [string, string]> =
    Symbol.iterator in Object(configs)
      ? [...(configs as Iterable<readonly [string, string]>)]
      : Object.entries(configs as Record<string, string>);
  const merged = new Map<string, string>();
  for (const [name, value] of entries) {
    const message = validateTopicConfig(name, value);
    if (message !== null) return { name, message };
    merged.set(name, value);
  }
  const effective = (n: string) => merged.get(n) ?? defaults[n] ?? TOPIC_CONFIGS.get(n)?.default ?? null;
  const minLag = effective('min.compaction.lag.ms');
  const maxLag = effective('max.compaction.lag.ms');
  if (minLag !== null && maxLag !== null && toBigInt(minLag) > toBigInt(maxLag)) {
    const name = merged.has('min.compaction.lag.ms') ? 'min.compaction.lag.ms' : 'max.compaction.lag.ms';
    return {
      name,
      message: `conflict topic config setting min.compaction.lag.ms (${minLag.trim()}) > max.compaction.lag.ms (${maxLag.trim()})`,
    };
  }
  return null;
}

function toBigInt(s: string): bigint {
  const t = s.trim();
  return INTEGER_RE.test(t) ? BigInt(t) : 0n;
}

// ---- DescribeConfigs helper ----------------------------------------------------------------------

export interface DescribedSynonym {
  name: string;
  value: string;
  source: ConfigSourceCode;
}

export interface DescribedTopicConfig {
  name: string;
  value: string;
  readOnly: boolean;
  source: ConfigSourceCode;
  isSensitive: boolean;
  /** Only needed for DescribeConfigs v3+. */
  configType: number;
  documentation: string;
  /** In Kafka's order: topic override, static broker setting, broker default. */
  synonyms: DescribedSynonym[];
}

/**
 * What DescribeConfigs reports for one topic config, given the topic's overrides and the broker's
 * topic defaults (`BrokerConfig.topicDefaults`). A broker default that differs from Kafka's own is
 * reported as STATIC_BROKER_CONFIG under the broker synonym's name (like `log.retention.ms` set in
 * server.properties); otherwise DEFAULT_CONFIG. Returns undefined for unknown/internal names.
 */
export function describeTopicConfig(
  name: string,
  overrides: Readonly<Record<string, string>>,
  brokerDefaults: Readonly<Record<string, string>> = {},
): DescribedTopicConfig | undefined {
  const def = TOPIC_CONFIGS.get(name);
  if (!def || def.internal) return undefined;
  const synonyms: DescribedSynonym[] = [];
  const override = Object.prototype.hasOwnProperty.call(overrides, name) ? overrides[name] : undefined;
  if (override !== undefined) synonyms.push({ name, value: override, source: CONFIG_SOURCE.TOPIC_CONFIG });
  const brokerValue = brokerDefaults[name];
  if (brokerValue !== undefined && brokerValue !== def.default) {
    synonyms.push({ name: def.brokerSynonym ?? name, value: brokerValue, source: CONFIG_SOURCE.STATIC_BROKER_CONFIG });
  }
  for (const s of def.synonyms) {
    if (s.brokerDefault !== null) synonyms.push({ name: s.name, value: s.brokerDefault, source: CONFIG_SOURCE.DEFAULT_CONFIG });
  }
  const value = override ?? brokerValue ?? def.default ?? '';
  return {
    name,
    value,
    readOnly: false,
    source: synonyms[0]?.source ?? CONFIG_SOURCE.DEFAULT_CONFIG,
    isSensitive: def.sensitive,
    configType: CONFIG_TYPE_CODE[def.type],
    documentation: def.doc,
    synonyms,
  };
}

// ---- topic names -------------------------------------------------------------------------------

/** Kafka's `Topic.MAX_NAME_LENGTH`. */
export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_CHARS = /^[a-zA-Z0-9._-]+$/;

/**
 * Kafka's `Topic.validate`: null when legal, else Kafka's message (INVALID_TOPIC_EXCEPTION).
 */
export function validateTopicName(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL_TOPIC_CHARS.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** Kafka's `Topic.hasCollisionChars`: the name contains '.' or '_' (metric names can't tell them apart). */
export function topicNameHasCollisionChars(name: string): boolean {
  return name.includes('.') || name.includes('_');
}

/** Kafka's `Topic.unifyCollisionChars`: '.' → '_'. */
export function unifyTopicCollisionChars(name: string): string {
  return name.replaceAll('.', '_');
}

/** Kafka's `Topic.hasCollision`: two different names that become equal once '.' and '_' are unified. */
export function topicNamesCollide(a: string, b: string): boolean {
  return a !== b && unifyTopicCollisionChars(a) === unifyTopicCollisionChars(b);
}

/** The message Kafka's CreateTopics returns (INVALID_TOPIC_EXCEPTION) for a colliding name. */
export function topicCollisionMessage(name: string, existing: string): string {
  return `Topic '${name}' collides with existing topic: ${existing}`;
}

/** The warning kafka-topics.sh prints for names containing '.' or '_'. */
export const TOPIC_COLLISION_WARNING =
  "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.";
