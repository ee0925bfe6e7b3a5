/**
 * The client side of the SASL mechanisms, as exchanges of opaque tokens (what SaslAuthenticate
 * carries, KIP-152): PLAIN (RFC 4616), SCRAM-SHA-256/512 (RFC 5802/7677, the server's signature
 * verified) and OAUTHBEARER (RFC 7628, the token from the application's provider). The options are
 * named as kafkajs names them (`sasl: { mechanism: 'scram-sha-512', username, password }`,
 * `{ mechanism: 'oauthbearer', oauthBearerProvider }`); the connection (connection.ts) drives the
 * exchange with SaslHandshake v1 and SaslAuthenticate.
 *
 * A failure on our side (the broker's SCRAM signature does not verify, a nonce it did not extend)
 * is reported as SASL_AUTHENTICATION_FAILED, like the broker's own refusal: the login failed, and
 * trying again will not help. No message ever holds a password, a proof or a token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '../protocol/error-codes.js';
import { hash, hmac, saltedPassword, SCRAM_MIN_ITERATIONS, type ScramMechanism } from '../protocol/scram.js';
import { ConfigError, KafkaProtocolError } from './errors.js';

/** Kafka's names of the mechanisms (what SaslHandshake sends). */
export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

/** What an OAUTHBEARER token provider returns: the token (a JWT, compact form), and SASL extensions. */
export interface OAuthBearerToken {
  value: string;
  /** RFC 7628 key/value extensions (Kafka: `sasl.oauthbearer.extensions`, e.g. a logical cluster id). */
  extensions?: Readonly<Record<string, string>>;
}

export type SaslOptions =
  | { mechanism: 'plain' | 'PLAIN'; username: string; password: string }
  | { mechanism: 'scram-sha-256' | 'scram-sha-512' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | {
      mechanism: 'oauthbearer' | 'OAUTHBEARER';
      /** Called for every login and re-login (KIP-368), so it can hand out a fresh token each time. */
      oauthBearerProvider: () => Promise<OAuthBearerToken> | OAuthBearerToken;
    };

/** One exchange, client side: `start()` gives the first token, `step()` answers each challenge until it returns null. */
export interface SaslClient {
  readonly mechanism: SaslMechanismName;
  start(): Promise<Buffer>;
  /** The answer to the broker's challenge, or null when the exchange is complete on our side. */
  step(challenge: Buffer): Promise<Buffer | null>;
}

/** The mechanism's name as Kafka spells it, checking the options once (constructors call it). */
export function saslMechanismName(opts: SaslOptions): SaslMechanismName {
  const name = String((opts as { mechanism?: unknown }).mechanism ?? '').toUpperCase();
  switch (name) {
    case 'PLAIN':
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512': {
      const o = opts as { username?: unknown; password?: unknown };
      if (typeof o.username !== 'string' || o.username === '') throw new ConfigError(`sasl: ${name} needs a username`);
      if (typeof o.password !== 'string' || o.password === '') throw new ConfigError(`sasl: ${name} needs a password`);
      return name;
    }
    case 'OAUTHBEARER':
      if (typeof (opts as { oauthBearerProvider?: unknown }).oauthBearerProvider !== 'function') throw new ConfigError('sasl: OAUTHBEARER needs an oauthBearerProvider function');
      return name;
    default:
      throw new ConfigError(`sasl: unknown mechanism ${JSON.stringify((opts as { mechanism?: unknown }).mechanism)} (one of plain, scram-sha-256, scram-sha-512, oauthbearer)`);
  }
}

export function createSaslClient(opts: SaslOptions): SaslClient {
  const mechanism = saslMechanismName(opts);
  switch (mechanism) {
    case 'PLAIN': {
      const o = opts as { username: string; password: string };
      return new PlainClient(o.username, o.password);
    }
    case 'OAUTHBEARER':
      return new OAuthBearerClient((opts as { oauthBearerProvider: () => Promise<OAuthBearerToken> | OAuthBearerToken }).oauthBearerProvider);
    default: {
      const o = opts as { username: string; password: string };
      return new ScramClient(mechanism, o.username, o.password);
    }
  }
}

function refused(mechanism: SaslMechanismName, why: string): KafkaProtocolError {
  return new KafkaProtocolError(ErrorCode.SASL_AUTHENTICATION_FAILED, `${mechanism}: ${why}`);
}

/** PLAIN: `authzid NUL authcid NUL passwd`, no authorization id (Kafka refuses one other than the user). */
class PlainClient implements SaslClient {
  readonly mechanism = 'PLAIN' as const;
  constructor(
    private readonly user: string,
    private readonly password: string,
  ) {}

  async start(): Promise<Buffer> {
    return Buffer.from(`\u0000${this.user}\u0000${this.password}`, 'utf8');
  }

  async step(): Promise<Buffer | null> {
    return null;
  }
}

