/**
 * DescribeCluster (key 60), versions 0–2 (KIP-700, KIP-919, KIP-1073).
 * v2 `include_fenced_brokers` and a broker's `is_fenced`: this broker is never fenced.
 * One broker, which is also the controller. v1 `endpoint_type`: 1 (brokers) is what we are; asking a
 * broker for controllers (2) is MISMATCHED_ENDPOINT_TYPE, any other value UNSUPPORTED_ENDPOINT_TYPE,
 * as Kafka answers. Nothing is needed to ask (as in Kafka); `include_cluster_authorized_operations`
 * is answered as Kafka's AuthHelper.computeDescribeClusterResponse: 0 without DESCRIBE on the
 * cluster, else the bit set of the cluster operations allowed (authorizer.ts).
 */
import { controllerId, liveBrokers } from '../cluster.js';
import { ApiKey, DescribeClusterRequest, DescribeClusterResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed, authorizedOperations } from '../security/request-authz.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../security/authorizer.js';
import { defineHandler } from '../handler.js';

const BROKER_ENDPOINTS = 1;
const CONTROLLER_ENDPOINTS = 2;

export default defineHandler({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 2,
  request: DescribeClusterRequest,
  response: DescribeClusterResponse,
  handle(req, ctx) {
    const broker = ctx.broker;
    const base = { throttleTimeMs: 0, endpointType: req.endpointType, clusterId: broker.clusterId, controllerId: controllerId(broker) };
    if (ctx.apiVersion >= 1 && req.endpointType !== BROKER_ENDPOINTS) {
      const wantsControllers = req.endpointType === CONTROLLER_ENDPOINTS;
      return {
        ...base,
        errorCode: wantsControllers ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: wantsControllers
          ? 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER'
          : `Unsupported endpoint type ${req.endpointType}`,
        brokers: [],
      };
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      clusterAuthorizedOperations: !req.includeClusterAuthorizedOperations
        ? AUTHORIZED_OPERATIONS_OMITTED
        : allowed(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)
          ? authorizedOperations(ctx, true, ResourceType.CLUSTER, CLUSTER_NAME)
          : 0,
      brokers: liveBrokers(broker, ctx.security.listener).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: false })),
    };
  },
  // Kafka's DescribeClusterResponse does not override shouldClientThrottle: clients never throttle themselves.
  clientThrottlesFromVersion: null,
  errorResponse(_req, _v, errorCode, errorMessage) {
    return { errorCode, errorMessage, clusterId: '', controllerId: -1, brokers: [] };
  },
});
