/**
 * The authorizer: Kafka's StandardAuthorizer (StandardAuthorizerData.authorize) over the ACL
 * bindings the storage engine keeps.
 *
 * For a principal, a client host, an operation and a resource:
 * 1. a super user (`super.users`) is allowed everything;
 * 2. the bindings that apply are those of the resource's type whose pattern covers the name (LITERAL
 *    of the same name, LITERAL `*`, PREFIXED by a prefix of the name), whose principal is the
 *    principal or `User:*`, whose host is the client's address or `*`;
 * 3. a DENY binding for the operation (or ALL) wins; else an ALLOW binding for the operation, ALL,
 *    or one that implies it (READ, WRITE, DELETE, ALTER imply DESCRIBE; ALTER_CONFIGS implies
 *    DESCRIBE_CONFIGS — for ALLOW only, as in Kafka) allows;
 * 4. nothing applying: denied, unless the resource has no binding at all (for any principal) and
 *    `allow.everyone.if.no.acl.found` is true.
 *
 * Bindings are few and change rarely; they are held in memory by resource type and checked by a
 * scan of that type's list, which is what a broker with hundreds of ACLs can afford per request.
 */
import type { BrokerConfig } from '../../config/types.js';
import { parseSuperUsers, STANDARD_AUTHORIZER } from '../../config/security.js';
import type { StorageEngine } from '../../storage/engine.js';
import type { Logger } from '../logger.js';
import {
  AclOperation,
  AclPermission,
  PatternType,
  ResourceType,
  WILDCARD,
  WILDCARD_PRINCIPAL,
  bindingKey,
  decodeBinding,
  describeBinding,
  encodeBinding,
  filterMatches,
  type AclBinding,
  type AclBindingFilter,
} from './acls.js';

/** Operations whose ALLOW binding also allows DESCRIBE (Kafka's IMPLIES_DESCRIBE). */
const IMPLIES_DESCRIBE: ReadonlySet<number> = new Set([AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER]);
/** Operations whose ALLOW binding also allows DESCRIBE_CONFIGS (Kafka's IMPLIES_DESCRIBE_CONFIGS). */
const IMPLIES_DESCRIBE_CONFIGS: ReadonlySet<number> = new Set([AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]);

/** The operations each resource type supports, for include_*_authorized_operations (Kafka's AclEntry.supportedOperations). */
export const SUPPORTED_OPERATIONS: ReadonlyMap<number, readonly number[]> = new Map([
  [ResourceType.TOPIC, [AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]],
  [ResourceType.GROUP, [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]],
  [
    ResourceType.CLUSTER,
    [AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER, AclOperation.DESCRIBE],
  ],
  [ResourceType.TRANSACTIONAL_ID, [AclOperation.DESCRIBE, AclOperation.WRITE, AclOperation.TWO_PHASE_COMMIT]],
  [ResourceType.DELEGATION_TOKEN, [AclOperation.DESCRIBE]],
  [ResourceType.USER, [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS]],
]);

/** Kafka's "authorized operations not requested" value of the include_*_authorized_operations fields. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** Who asks: Kafka's AuthorizableRequestContext, reduced to what the decision uses. */
export interface Requester {
  /** `Type:name`, e.g. `User:alice`. */
  readonly principal: string;
  /** The client's IP address. */
  readonly host: string;
}

export class Authorizer {
  /** Whether ACLs are checked at all (`authorizer.enabled`, or `authorizer.class.name` naming StandardAuthorizer). */
  readonly enabled: boolean;
  private readonly superUsers: ReadonlySet<string>;
  private readonly allowIfNoAcl: boolean;
  /** Bindings by key, and by resource type for authorize(). */
  private readonly bindings = new Map<string, AclBinding>();
  private readonly byType = new Map<number, AclBinding[]>();

  constructor(
    config: BrokerConfig,
    private readonly storage: StorageEngine,
    private readonly log: Logger,
  ) {
    this.enabled = config.authorizerEnabled || config.authorizerClassName === STANDARD_AUTHORIZER;
    this.superUsers = new Set(parseSuperUsers(config.superUsers));
    this.allowIfNoAcl = config.allowEveryoneIfNoAclFound;
  }

  /** After storage is open: the stored bindings. */
  start(): void {
    for (const bytes of this.storage.aclBindings().values()) this.index(decodeBinding(bytes));
  }

  /** Whether `who` may do `operation` on the resource (true whenever the authorizer is off). */
  authorize(who: Requester, operation: number, resourceType: number, resourceName: string, logIfDenied = true): boolean {
    if (!this.enabled) return true;
    const allowed = this.decide(who, operation, resourceType, resourceName);
    if (!allowed && logIfDenied) {
      // Kafka's kafka.authorizer.logger line, at debug: denials are normal answers, not incidents.
      this.log.debug(`authorizer: principal=${who.principal} host=${who.host} operation=${operation} resource=${resourceType}:${resourceName} denied`);
    }
    return allowed;
  }

