/**
 * One connection's authentication, as Kafka's SaslServerAuthenticator and SslTransportLayer keep it:
 *
 * - PLAINTEXT: the principal is ANONYMOUS. SSL: the client certificate's subject mapped by
 *   `ssl.principal.mapping.rules` (ANONYMOUS without one); with `ssl.client.auth=requested`, a
 *   certificate that does not verify closes the connection (fail closed).
 * - SASL listeners: before authentication only ApiVersions and SaslHandshake are served; after a
 *   v1 handshake only SaslAuthenticate, after a v0 handshake bare SASL token frames (the framing
 *   before KIP-152, which librdkafka still negotiates for); any other request closes the connection,
 *   as Kafka does. Frames
 *   are at most SASL_SERVER_MAX_RECEIVE_BYTES until then (Kafka's `sasl.server.max.receive.size`).
 * - A failed login is answered SASL_AUTHENTICATION_FAILED `connection.failed.authentication.delay.ms`
 *   after it arrived, and the connection is closed after the answer.
 * - KIP-368: with `connections.max.reauth.ms` > 0 a session expires; the client re-authenticates
 *   (SaslHandshake + SaslAuthenticate on the open connection, same principal and mechanism), and a
 *   request other than those after expiry closes the connection.
 */
import { SYSTEM_CLOCK } from '../../base/clock.js';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { mapPrincipal, type SaslMechanism } from '../../config/security.js';
import { ApiKey } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { Logger } from '../logger.js';
import type { BrokerListener, BrokerSecurity } from './broker-security.js';
import { createSaslServer, SaslAuthenticationError, type SaslServer } from './sasl.js';
import { peerSubject } from './tls.js';

/** Kafka's `sasl.server.max.receive.size` default: the largest frame before authentication completes. */
export const SASL_SERVER_MAX_RECEIVE_BYTES = 524288;

export const ANONYMOUS = 'ANONYMOUS';

type State = 'open' | 'handshake' | 'authenticate' | 'authenticated';

export interface HandshakeOutcome {
  errorCode: number;
  mechanisms: string[];
}

export interface AuthenticateOutcome {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  sessionLifetimeMs: number;
}

export class ConnectionSecurity {
  /** Kafka's principal name (type User): ANONYMOUS until someone authenticates. */
  principal = ANONYMOUS;
  private state: State;
  private mechanism: SaslMechanism | null = null;
  private server: SaslServer | null = null;
  /** When the SASL session expires (KIP-368); null: never. */
  private expiresAtMs: number | null = null;
  private reauthenticating = false;
  private tlsChecked = false;
  /** After SaslHandshake v0: the next frames are bare SASL tokens, not Kafka requests (before KIP-152). */
  private bareTokens = false;
  /** Set when the connection must close once the current response is written (failed login). */
  closeAfterResponse: string | null = null;

  constructor(
    readonly listener: BrokerListener,
    private readonly security: BrokerSecurity,
    private readonly socket: Socket,
    private readonly log: Logger,
    private readonly remote: string,
  ) {
    this.state = listener.sasl ? 'handshake' : 'open';
  }

  get authenticated(): boolean {
    return this.state === 'open' || this.state === 'authenticated';
  }

  /** Whether the next frame is a bare SASL token (SaslHandshake v0), answered by a bare token. */
  get expectsBareToken(): boolean {
    return this.bareTokens;
  }

  /** The largest request frame this connection may send now. */
  maxFrameBytes(socketRequestMaxBytes: number): number {
    return this.state === 'handshake' || this.state === 'authenticate' ? Math.min(socketRequestMaxBytes, SASL_SERVER_MAX_RECEIVE_BYTES) : socketRequestMaxBytes;
  }

  /** Null when a request of `apiKey` may be handled now; otherwise why the connection closes. */
  admit(apiKey: number, nowMs: number): string | null {
    if (this.listener.tls && !this.tlsChecked) {
      const refused = this.checkPeerCertificate();
      if (refused !== null) return refused;
    }
    switch (this.state) {
      case 'open':
        return null;
      case 'handshake':
        return apiKey === ApiKey.ApiVersions || apiKey === ApiKey.SaslHandshake ? null : `request (API key ${apiKey}) before SASL authentication`;
      case 'authenticate':
        // (Bare tokens after a v0 handshake never get here: the connection hands them over whole.)
        return apiKey === ApiKey.SaslAuthenticate ? null : `request (API key ${apiKey}) during SASL authentication`;
      case 'authenticated':
        if (this.reauthenticating && apiKey !== ApiKey.SaslAuthenticate) return `request (API key ${apiKey}) during SASL re-authentication`;
        if (this.expiresAtMs !== null && nowMs >= this.expiresAtMs && apiKey !== ApiKey.SaslHandshake && apiKey !== ApiKey.SaslAuthenticate) {
          return 'SASL session expired without re-authentication (connections.max.reauth.ms)';
        }
        return null;
    }
  }

