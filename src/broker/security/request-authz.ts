/**
 * What handlers ask the authorizer (authorizer.ts), in terms of their request: the connection's
 * principal (`User:` + the authenticated name, Kafka's KafkaPrincipal) and the client's address, as
 * Kafka's AuthHelper does for KafkaApis. Every call is one property read when the authorizer is off.
 */
import type { RequestContext } from '../handler.js';
import { AUTHORIZED_OPERATIONS_OMITTED, type Requester } from './authorizer.js';
import { ErrorCode } from '../../protocol/error-codes.js';

/** Kafka's default messages of the authorization errors (Errors.*.message), where Kafka's answer carries one. */
const AUTHORIZATION_MESSAGES: ReadonlyMap<number, string> = new Map([
  [ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Not authorized to access topics: [Topic authorization failed.]'],
  [ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Not authorized to access group: Group authorization failed.'],
  [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.'],
  [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'Transactional Id authorization failed.'],
]);

export function authorizationMessage(errorCode: number): string {
  const m = AUTHORIZATION_MESSAGES.get(errorCode);
  if (m === undefined) throw new Error(`error code ${errorCode} is not an authorization failure`);
  return m;
}

export function requester(ctx: RequestContext): Requester {
  const address = ctx.connection.remoteAddress;
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; Kafka's host is a.b.c.d.
  return { principal: `User:${ctx.security.principal}`, host: address.startsWith('::ffff:') ? address.slice(7) : address };
}

/** Whether the request's principal may do `operation` on the resource. */
export function allowed(ctx: RequestContext, operation: number, resourceType: number, resourceName: string): boolean {
  const authorizer = ctx.broker.security.authorizer;
  return !authorizer.enabled || authorizer.authorize(requester(ctx), operation, resourceType, resourceName);
}

/** Whether the request's principal may do `operation` on some resource of the type (Kafka's authorizeByResourceType). */
export function allowedOnSome(ctx: RequestContext, operation: number, resourceType: number): boolean {
  const authorizer = ctx.broker.security.authorizer;
  return !authorizer.enabled || authorizer.authorizeByResourceType(requester(ctx), operation, resourceType);
}

/** An include_*_authorized_operations field: the bit set when asked for, else Kafka's INT32_MIN. */
export function authorizedOperations(ctx: RequestContext, asked: boolean, resourceType: number, resourceName: string): number {
  return asked ? ctx.broker.security.authorizer.authorizedOperations(requester(ctx), resourceType, resourceName) : AUTHORIZED_OPERATIONS_OMITTED;
}
