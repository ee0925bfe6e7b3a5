/**
 * SaslHandshake (key 17), versions 0–1: the client names its SASL mechanism. The answer lists
 * `sasl.enabled.mechanisms`. After v1 (KIP-152) the exchange follows in SaslAuthenticate requests;
 * after v0 as bare token frames (size + token each way, no request header), which the connection
 * hands to the session whole (src/broker/connection.ts); a failed v0 login closes the connection
 * without an answer, as Kafka does.
 * - UNSUPPORTED_SASL_MECHANISM for a mechanism not enabled; the connection closes after the answer.
 * - ILLEGAL_SASL_STATE on a listener without SASL, or once authenticated where sessions do not
 *   expire; where they do (`connections.max.reauth.ms`), a handshake with the same mechanism starts
 *   a re-authentication (KIP-368).
 * The connection's state machine is src/broker/security/session.ts.
 */
import { ApiKey, SaslHandshakeRequest, SaslHandshakeResponse } from '../../protocol/messages/index.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.SaslHandshake,
  minVersion: 0,
  maxVersion: 1,
  request: SaslHandshakeRequest,
  response: SaslHandshakeResponse,
  handle(req, ctx) {
    return ctx.security.handshake(req.mechanism, ctx.apiVersion);
  },
  // Kafka's SaslHandshakeResponse has no throttle time.
  clientThrottlesFromVersion: null,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, mechanisms: [] };
  },
});