  private decide(who: Requester, operation: number, resourceType: number, resourceName: string): boolean {
    if (this.superUsers.has(who.principal)) return true;
    let found = false;
    let allow = false;
    for (const b of this.byType.get(resourceType) ?? []) {
      const covers = b.patternType === PatternType.LITERAL ? b.resourceName === resourceName || b.resourceName === WILDCARD : resourceName.startsWith(b.resourceName);
      if (!covers) continue;
      found = true;
      if (b.principal !== who.principal && b.principal !== WILDCARD_PRINCIPAL) continue;
      if (b.host !== who.host && b.host !== WILDCARD) continue;
      if (b.permission === AclPermission.DENY) {
        if (b.operation === AclOperation.ALL || b.operation === operation) return false;
      } else if (b.operation === AclOperation.ALL || b.operation === operation) {
        allow = true;
      } else if (operation === AclOperation.DESCRIBE && IMPLIES_DESCRIBE.has(b.operation)) {
        allow = true;
      } else if (operation === AclOperation.DESCRIBE_CONFIGS && IMPLIES_DESCRIBE_CONFIGS.has(b.operation)) {
        allow = true;
      }
    }
    return allow || (!found && this.allowIfNoAcl);
  }

  /**
   * Whether `who` may do `operation` on some resource of the type (Kafka's
   * Authorizer.authorizeByResourceType): a super user, or allowed on a name nobody has ACLs for,
   * or an ALLOW binding for the principal that no DENY binding of the same principal cancels (a
   * DENY on `*`, on the same literal name, or on a prefix of the allowed name).
   */
  authorizeByResourceType(who: Requester, operation: number, resourceType: number): boolean {
    if (!this.enabled) return true;
    if (this.decide(who, operation, resourceType, 'hardcode')) return true;
    const applies = (b: AclBinding) =>
      (b.principal === who.principal || b.principal === WILDCARD_PRINCIPAL) && (b.host === who.host || b.host === WILDCARD) && (b.operation === operation || b.operation === AclOperation.ALL);
    const list = (this.byType.get(resourceType) ?? []).filter(applies);
    const denies = list.filter((b) => b.permission === AclPermission.DENY);
    if (denies.some((d) => d.patternType === PatternType.LITERAL && d.resourceName === WILDCARD)) return false;
    return list.some(
      (a) =>
        a.permission === AclPermission.ALLOW &&
        !denies.some((d) => (d.patternType === PatternType.PREFIXED ? a.resourceName.startsWith(d.resourceName) : d.patternType === a.patternType && d.resourceName === a.resourceName)),
    );
  }

  /** The bindings `filter` matches, in a stable order (resource type, pattern, name, then the entry). */
  describe(filter: AclBindingFilter): AclBinding[] {
    return [...this.bindings.values()].filter((b) => filterMatches(filter, b)).sort(compareBindings);
  }

  /** Store a binding; false when it already exists (creating it again succeeds, as in Kafka). */
  async create(b: AclBinding): Promise<boolean> {
    const key = bindingKey(b);
    if (this.bindings.has(key)) return false;
    await this.storage.putAclBinding(key, encodeBinding(b));
    this.index(b);
    this.log.info(`ACL created: ${describeBinding(b)}`);
    return true;
  }

  async delete(b: AclBinding): Promise<void> {
    const key = bindingKey(b);
    if (!this.bindings.has(key)) return;
    await this.storage.putAclBinding(key, null);
    this.bindings.delete(key);
    const list = this.byType.get(b.resourceType)!;
    list.splice(list.findIndex((x) => bindingKey(x) === key), 1);
    this.log.info(`ACL deleted: ${describeBinding(b)}`);
  }

  private index(b: AclBinding): void {
    this.bindings.set(bindingKey(b), b);
    const list = this.byType.get(b.resourceType);
    if (list) list.push(b);
    else this.byType.set(b.resourceType, [b]);
  }

  /**
   * The include_*_authorized_operations bit set: bit N set when operation code N is allowed on the
   * resource, over the operations its type supports (Kafka's AuthHelper.authorizedOperations).
   */
  authorizedOperations(who: Requester, resourceType: number, resourceName: string): number {
    let bits = 0;
    for (const op of SUPPORTED_OPERATIONS.get(resourceType) ?? []) if (this.authorize(who, op, resourceType, resourceName, false)) bits |= 1 << op;
    return bits;
  }
}

function compareBindings(a: AclBinding, b: AclBinding): number {
  return a.resourceType - b.resourceType || a.patternType - b.patternType || cmp(a.resourceName, b.resourceName) || cmp(a.principal, b.principal) || cmp(a.host, b.host) ||
    a.operation - b.operation || a.permission - b.permission;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
