/**
 * SaslAuthenticate (key 36), versions 0–2 (KIP-152): one SASL token each way, after SaslHandshake.
 * - v1+ `session_lifetime_ms` (KIP-368): `connections.max.reauth.ms` when sessions expire, else 0.
 * - v2 flexible.
 * - A failed login is SASL_AUTHENTICATION_FAILED with one message whatever was wrong, sent
 *   `connection.failed.authentication.delay.ms` after the request; the connection then closes.
 * - ILLEGAL_SASL_STATE outside an exchange (no handshake, or already authenticated).
 * The connection's state machine is src/broker/security/session.ts.
 */
import { ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse } from '../../protocol/messages/index.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.SaslAuthenticate,
  minVersion: 0,
  maxVersion: 2,
  request: SaslAuthenticateRequest,
  response: SaslAuthenticateResponse,
  async handle(req, ctx) {
    const outcome = await ctx.security.authenticate(req.authBytes, Date.now);
    return { ...outcome, sessionLifetimeMs: BigInt(outcome.sessionLifetimeMs) };
  },
  // Kafka's SaslAuthenticateResponse has no throttle time.
  clientThrottlesFromVersion: null,
  errorResponse(_req, _v, errorCode, errorMessage) {
    return { errorCode, errorMessage, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
  },
});
