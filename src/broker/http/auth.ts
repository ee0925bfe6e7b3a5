/**
 * Authentication of the HTTP endpoint (issue 21: "behind the same authentication as the Kafka port
 * when security is on"), and the principal each request runs as.
 *
 * When it applies: as soon as the broker has something to authenticate against or to authorize
 * with — a SASL listener, SASL users (`sasl.users` or stored SCRAM credentials) or the authorizer.
 * Then every path but those of `http.auth.exempt` (default /health and /ready: liveness probes carry
 * no credentials, and they answer nothing but "alive"/"ready") needs one of:
 * - `Authorization: Basic` with a user name and password checked against the same credentials as
 *   the Kafka port: a SCRAM credential by recomputing the salted password with its stored salt and
 *   iterations, a PLAIN user by its scrypt hash (credentials.ts). The password is never stored or
 *   logged; a successful check is remembered for AUTH_CACHE_TTL_MS under a keyed hash of user and
 *   password (so the console's polling does not pay PBKDF2 on every request), and forgotten at once
 *   when the user's credential changes.
 * - `Authorization: Bearer <JWT>` when a SASL listener offers OAUTHBEARER: the broker's own token
 *   validator (oauthbearer.ts: the JWKS, issuer, audience and expiry checks of the Kafka port).
 * Missing or bad credentials: 401 with `WWW-Authenticate` naming what is accepted, after
 * `connection.failed.authentication.delay.ms` for bad ones, and a log line naming the user (never
 * the password or token), as the Kafka port logs a failed login. Fail closed: a broker with the
 * authorizer on but nobody who can log in over HTTP answers 401 to everything not exempt.
 *
 * - over TLS (`http.ssl.client.auth: requested|required`), a client certificate that chains to the
 *   truststore: its subject mapped by `ssl.principal.mapping.rules`, as on an SSL listener. Basic or
 *   Bearer credentials on the same request win (as SASL does over SASL_SSL). A certificate that does
 *   not verify, or that no rule maps, is refused 401 like a bad password (the SSL listener closes).
 *
 * The principal is `User:<name>` (User:ANONYMOUS when authentication does not apply); what it may
 * do is the authorizer's answer (authorizeHttp), as for a Kafka request.
 *
 * Callers: server.ts (every request, before its handler), the console (src/console/).
 */
import { SYSTEM_CLOCK } from '../../base/clock.js';
import { createHmac, randomBytes } from 'node:crypto';
import { mapPrincipal } from '../../config/security.js';
import type { HttpRequest } from './server.js';
import type { Broker } from '../broker.js';
import type { SaslMechanism } from '../../config/security.js';
import type { ScramCredential, ScramMechanism } from '../security/scram-credentials.js';
import { ANONYMOUS } from '../security/session.js';
import { TokenRefused } from '../security/oauthbearer.js';

/** A remembered successful Basic check lasts this long (then the password is checked again). */
export const AUTH_CACHE_TTL_MS = 60_000;
/** Remembered Basic checks at most (oldest forgotten first). */
export const AUTH_CACHE_MAX_ENTRIES = 256;
/** Longest Authorization header read; longer is refused before decoding (a JWT is a few KiB). */
export const AUTH_HEADER_MAX_BYTES = 16 * 1024;

/** How the caller logged in, kept with the request so the console's Kafka clients can log in as the same principal. */
export type HttpLogin =
  | { kind: 'anonymous' }
  | { kind: 'password'; mechanism: SaslMechanism; user: string; password: string }
  | { kind: 'bearer'; token: string }
  /** A TLS client certificate: the console's clients cannot present it (they do not hold its key). */
  | { kind: 'certificate' };

export interface HttpPrincipal {
  /** Kafka's principal, `User:name`. */
  readonly principal: string;
  /** The client's address as the authorizer's host (an IPv4 client on a dual-stack socket without ::ffff:). */
  readonly host: string;
  readonly login: HttpLogin;
}

/** What authentication reads of a request (an HttpRequest; a test may hand less). */
export type HttpCaller = Pick<HttpRequest, 'headers' | 'remoteAddress' | 'tls'>;

const principals = new WeakMap<HttpCaller, HttpPrincipal>();

/** The principal `req` was authenticated as (ANONYMOUS when authentication does not apply). */
export function httpPrincipal(req: HttpCaller): HttpPrincipal {
  return principals.get(req) ?? { principal: `User:${ANONYMOUS}`, host: hostOf(req), login: { kind: 'anonymous' } };
}

