/**
 * SASL mechanisms on the server side, as exchanges of opaque tokens (what SaslAuthenticate carries,
 * KIP-152): PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802, RFC 7677, with Kafka's extensions).
 *
 * Every failure is one SaslAuthenticationError with one message per mechanism: a client never
 * learns whether the user, the password or the message was wrong. The reason for the log stays in
 * `reason`, which never holds a password or a proof.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SaslMechanism } from '../../config/security.js';
import type { SaslCredentials } from './credentials.js';
import { bearerToken, TokenRefused, type OAuthBearerValidator } from './oauthbearer.js';
import { hash, hmac, type ScramCredential, type ScramMechanism } from './scram-credentials.js';

export class SaslAuthenticationError extends Error {
  constructor(
    mechanism: SaslMechanism,
    /** For the broker's log only: what went wrong, without secrets. */
    readonly reason: string,
    /** The user the client claimed, when known (logged). */
    readonly user: string | null = null,
  ) {
    // Kafka's SaslServerAuthenticator message for a failed login, the same for every cause.
    super(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`);
    this.name = 'SaslAuthenticationError';
  }
}

export interface SaslStep {
  /** The token to send back (empty when the mechanism has nothing to say). */
  readonly challenge: Buffer;
  /** The exchange is over and the client is who it said. */
  readonly complete: boolean;
}

/** One exchange; `principal` is set once complete. */
export interface SaslServer {
  readonly mechanism: SaslMechanism;
  readonly principal: string | null;
  /** When what the client proved stops being valid (an OAUTHBEARER token's exp); null: never. */
  readonly expiresAtMs: number | null;
  step(token: Buffer): Promise<SaslStep>;
}

/** What the mechanisms check logins against. */
export interface SaslAuthorities {
  readonly credentials: SaslCredentials;
  /** Null unless OAUTHBEARER is enabled. */
  readonly oauth: OAuthBearerValidator | null;
}

export function createSaslServer(mechanism: SaslMechanism, authorities: SaslAuthorities): SaslServer {
  switch (mechanism) {
    case 'PLAIN':
      return new PlainServer(authorities.credentials);
    case 'OAUTHBEARER':
      return new OAuthBearerServer(authorities.oauth!);
    default:
      return new ScramServer(mechanism, authorities.credentials);
  }
}

/** OAUTHBEARER: one message carrying the token (oauthbearer.ts verifies it). */
class OAuthBearerServer implements SaslServer {
  readonly mechanism = 'OAUTHBEARER' as const;
  principal: string | null = null;
  expiresAtMs: number | null = null;
  private used = false;

  constructor(private readonly validator: OAuthBearerValidator) {}

  async step(message: Buffer): Promise<SaslStep> {
    if (this.used) throw new SaslAuthenticationError('OAUTHBEARER', 'a second OAUTHBEARER message');
    this.used = true;
    const parsed = bearerToken(message.toString('utf8'));
    if (parsed === null) throw new SaslAuthenticationError('OAUTHBEARER', 'malformed OAUTHBEARER message');
    let verified;
    try {
      verified = await this.validator.verify(parsed.token, Date.now());
    } catch (err) {
      if (err instanceof TokenRefused) throw new SaslAuthenticationError('OAUTHBEARER', err.message);
      throw err;
    }
    if (parsed.authzid !== null && parsed.authzid !== '' && parsed.authzid !== verified.principal) {
      throw new SaslAuthenticationError('OAUTHBEARER', 'authorization id differs from the token principal', verified.principal);
    }
    this.principal = verified.principal;
    this.expiresAtMs = verified.expiresAtMs;
    return { challenge: Buffer.alloc(0), complete: true };
  }
}

/** PLAIN: one message, `authzid NUL authcid NUL passwd`. */
class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN' as const;
  principal: string | null = null;
  readonly expiresAtMs = null;
  private used = false;

  constructor(private readonly credentials: SaslCredentials) {}

  async step(token: Buffer): Promise<SaslStep> {
    if (this.used) throw new SaslAuthenticationError('PLAIN', 'a second PLAIN message');
    this.used = true;
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) throw new SaslAuthenticationError('PLAIN', 'malformed PLAIN message');
    const [authzid, user, password] = parts as [string, string, string];
    if (user === '' || password === '') throw new SaslAuthenticationError('PLAIN', 'empty user name or password', user || null);
    // Kafka refuses an authorization id other than the user (no impersonation).
    if (authzid !== '' && authzid !== user) throw new SaslAuthenticationError('PLAIN', 'authorization id differs from the user name', user);
    if (!(await this.credentials.plainMatches(user, password))) throw new SaslAuthenticationError('PLAIN', 'unknown user or wrong password', user);
    this.principal = user;
    return { challenge: Buffer.alloc(0), complete: true };
  }
}

/** `=2C` and `=3D` of a SCRAM saslname (RFC 5802 §5.1); null when another `=` escape appears. */
function decodeSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** SCRAM: client-first → server-first → client-final → server-final. */
class ScramServer implements SaslServer {
  principal: string | null = null;
  readonly expiresAtMs = null;
  private state: 'first' | 'final' | 'done' = 'first';
  private user = '';
  private gs2Header = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private credential: ScramCredential | null = null;
  private known = false;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly credentials: SaslCredentials,
  ) {}

  private fail(reason: string): never {
    this.state = 'done';
    throw new SaslAuthenticationError(this.mechanism, reason, this.user || null);
  }

  async step(token: Buffer): Promise<SaslStep> {
    switch (this.state) {
      case 'first':
        return this.clientFirst(token.toString('utf8'));
      case 'final':
        return this.clientFinal(token.toString('utf8'));
      case 'done':
        return this.fail('a message after the SCRAM exchange ended');
    }
  }

  private clientFirst(msg: string): SaslStep {
    // gs2-header: "n" (no channel binding) or "y"; "p=…" (channel binding) is not offered.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(msg);
    if (!m) return this.fail('malformed client-first message (or channel binding asked for)');
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = m[3]!;
    const fields = this.clientFirstBare.split(',');
    const userField = fields[0] ?? '';
    const nonceField = fields[1] ?? '';
    if (!userField.startsWith('n=') || !nonceField.startsWith('r=')) return this.fail('malformed client-first message');
    const user = decodeSaslName(userField.slice(2));
    if (user === null || user === '') return this.fail('malformed user name');
    this.user = user;
    if (m[2] !== undefined && decodeSaslName(m[2].slice(2)) !== user) return this.fail('authorization id differs from the user name');
    const clientNonce = nonceField.slice(2);
    if (!PRINTABLE_NONCE.test(clientNonce)) return this.fail('malformed nonce');
    // Extensions (Kafka: key=value after the nonce). tokenauth (delegation tokens) is not supported.
    for (const ext of fields.slice(2)) {
      if (!/^[A-Za-z]+=/.test(ext)) return this.fail('malformed extension');
      if (ext.startsWith('tokenauth=')) return this.fail('delegation tokens are not supported');
    }
    const stored = this.credentials.scramCredential(user, this.mechanism);
    this.known = stored !== null;
    // An unknown user gets a decoy salt and fails at the proof, like a wrong password.
    this.credential = stored ?? this.credentials.decoyCredential(user, this.mechanism);
    // Alphanumeric, as Kafka's (librdkafka 2.0 mangles a server nonce with '-' or '_' in it).
    this.nonce = clientNonce + randomBytes(24).toString('hex');
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt.toString('base64')},i=${this.credential.iterations}`;
    this.state = 'final';
    return { challenge: Buffer.from(this.serverFirst, 'utf8'), complete: false };
  }

  private clientFinal(msg: string): SaslStep {
    const proofAt = msg.lastIndexOf(',p=');
    if (proofAt < 0) return this.fail('malformed client-final message');
    const withoutProof = msg.slice(0, proofAt);
    const fields = withoutProof.split(',');
    if (fields[0] !== `c=${Buffer.from(this.gs2Header, 'utf8').toString('base64')}`) return this.fail('channel binding does not match the gs2 header');
    // Kafka's ScramSaslServer checks that the nonce *ends with* the server-first nonce: librdkafka
    // 2.0 sends its client nonce twice in front of it (the proof covers what it sent).
    if (!fields[1]?.startsWith('r=') || !fields[1].endsWith(this.nonce)) return this.fail('nonce does not match');
    const proof = Buffer.from(msg.slice(proofAt + 3), 'base64');
    const c = this.credential!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.mechanism, c.storedKey, authMessage);
    if (proof.length !== signature.length) return this.fail('malformed proof');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    const matches = timingSafeEqual(hash(this.mechanism, clientKey), c.storedKey);
    if (!matches || !this.known) return this.fail('unknown user or wrong password');
    this.state = 'done';
    this.principal = this.user;
    const serverSignature = hmac(this.mechanism, c.serverKey, authMessage).toString('base64');
    return { challenge: Buffer.from(`v=${serverSignature}`, 'utf8'), complete: true };
  }
}
