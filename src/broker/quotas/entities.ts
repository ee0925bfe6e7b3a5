/**
 * Client quota entities and their stored quotas (KIP-546: DescribeClientQuotas / AlterClientQuotas).
 *
 * An entity names a user, a client id, or both; a null name is the entity type's default (shown as
 * `<default>` by kafka-configs.sh). Its quotas are among QUOTA_KEYS. The store keeps them in the
 * storage engine (`putClientQuotas`, one opaque value per entity) and in memory for lookups, and
 * answers AlterClientQuotas' validation and DescribeClientQuotas' filters as Kafka's
 * ClientQuotaControlManager and ClientQuotasImage do. Kafka's third entity type, `ip`
 * (connection_creation_rate), is not implemented: altering it is refused with INVALID_REQUEST and
 * describing it finds nothing.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { StorageEngine } from '../../storage/engine.js';

export const USER = 'user';
export const CLIENT_ID = 'client-id';
export const IP = 'ip';

/** The quota keys of user and client-id entities, with Kafka's config types (QuotaConfig). */
export const QUOTA_KEYS = {
  producer_byte_rate: 'long',
  consumer_byte_rate: 'long',
  request_percentage: 'double',
  controller_mutation_rate: 'double',
} as const;
export type QuotaKey = keyof typeof QUOTA_KEYS;

export function isQuotaKey(k: string): k is QuotaKey {
  return Object.hasOwn(QUOTA_KEYS, k);
}

/** A quota entity: a property absent is not part of the entity; null is that type's default. */
export interface QuotaEntity {
  readonly user?: string | null;
  readonly clientId?: string | null;
}

/** The entity as the protocol lists it (user first, as kafka-configs.sh prints it). */
export function entityData(e: QuotaEntity): { entityType: string; entityName: string | null }[] {
  const out: { entityType: string; entityName: string | null }[] = [];
  if (e.user !== undefined) out.push({ entityType: USER, entityName: e.user });
  if (e.clientId !== undefined) out.push({ entityType: CLIENT_ID, entityName: e.clientId });
  return out;
}

/** The storage key of an entity: one string per entity, defaults distinct from every name. */
export function entityKey(e: QuotaEntity): string {
  return JSON.stringify({ [USER]: e.user, [CLIENT_ID]: e.clientId });
}

function entityOfKey(key: string): QuotaEntity {
  const o = JSON.parse(key) as Record<string, string | null | undefined>;
  const e: { user?: string | null; clientId?: string | null } = {};
  if (o[USER] !== undefined) e.user = o[USER];
  if (o[CLIENT_ID] !== undefined) e.clientId = o[CLIENT_ID];
  return e;
}

export interface QuotaRefusal {
  errorCode: number;
  errorMessage: string;
}

const invalid = (errorMessage: string): QuotaRefusal => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage });

/**
 * The entity named by an AlterClientQuotas entry, or why it is refused (Kafka's
 * ClientQuotaControlManager.validateEntity and configKeysForEntityType).
 */
export function parseEntity(parts: readonly { entityType: string; entityName: string | null }[]): QuotaEntity | QuotaRefusal {
  if (parts.length === 0) return invalid('Invalid empty client quota entity');
  const e: { user?: string | null; clientId?: string | null } = {};
  const seen = new Set<string>();
  for (const { entityType, entityName } of parts) {
    if (seen.has(entityType)) return invalid(`Invalid client quota entity, duplicate entity entry ${entityType}`);
    seen.add(entityType);
    if (entityType === USER) e.user = entityName;
    else if (entityType === CLIENT_ID) e.clientId = entityName;
    else if (entityType === IP) return invalid('ip quotas (connection_creation_rate) are not supported by this broker');
    else return invalid(`Unhandled client quota entity type: ${entityType}`);
    if (entityName !== null && entityName === '') return invalid(`Empty ${entityType} not supported`);
  }
  return e;
}

/** Kafka's validateQuotaKeyValue: a known key, a positive value, integral for LONG keys. */
export function quotaValueRefusal(key: string, value: number): QuotaRefusal | null {
  if (!isQuotaKey(key)) return invalid(`Invalid configuration key ${key}`);
  if (!(value > 0)) return invalid(`Quota ${key} must be greater than 0`);
  if (QUOTA_KEYS[key] === 'long') {
    if (value > 2 ** 63 - 1) return invalid(`Proposed value for ${key} is too large for a LONG.`);
    if (Math.abs(value % 1) > 1e-6) return invalid(`${key} cannot be a fractional value.`);
  }
  return null;
}

/** DescribeClientQuotas' match types. */
export const MatchType = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;

export interface FilterComponent {
  entityType: string;
  matchType: number;
  match: string | null;
}

/** A DescribeClientQuotas filter, checked as Kafka's ClientQuotasImage.describe checks it. */
export interface QuotaFilter {
  exact: Map<string, string | null>;
  specified: Set<string>;
  strict: boolean;
}

