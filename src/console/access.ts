/**
 * Who may do what through the web console: the one place every API call of api.ts asks before it
 * acts, named in Kafka's ACL terms (operation on a resource type and name) so that an authorizer can
 * answer it as it answers a Kafka request.
 *
 * Today the HTTP endpoint has no authentication (every caller is `User:ANONYMOUS`), so the answer is
 * the configuration's: reads are allowed, writes only with `http.console.read.only: false`. Once the
 * broker has an authorizer (ACLs, issue 18) and the endpoint authenticates its callers, `allowed`
 * must also ask that authorizer for the caller's principal; that is the hook point, and the only one:
 * api.ts never decides access itself. The console's Kafka clients (a PLAINTEXT listener of this
 * broker) then pass the broker's authorizer as any client does, besides this check.
 */
import type { IncomingMessage } from 'node:http';

/** Kafka's ACL operations the console performs (AclOperation). */
export type ConsoleOperation = 'Describe' | 'DescribeConfigs' | 'Read' | 'Write' | 'Create' | 'Delete' | 'AlterConfigs';

/** Kafka's resource types the console touches (ResourceType). */
export type ConsoleResourceType = 'Cluster' | 'Topic' | 'Group';

export interface ConsoleAction {
  readonly operation: ConsoleOperation;
  readonly resourceType: ConsoleResourceType;
  /** The topic or group name; `kafka-cluster` for the cluster, as in Kafka. */
  readonly resourceName: string;
}

/** Operations that change something: refused while the console is read-only. */
const WRITES: ReadonlySet<ConsoleOperation> = new Set(['Write', 'Create', 'Delete', 'AlterConfigs']);

export interface ConsoleAccess {
  readonly readOnly: boolean;
  /** Whether the caller of `req` may perform `action`; a refusal is answered 403 with `why`. */
  allowed(req: IncomingMessage, action: ConsoleAction): { ok: true } | { ok: false; why: string };
}

export function configuredAccess(readOnly: boolean): ConsoleAccess {
  return {
    readOnly,
    allowed(_req, action) {
      if (readOnly && WRITES.has(action.operation)) {
        return { ok: false, why: `the console is read-only (http.console.read.only: true): ${action.operation} on ${action.resourceType} ${action.resourceName} refused` };
      }
      return { ok: true };
    },
  };
}