/** `,` and `=` of a SCRAM saslname escaped (RFC 5802 §5.1). */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** SCRAM: client-first → server-first → client-final → server-final, whose signature we verify. */
class ScramClient implements SaslClient {
  private state: 'start' | 'first' | 'final' | 'done' = 'start';
  private readonly nonce = randomBytes(24).toString('base64url');
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly user: string,
    private readonly password: string,
  ) {}

  async start(): Promise<Buffer> {
    this.clientFirstBare = `n=${saslName(this.user)},r=${this.nonce}`;
    this.state = 'first';
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  async step(challenge: Buffer): Promise<Buffer | null> {
    const msg = challenge.toString('utf8');
    if (this.state === 'first') return this.clientFinal(msg);
    if (this.state === 'final') {
      this.state = 'done';
      if (msg.startsWith('e=')) throw refused(this.mechanism, `the broker refused the login (${msg.slice(2, 200)})`);
      const m = /^v=([A-Za-z0-9+/=]+)(?:,|$)/.exec(msg);
      const signature = m ? Buffer.from(m[1]!, 'base64') : Buffer.alloc(0);
      const expected = this.expectedServerSignature!;
      // The server proves it knows the credential too (RFC 5802 §3): without this check anyone who
      // answers on the broker's address could accept any password.
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw refused(this.mechanism, "the broker's server signature does not verify");
      return null;
    }
    throw refused(this.mechanism, 'a challenge after the exchange ended');
  }

  private async clientFinal(serverFirst: string): Promise<Buffer> {
    this.state = 'final';
    const fields = new Map<string, string>();
    for (const f of serverFirst.split(',')) {
      const i = f.indexOf('=');
      if (i === 1) fields.set(f[0]!, f.slice(2));
    }
    if (fields.has('m')) throw refused(this.mechanism, 'the broker asks for a SCRAM extension this client does not know');
    const serverNonce = fields.get('r') ?? '';
    const salt = Buffer.from(fields.get('s') ?? '', 'base64');
    const iterations = Number(fields.get('i'));
    if (!serverNonce.startsWith(this.nonce) || serverNonce.length <= this.nonce.length) throw refused(this.mechanism, "the broker's nonce does not extend ours");
    if (salt.length === 0) throw refused(this.mechanism, 'no salt in the server-first message');
    // As Kafka's ScramSaslClient: a server asking for fewer iterations makes the password cheap to guess.
    if (!Number.isSafeInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS) {
      throw refused(this.mechanism, `the broker asks for ${fields.get('i')} iterations, fewer than the minimum ${SCRAM_MIN_ITERATIONS}`);
    }
    const salted = await saltedPassword(this.mechanism, this.password, salt, iterations);
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${serverNonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(this.mechanism, salted, 'Client Key');
    const clientSignature = hmac(this.mechanism, hash(this.mechanism, clientKey), authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    this.expectedServerSignature = hmac(this.mechanism, hmac(this.mechanism, salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }
}

/** RFC 7628 key names: letters only; values: printable, no ^A. */
const EXTENSION_KEY = /^[A-Za-z]+$/;
const EXTENSION_VALUE = /^[\x21-\x7e \t\r\n]*$/;

/**
 * OAUTHBEARER: one message, `n,,^Aauth=Bearer <token>^A[key=value^A...]^A`. A broker that refuses
 * the token may answer with an error challenge (a JSON status, RFC 7628 §3.2.2) instead of an error
 * code; we send the `^A` the RFC asks for and the broker then fails the login (Kafka does this).
 */
class OAuthBearerClient implements SaslClient {
  readonly mechanism = 'OAUTHBEARER' as const;
  private sent = false;
  private errorStatus: string | null = null;
  constructor(private readonly provider: () => Promise<OAuthBearerToken> | OAuthBearerToken) {}

  async start(): Promise<Buffer> {
    let token: OAuthBearerToken;
    try {
      token = await this.provider();
    } catch (e) {
      throw refused(this.mechanism, `the oauthBearerProvider failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof token?.value !== 'string' || token.value === '' || /[\x00-\x20\x7f]/.test(token.value)) {
      throw refused(this.mechanism, 'the oauthBearerProvider returned no token (expected { value: "<JWT>" })');
    }
    let ext = '';
    for (const [k, v] of Object.entries(token.extensions ?? {})) {
      if (k === 'auth' || !EXTENSION_KEY.test(k) || !EXTENSION_VALUE.test(v)) throw refused(this.mechanism, `invalid SASL extension ${JSON.stringify(k)}`);
      ext += `${k}=${v}\u0001`;
    }
    this.sent = true;
    return Buffer.from(`n,,\u0001auth=Bearer ${token.value}\u0001${ext}\u0001`, 'utf8');
  }

  async step(challenge: Buffer): Promise<Buffer | null> {
    if (!this.sent) throw refused(this.mechanism, 'a challenge before the token was sent');
    if (this.errorStatus !== null) throw refused(this.mechanism, `the broker refused the token (${this.errorStatus})`);
    if (challenge.length === 0) return null;
    // The error challenge: acknowledge it; the broker answers SASL_AUTHENTICATION_FAILED (and if
    // it did not, the next step refuses: an error challenge never ends in a login).
    this.errorStatus = challenge.toString('utf8').slice(0, 200);
    return Buffer.from([1]);
  }
}
