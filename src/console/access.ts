/**
 * Who may do what through the web console: the one place every API call of api.ts asks before it
 * acts, named in Kafka's ACL terms (operation on a resource type and name) and answered by the
 * broker's authorizer for the principal the HTTP endpoint authenticated (src/broker/http/auth.ts),
 * with the client's address as the host — the same decision a Kafka request of that principal gets.
 * On top of that, `http.console.read.only: true` refuses every change whoever asks. With the
 * authorizer off every authenticated caller may do what the configuration allows.
 *
 * api.ts never decides access itself. The console's Kafka clients (clients.ts) log in to the broker
 * as the same principal where they can, so the broker checks each action a second time itself.
 */
import type { HttpRequest } from '../broker/http/server.js';
import type { HttpAuthenticator } from '../broker/http/auth.js';
import { httpPrincipal } from '../broker/http/auth.js';
import { AclOperation, ResourceType } from '../broker/security/acls.js';

/** Kafka's ACL operations the console performs (AclOperation). */
export type ConsoleOperation = 'Describe' | 'DescribeConfigs' | 'Read' | 'Write' | 'Create' | 'Delete' | 'AlterConfigs';

/** Kafka's resource types the console touches (ResourceType). */
export type ConsoleResourceType = 'Cluster' | 'Topic' | 'Group';

export interface ConsoleAction {
  readonly operation: ConsoleOperation;
  readonly resourceType: ConsoleResourceType;
  /** The topic or group name; `kafka-cluster` for the cluster, as in Kafka. */
  readonly resourceName: string;
  /**
   * The action changes something although Kafka names its permission READ (resetting a group's
   * offsets is an OffsetCommit: READ on the group and the topic): refused while read-only too.
   */
  readonly changes?: boolean;
}

/** Operations that change something: refused while the console is read-only. */
const WRITES: ReadonlySet<ConsoleOperation> = new Set(['Write', 'Create', 'Delete', 'AlterConfigs']);

export interface ConsoleAccess {
  readonly readOnly: boolean;
  /** Whether the caller of `req` may perform `action`; a refusal is answered 403 with `why`. */
  allowed(req: HttpRequest, action: ConsoleAction): { ok: true } | { ok: false; why: string };
}

const OPERATIONS: Readonly<Record<ConsoleOperation, number>> = {
  Describe: AclOperation.DESCRIBE,
  DescribeConfigs: AclOperation.DESCRIBE_CONFIGS,
  Read: AclOperation.READ,
  Write: AclOperation.WRITE,
  Create: AclOperation.CREATE,
  Delete: AclOperation.DELETE,
  AlterConfigs: AclOperation.ALTER_CONFIGS,
};
const RESOURCE_TYPES: Readonly<Record<ConsoleResourceType, number>> = { Cluster: ResourceType.CLUSTER, Topic: ResourceType.TOPIC, Group: ResourceType.GROUP };

/** Kafka's spelling of an operation in a refusal (READ, ALTER_CONFIGS, ...). */
function kafkaName(op: ConsoleOperation): string {
  return op.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `http.console.read.only`, then the authorizer (null: no authorizer to ask, e.g. a test of the API alone). */
export function configuredAccess(readOnly: boolean, auth: HttpAuthenticator | null = null): ConsoleAccess {
  return {
    readOnly,
    allowed(req, action) {
      if (readOnly && (WRITES.has(action.operation) || action.changes === true)) {
        return { ok: false, why: `the console is read-only (http.console.read.only: true): ${action.operation} on ${action.resourceType} ${action.resourceName} refused` };
      }
      if (auth !== null && !auth.authorize(req, OPERATIONS[action.operation], RESOURCE_TYPES[action.resourceType], action.resourceName)) {
        return { ok: false, why: `${httpPrincipal(req).principal} is not authorized to ${kafkaName(action.operation)} ${action.resourceType.toLowerCase()} ${action.resourceName}` };
      }
      return { ok: true };
    },
  };
}
