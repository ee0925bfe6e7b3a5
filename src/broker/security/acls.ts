/**
 * Kafka's ACL model as data: resource types, pattern types, operations and permission types with
 * their wire codes (org.apache.kafka.common.resource / .acl), an ACL binding, binding filters (what
 * DescribeAcls and DeleteAcls send) and how a filter matches a binding — Kafka's
 * AclBindingFilter.matches, ResourcePatternFilter.matches and AccessControlEntryFilter.matches.
 *
 * Who may do what with these bindings is the authorizer's job (authorizer.ts).
 */

/** Kafka's ResourceType codes. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;
export type ResourceTypeCode = (typeof ResourceType)[keyof typeof ResourceType];

/** Kafka's PatternType codes. MATCH and ANY only appear in filters. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

/** Kafka's AclOperation codes. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;
export type AclOperationCode = (typeof AclOperation)[keyof typeof AclOperation];

/** Kafka's AclPermissionType codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The resource name of the one CLUSTER resource (Kafka's `kafka-cluster`). */
export const CLUSTER_NAME = 'kafka-cluster';
/** The wildcard resource name and host, and the wildcard principal. */
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

/** Names for codes, for the CLI and log lines. */
export const RESOURCE_TYPE_NAMES = nameTable(ResourceType);
export const PATTERN_TYPE_NAMES = nameTable(PatternType);
export const OPERATION_NAMES = nameTable(AclOperation);
export const PERMISSION_NAMES = nameTable(AclPermission);

function nameTable(t: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(t).map(([k, v]) => [v, k]));
}

/** One ACL: a resource pattern and an access control entry (Kafka's AclBinding). */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  /** `Type:name`, e.g. `User:alice`, or `User:*`. */
  readonly principal: string;
  /** An IP address, or `*`. */
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

/** A filter over bindings; null fields match anything (Kafka's AclBindingFilter). */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/**
 * Why a binding may not be created, or null (Kafka's AclControlManager.validateNewAcl and
 * AclBinding.isUnknown): no UNKNOWN or ANY anywhere, no MATCH pattern, a principal of the form
 * `Type:name`, and a resource type that makes sense for the operation.
 */
export function bindingProblem(b: AclBinding): string | null {
  if (!isConcrete(b.resourceType, ResourceType) || b.resourceType === ResourceType.ANY) return `Invalid resource type ${b.resourceType}`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `Invalid patternType ${b.patternType}`;
  if (!isConcrete(b.operation, AclOperation) || b.operation === AclOperation.ANY) return `Invalid operation ${b.operation}`;
  if (b.permission !== AclPermission.ALLOW && b.permission !== AclPermission.DENY) return `Invalid permissionType ${b.permission}`;
  if (b.resourceName === '') return 'Resource name should not be empty';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return 'The only valid name for the CLUSTER resource is kafka-cluster';
  if (!/^[^:]+:.+$/.test(b.principal)) return `Could not parse principal from \`${b.principal}\` (no colon is present separating the principal type from the principal name)`;
  if (b.host === '') return 'Invalid host';
  return null;
}

function isConcrete(code: number, table: Record<string, number>): boolean {
  return code !== 0 && Object.values(table).includes(code);
}

/** Why a filter is refused (Kafka: a filter with an UNKNOWN element is INVALID_REQUEST), or null. */
export function filterProblem(f: AclBindingFilter): string | null {
  if (!isConcrete(f.resourceType, ResourceType)) return `Invalid resource type ${f.resourceType}`;
  if (!isConcrete(f.patternType, PatternType)) return `Invalid pattern type ${f.patternType}`;
  if (!isConcrete(f.operation, AclOperation)) return `Invalid operation ${f.operation}`;
  if (!isConcrete(f.permission, AclPermission)) return `Invalid permission type ${f.permission}`;
  return null;
}

/** Whether `filter` matches `b` (Kafka's AclBindingFilter.matches). */
export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  return patternFilterMatches(f, b) && (f.principal === null || f.principal === b.principal) && (f.host === null || f.host === b.host) &&
    (f.operation === AclOperation.ANY || f.operation === b.operation) && (f.permission === AclPermission.ANY || f.permission === b.permission);
}

/**
 * ResourcePatternFilter.matches: LITERAL and PREFIXED filters match bindings of exactly that pattern
 * and name; MATCH matches every binding that would apply to a resource of that name (literal of the
 * same name, the `*` wildcard, a prefix of the name); ANY matches the name under any pattern.
 */
function patternFilterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType !== PatternType.ANY && f.patternType !== PatternType.MATCH && f.patternType !== b.patternType) return false;
  if (f.resourceName === null) return true;
  if (f.patternType === PatternType.ANY || f.patternType === b.patternType) return f.resourceName === b.resourceName;
  // MATCH
  if (b.patternType === PatternType.LITERAL) return b.resourceName === f.resourceName || b.resourceName === WILDCARD;
  return f.resourceName.startsWith(b.resourceName);
}

/** A binding's identity, the key the storage engine keeps it under. */
export function bindingKey(b: AclBinding): string {
  return JSON.stringify([b.resourceType, b.patternType, b.resourceName, b.principal, b.host, b.operation, b.permission]);
}

export function encodeBinding(b: AclBinding): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, b: bindingKey(b) }), 'utf8');
}

/** The stored form back; throws on bytes that are not one (storage corruption is a bug to surface). */
export function decodeBinding(bytes: Buffer): AclBinding {
  const parsed = JSON.parse(bytes.toString('utf8')) as { v: number; b: string };
  if (parsed.v !== 1 || typeof parsed.b !== 'string') throw new Error('stored ACL binding of an unknown form');
  const [resourceType, patternType, resourceName, principal, host, operation, permission] = JSON.parse(parsed.b) as [number, number, string, string, string, number, number];
  return { resourceType, patternType, resourceName, principal, host, operation, permission };
}

/** `User:alice ALLOW READ on TOPIC:LITERAL:orders from *`, for log lines. */
export function describeBinding(b: AclBinding): string {
  return `${b.principal} ${PERMISSION_NAMES.get(b.permission)} ${OPERATION_NAMES.get(b.operation)} on ${RESOURCE_TYPE_NAMES.get(b.resourceType)}:${PATTERN_TYPE_NAMES.get(b.patternType)}:${b.resourceName} from ${b.host}`;
}
