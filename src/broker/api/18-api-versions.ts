/**
 * ApiVersions (key 18), versions 0–4.
 * - The response header is always v0, even for flexible versions (KIP-511), so a client that does
 *   not know our versions can still read the answer; the dispatcher encodes that.
 * - A request at a version we do not support is answered at v0 with UNSUPPORTED_VERSION and our
 *   ranges (connection.ts), so the client can retry with a version we share.
 * - v3+: the client software name and version must match Kafka's pattern, else INVALID_REQUEST.
 * The advertised list is computed from the handler registry (api/index.ts): it cannot drift.
 */
import { ApiKey, ApiVersionsRequest, ApiVersionsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { supportedApiVersions } from './registry.js';

/** Kafka's ApiVersionsRequest.isValid pattern for client software name and version. */
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export default defineHandler({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  request: ApiVersionsRequest,
  response: ApiVersionsResponse,
  handle(req, ctx) {
    const apiKeys = supportedApiVersions();
    if (ctx.apiVersion >= 3 && (!SOFTWARE_PATTERN.test(req.clientSoftwareName) || !SOFTWARE_PATTERN.test(req.clientSoftwareVersion))) {
      return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys, throttleTimeMs: 0 };
    }
    return { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, apiKeys: [] };
  },
});
