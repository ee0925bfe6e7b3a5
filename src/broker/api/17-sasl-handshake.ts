/**
 * SaslHandshake (key 17), version 1 (KIP-152): the client names its SASL mechanism; the exchange
 * itself follows in SaslAuthenticate requests. The answer lists `sasl.enabled.mechanisms`.
 * - UNSUPPORTED_SASL_MECHANISM for a mechanism not enabled; the connection closes after the answer.
 * - ILLEGAL_SASL_STATE on a listener without SASL, or once authenticated where sessions do not
 *   expire; where they do (`connections.max.reauth.ms`), a handshake with the same mechanism starts
 *   a re-authentication (KIP-368).
 * Version 0 (the SASL tokens then travel as bare frames, before KIP-152) is not served: every
 * client since Kafka 1.0 sends v1.
 * The connection's state machine is src/broker/security/session.ts.
 */
import { ApiKey, SaslHandshakeRequest, SaslHandshakeResponse } from '../../protocol/messages/index.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.SaslHandshake,
  minVersion: 1,
  maxVersion: 1,
  request: SaslHandshakeRequest,
  response: SaslHandshakeResponse,
  handle(req, ctx) {
    return ctx.security.handshake(req.mechanism);
  },
  // Kafka's SaslHandshakeResponse has no throttle time.
  clientThrottlesFromVersion: null,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, mechanisms: [] };
  },
});