export function parseFilter(components: readonly FilterComponent[], strict: boolean): QuotaFilter | QuotaRefusal {
  const exact = new Map<string, string | null>();
  const specified = new Set<string>();
  for (const c of components) {
    if (c.entityType === '') return invalid('Invalid empty entity type.');
    if (exact.has(c.entityType) || specified.has(c.entityType)) return invalid(`Entity type ${c.entityType} cannot appear more than once in the filter.`);
    if (c.entityType !== IP && c.entityType !== USER && c.entityType !== CLIENT_ID) {
      return { errorCode: ErrorCode.UNSUPPORTED_VERSION, errorMessage: `Unsupported entity type ${c.entityType}` };
    }
    switch (c.matchType) {
      case MatchType.EXACT:
        if (c.match === null) return invalid('Request specified MATCH_TYPE_EXACT, but set match string to null.');
        exact.set(c.entityType, c.match);
        break;
      case MatchType.DEFAULT:
        if (c.match !== null) return invalid('Request specified MATCH_TYPE_DEFAULT, but also specified a match string.');
        exact.set(c.entityType, null);
        break;
      case MatchType.SPECIFIED:
        if (c.match !== null) return invalid('Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.');
        specified.add(c.entityType);
        break;
      default:
        return invalid(`Unknown match type ${c.matchType}`);
    }
  }
  const has = (t: string) => exact.has(t) || specified.has(t);
  if (has(IP) && (has(USER) || has(CLIENT_ID))) {
    return invalid('Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.');
  }
  return { exact, specified, strict };
}

function matches(e: QuotaEntity, f: QuotaFilter): boolean {
  const parts = new Map<string, string | null>(entityData(e).map((p) => [p.entityType, p.entityName]));
  if (f.strict && parts.size !== f.exact.size + f.specified.size) return false;
  for (const [type, name] of f.exact) if (!parts.has(type) || parts.get(type) !== name) return false;
  for (const type of f.specified) if (!parts.has(type)) return false;
  return true;
}

export interface QuotaEntry {
  readonly entity: QuotaEntity;
  readonly quotas: ReadonlyMap<QuotaKey, number>;
}

function encodeQuotas(q: ReadonlyMap<QuotaKey, number>): Buffer {
  return Buffer.from(JSON.stringify(Object.fromEntries(q)), 'utf8');
}

function decodeQuotas(b: Buffer): Map<QuotaKey, number> {
  const out = new Map<QuotaKey, number>();
  for (const [k, v] of Object.entries(JSON.parse(b.toString('utf8')) as Record<string, unknown>)) {
    if (isQuotaKey(k) && typeof v === 'number') out.set(k, v);
  }
  return out;
}

/**
 * The stored quotas, by entity key. Loaded from the storage engine at start; changed only by
 * `put`, which writes through to the engine before memory changes (an acknowledged alteration is
 * durable, a failed one leaves both as they were).
 */
export class ClientQuotaStore {
  private readonly byKey = new Map<string, QuotaEntry>();
  /** Called after every change, with the quota keys it touched. */
  onChange: ((keys: ReadonlySet<QuotaKey>) => void) | null = null;

  constructor(private readonly storage: StorageEngine) {}

  load(): void {
    this.byKey.clear();
    for (const [key, bytes] of this.storage.clientQuotas()) this.byKey.set(key, { entity: entityOfKey(key), quotas: decodeQuotas(bytes) });
  }

  /** The quota of `key` set on exactly this entity, or undefined. */
  get(e: QuotaEntity, key: QuotaKey): number | undefined {
    return this.byKey.get(entityKey(e))?.quotas.get(key);
  }

  quotasOf(e: QuotaEntity): ReadonlyMap<QuotaKey, number> {
    return this.byKey.get(entityKey(e))?.quotas ?? new Map();
  }

  /** Whether any entity has a quota of `key`. */
  has(key: QuotaKey): boolean {
    for (const e of this.byKey.values()) if (e.quotas.has(key)) return true;
    return false;
  }

  describe(f: QuotaFilter): QuotaEntry[] {
    return [...this.byKey.values()].filter((e) => matches(e.entity, f));
  }

  /** Replace an entity's quotas (none: the entity is removed). */
  async put(e: QuotaEntity, quotas: ReadonlyMap<QuotaKey, number>): Promise<void> {
    const key = entityKey(e);
    const before = this.byKey.get(key)?.quotas ?? new Map<QuotaKey, number>();
    await this.storage.putClientQuotas(key, quotas.size === 0 ? null : encodeQuotas(quotas));
    if (quotas.size === 0) this.byKey.delete(key);
    else this.byKey.set(key, { entity: e, quotas: new Map(quotas) });
    const touched = new Set<QuotaKey>([...before.keys(), ...quotas.keys()]);
    this.onChange?.(touched);
  }
}