  /** The TLS client certificate: its principal, or why the connection closes. */
  private checkPeerCertificate(): string | null {
    this.tlsChecked = true;
    const socket = this.socket as TLSSocket;
    const subject = peerSubject(socket);
    if (subject === null) return null; // `required` refused it in the handshake; otherwise ANONYMOUS
    if (!socket.authorized) {
      this.log.info(`Failed authentication with ${this.remote} (SSL: client certificate not trusted: ${String(socket.authorizationError)})`);
      return 'client certificate not trusted';
    }
    const name = mapPrincipal(this.security.principalRules, subject);
    if (name === null) {
      this.log.info(`Failed authentication with ${this.remote} (SSL: no ssl.principal.mapping.rules rule applies to ${subject})`);
      return 'no principal mapping rule applies';
    }
    // On SASL_SSL the SASL identity is the principal; the certificate only had to verify.
    if (!this.listener.sasl) this.principal = name;
    return null;
  }

  /** SaslHandshake at `version`: v0 makes the following tokens bare frames, v1 SaslAuthenticate requests. */
  handshake(mechanism: string, version: number): HandshakeOutcome {
    const enabled = [...this.security.config.saslEnabledMechanisms];
    if (!this.listener.sasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    if (this.state === 'authenticated') {
      // KIP-368: re-authentication only where sessions expire (Kafka's KafkaChannel does the same),
      // and only with SaslAuthenticate (v1 handshake).
      if (this.expiresAtMs === null || this.reauthenticating || version === 0) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
      if (mechanism !== this.mechanism) {
        this.closeAfterResponse = `re-authentication with another mechanism (${mechanism})`;
        return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: enabled };
      }
      this.reauthenticating = true;
      this.server = createSaslServer(this.mechanism, this.security);
      return { errorCode: ErrorCode.NONE, mechanisms: enabled };
    }
    if (this.state !== 'handshake') return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
    if (!(enabled as string[]).includes(mechanism)) {
      this.log.info(`Failed authentication with ${this.remote} (unsupported SASL mechanism ${JSON.stringify(mechanism.slice(0, 64))})`);
      this.closeAfterResponse = 'unsupported SASL mechanism';
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: enabled };
    }
    this.mechanism = mechanism as SaslMechanism;
    this.server = createSaslServer(this.mechanism, this.security);
    this.state = 'authenticate';
    this.bareTokens = version === 0;
    return { errorCode: ErrorCode.NONE, mechanisms: enabled };
  }

  async authenticate(token: Buffer, nowMs: () => number): Promise<AuthenticateOutcome> {
    const empty = Buffer.alloc(0);
    const inExchange = this.state === 'authenticate' || (this.state === 'authenticated' && this.reauthenticating);
    if (!inExchange || this.server === null) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'Unexpected SaslAuthenticate request: no SASL exchange in progress', authBytes: empty, sessionLifetimeMs: 0 };
    }
    const server = this.server;
    let step;
    try {
      step = await server.step(token);
      if (step.complete && this.reauthenticating && server.principal !== this.principal) {
        throw new SaslAuthenticationError(server.mechanism, 'a different principal on re-authentication', server.principal);
      }
    } catch (err) {
      if (!(err instanceof SaslAuthenticationError)) throw err;
      this.server = null;
      this.log.info(`Failed authentication with ${this.remote} (${server.mechanism}${err.user !== null ? ` user ${JSON.stringify(err.user.slice(0, 128))}` : ''}: ${err.reason})`);
      await SYSTEM_CLOCK.sleep(this.security.config.connectionFailedAuthenticationDelayMs);
      this.closeAfterResponse = 'failed authentication';
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: err.message, authBytes: empty, sessionLifetimeMs: 0 };
    }
    if (!step.complete) return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.challenge, sessionLifetimeMs: 0 };
    this.bareTokens = false;
    // KIP-368: connections.max.reauth.ms, shortened to what is left of an OAUTHBEARER token.
    const now = nowMs();
    const max = this.security.config.connectionsMaxReauthMs;
    const lifetime = max > 0 ? Math.max(0, Math.min(max, (server.expiresAtMs ?? Infinity) - now)) : 0;
    this.expiresAtMs = max > 0 ? now + lifetime : null;
    if (!this.reauthenticating) this.log.debug(`connection ${this.remote}: authenticated as User:${server.principal} with ${server.mechanism}`);
    this.principal = server.principal!;
    this.state = 'authenticated';
    this.reauthenticating = false;
    this.server = null;
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.challenge, sessionLifetimeMs: lifetime };
  }
}

