/**
 * FindCoordinator (key 10), versions 0–6. This broker coordinates every group and transactional id.
 * - v0 names a group; v1+ adds the key type (0 group, 1 transaction, 2 share group); v4+ batches
 *   keys (KIP-699) and answers one coordinator per key; v5 only adds the TRANSACTION_ABORTABLE error
 *   code and v6 share groups (KIP-932), neither of which we produce.
 * - Groups: this broker, at its advertised host and port. While the coordinator is loading or
 *   shutting down: COORDINATOR_NOT_AVAILABLE (retriable), with node -1.
 * - Transactions (key type 1): this broker too (src/broker/transactions/), COORDINATOR_NOT_AVAILABLE
 *   while the transaction coordinator loads or the broker shuts down.
 * - In a cluster (cluster.ts): the live node the key hashes to (the next live one if it is stopped).
 * - Share groups (key type 2) and unknown key types: INVALID_REQUEST, Kafka's answer from a broker
 *   without a share coordinator (and to key type 2 below v6).
 */
import { ApiKey, FindCoordinatorRequest, FindCoordinatorResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, authorizationMessage } from '../security/request-authz.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { nodeEndpoint } from '../cluster.js';

const GROUP = 0;
const TRANSACTION = 1;

interface Found {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

function find(keyType: number, key: string, ctx: RequestContext): Found {
  const refuse = (errorCode: number, errorMessage: string): Found => ({ errorCode, errorMessage, nodeId: -1, host: '', port: -1 });
  if (keyType !== GROUP && keyType !== TRANSACTION) return refuse(ErrorCode.INVALID_REQUEST, `This broker has no coordinator of key type ${keyType}.`);
  // ACLs (Kafka's getCoordinator): DESCRIBE on the group or transactional id, with Kafka's messages.
  if (keyType === GROUP && !allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, key)) {
    return refuse(ErrorCode.GROUP_AUTHORIZATION_FAILED, authorizationMessage(ErrorCode.GROUP_AUTHORIZATION_FAILED));
  }
  if (keyType === TRANSACTION && !allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key)) {
    return refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, authorizationMessage(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
  }
  const broker = ctx.broker;
  const active = keyType === GROUP ? broker.groups.isActive : broker.transactions.isActive;
  if (!active || broker.isClosing) return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
  if (broker.cluster !== null) {
    const id = broker.cluster.coordinator(key);
    if (id < 0) return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
    // The coordinator's endpoint on the listener this request came in on; one without that listener
    // cannot be reached by this client: not available (Kafka's getAliveBrokerNode finds no node).
    const endpoint = nodeEndpoint(broker.cluster.node(id), ctx.security.listener);
    if (endpoint === null) return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE, `The coordinator has no listener ${ctx.security.listener.name}.`);
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: id, host: endpoint.host, port: endpoint.port };
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: broker.nodeId, host: ctx.security.listener.advertisedHost, port: ctx.security.listener.advertisedPort };
}

export default defineHandler({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  request: FindCoordinatorRequest,
  response: FindCoordinatorResponse,
  handle(req, ctx) {
    const keyType = ctx.apiVersion >= 1 ? req.keyType : GROUP;
    if (ctx.apiVersion >= 4) {
      return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((key) => ({ key, ...find(keyType, key, ctx) })) };
    }
    return { throttleTimeMs: 0, ...find(keyType, req.key, ctx) };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(req, v, errorCode, errorMessage) {
    return v >= 4
      ? { coordinators: req.coordinatorKeys.map((key) => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage })) }
      : { errorCode, errorMessage, nodeId: -1, host: '', port: -1 };
  },
});