function hostOf(req: HttpCaller): string {
  const a = req.remoteAddress;
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

interface Remembered {
  user: string;
  mechanism: SaslMechanism;
  /** The stored SCRAM credential that matched: a change of the user's credential forgets the entry. */
  credential: ScramCredential | null;
  expiresAtMs: number;
}

export class HttpAuthenticator {
  private readonly exempt: ReadonlySet<string>;
  /** Keyed hashes of user and password that matched, newest last (Map order). */
  private readonly remembered = new Map<string, Remembered>();
  private readonly cacheKey = randomBytes(32);

  constructor(private readonly broker: Broker) {
    this.exempt = new Set(broker.config.httpAuthExempt);
  }

  /** Whether requests must authenticate: the broker has SASL users or listeners, or the authorizer on. */
  get required(): boolean {
    const s = this.broker.security;
    return s.authorizer.enabled || s.listeners.some((l) => l.sasl) || s.credentials.hasUsers;
  }

  /** Whether Bearer tokens are accepted (a SASL listener offers OAUTHBEARER). */
  private get bearer(): boolean {
    return this.broker.security.oauth !== null;
  }

  /**
   * Authenticate `req` for `path`: null when it may go on (its principal then known to httpPrincipal),
   * else the 401 to answer: the WWW-Authenticate challenge and a message.
   */
  async authenticate(req: HttpCaller, path: string): Promise<{ challenge: string; message: string } | null> {
    const host = hostOf(req);
    const challenge = [`Basic realm="rafka", charset="UTF-8"`, ...(this.bearer ? ['Bearer realm="rafka"'] : [])].join(', ');
    const exempt = this.exempt.has(path);
    const cert = this.certificate(req);
    if (cert !== null && typeof cert === 'object' && !exempt) {
      this.broker.log.info(`Failed authentication with ${host} (HTTP: ${cert.refused})`);
      await SYSTEM_CLOCK.sleep(this.broker.config.connectionFailedAuthenticationDelayMs);
      return { challenge, message: `authentication failed: ${cert.refused}` };
    }
    if (typeof cert === 'string') principals.set(req, { principal: `User:${cert}`, host, login: { kind: 'certificate' } });
    if (!this.required || exempt) return null;
    const header = req.headers.authorization;
    if (header === undefined || header === '') return typeof cert === 'string' ? null : { challenge, message: 'authentication required' };
    let login: { name: string; login: HttpLogin } | null = null;
    let who = '';
    if (header.length <= AUTH_HEADER_MAX_BYTES) {
      const space = header.indexOf(' ');
      const scheme = header.slice(0, space < 0 ? header.length : space).toLowerCase();
      const value = space < 0 ? '' : header.slice(space + 1).trim();
      if (scheme === 'basic') {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          const user = decoded.slice(0, colon);
          who = ` user ${JSON.stringify(user.slice(0, 128))}`;
          login = await this.basic(user, decoded.slice(colon + 1));
        }
      } else if (scheme === 'bearer' && this.bearer) {
        who = ' (bearer token)';
        login = await this.token(value);
      }
    }
    if (login === null) {
      this.broker.log.info(`Failed authentication with ${host} (HTTP${who})`);
      await SYSTEM_CLOCK.sleep(this.broker.config.connectionFailedAuthenticationDelayMs);
      return { challenge, message: 'authentication failed: invalid credentials' };
    }
    principals.set(req, { principal: `User:${login.name}`, host, login: login.login });
    return null;
  }

  /**
   * The TLS client certificate of `req`'s connection: null when there is none (plain HTTP, or TLS
   * without one), the principal name its subject maps to, or why it is refused — the checks of an SSL
   * listener (session.ts). Node verified the chain in the handshake; `requested` lets an unverified
   * one through to here.
   */
  private certificate(req: HttpCaller): string | { refused: string } | null {
    const peer = req.tls;
    if (peer === null) return null;
    const subject = peer.subject;
    if (subject === null) return null;
    if (!peer.authorized) return { refused: `client certificate not trusted: ${String(peer.authorizationError)}` };
    const name = mapPrincipal(this.broker.security.principalRules, subject);
    return name ?? { refused: `no ssl.principal.mapping.rules rule applies to ${subject}` };
  }

  private async basic(user: string, password: string): Promise<{ name: string; login: HttpLogin } | null> {
    const credentials = this.broker.security.credentials;
    const key = createHmac('sha256', this.cacheKey).update(user).update('\u0000').update(password).digest('base64');
    const now = Date.now();
    const known = this.remembered.get(key);
    if (known !== undefined) {
      const still = known.expiresAtMs > now && (known.credential === null || credentials.scramCredential(user, known.mechanism as ScramMechanism) === known.credential);
      if (still) return { name: user, login: { kind: 'password', mechanism: known.mechanism, user, password } };
      this.remembered.delete(key);
    }
    const matched = await credentials.passwordLogin(user, password);
    if (matched === null) return null;
    if (this.remembered.size >= AUTH_CACHE_MAX_ENTRIES) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(key, { user, mechanism: matched.mechanism, credential: matched.credential, expiresAtMs: now + AUTH_CACHE_TTL_MS });
    return { name: user, login: { kind: 'password', mechanism: matched.mechanism, user, password } };
  }

  private async token(token: string): Promise<{ name: string; login: HttpLogin } | null> {
    try {
      const verified = await this.broker.security.oauth!.verify(token, Date.now());
      return { name: verified.principal, login: { kind: 'bearer', token } };
    } catch (err) {
      if (err instanceof TokenRefused) return null;
      throw err;
    }
  }

  /** Whether the request's principal may do `operation` on the resource (true when the authorizer is off). */
  authorize(req: HttpCaller, operation: number, resourceType: number, resourceName: string): boolean {
    const p = httpPrincipal(req);
    return this.broker.security.authorizer.authorize({ principal: p.principal, host: p.host }, operation, resourceType, resourceName);
  }
}

