/**
 * OAUTHBEARER (RFC 7628, KIP-255): the client sends a JWT; the principal is its `sub` claim (or
 * `sasl.oauthbearer.sub.claim.name`). Tokens are verified with `jose` against the JWKS at
 * `sasl.oauthbearer.jwks.endpoint.url` (a file read at start, or a URL fetched and cached by jose),
 * with `exp` required and `sasl.oauthbearer.expected.issuer` / `.audience` checked, as Kafka's
 * OAuthBearerValidatorCallbackHandler does. With `sasl.oauthbearer.allow.unsecured.jwt` and no JWKS,
 * unsigned (alg none) tokens are accepted instead, as Kafka's default unsecured validator does —
 * for tests only, so it must be asked for by name.
 *
 * A token that does not verify fails the login at once with SASL_AUTHENTICATION_FAILED (Kafka first
 * answers RFC 7628's error challenge and fails on the client's %x01 reply; every client also
 * handles the direct failure). A token's remaining lifetime bounds the session (KIP-368).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BrokerConfig } from '../../config/types.js';

type Jose = typeof import('jose');
type KeySet = Parameters<Jose['jwtVerify']>[1];

export interface VerifiedToken {
  principal: string;
  /** When the token expires (ms since the epoch). */
  expiresAtMs: number;
}

/** Why a token was refused (for the broker's log; never the token itself). */
export class TokenRefused extends Error {}

export class OAuthBearerValidator {
  private jose: Jose | null = null;
  private keys: KeySet | null = null;

  constructor(private readonly config: BrokerConfig) {}

  /** Load jose and the JWKS (a file must parse, or the start fails). */
  async start(): Promise<void> {
    this.jose = await import('jose');
    const url = this.config.saslOauthbearerJwksEndpointUrl;
    if (url === null) return;
    if (url.startsWith('file:')) {
      let jwks: unknown;
      try {
        jwks = JSON.parse(await readFile(fileURLToPath(url), 'utf8'));
      } catch (err) {
        throw new Error(`sasl.oauthbearer.jwks.endpoint.url: cannot read a JWKS from ${url}: ${(err as Error).message}`);
      }
      this.keys = this.jose.createLocalJWKSet(jwks as Parameters<Jose['createLocalJWKSet']>[0]) as KeySet;
    } else {
      this.keys = this.jose.createRemoteJWKSet(new URL(url)) as KeySet;
    }
  }

  async verify(token: string, nowMs: number): Promise<VerifiedToken> {
    const jose = this.jose!;
    const c = this.config;
    const claim = c.saslOauthbearerSubClaimName;
    let payload: Record<string, unknown>;
    if (this.keys !== null) {
      try {
        const verified = await jose.jwtVerify(token, this.keys, {
          ...(c.saslOauthbearerExpectedIssuer !== null ? { issuer: c.saslOauthbearerExpectedIssuer } : {}),
          ...(c.saslOauthbearerExpectedAudience !== null ? { audience: [...c.saslOauthbearerExpectedAudience] } : {}),
          clockTolerance: c.saslOauthbearerClockSkewSeconds,
          currentDate: new Date(nowMs),
          requiredClaims: ['exp', claim],
        });
        payload = verified.payload as Record<string, unknown>;
      } catch (err) {
        throw new TokenRefused(`token refused: ${(err as { code?: string }).code ?? (err as Error).message}`);
      }
    } else {
      payload = this.unsecured(token, nowMs);
    }
    const principal = payload[claim];
    if (typeof principal !== 'string' || principal === '') throw new TokenRefused(`token has no ${claim} claim`);
    return { principal, expiresAtMs: (payload['exp'] as number) * 1000 };
  }

  /** Kafka's OAuthBearerUnsecuredJws rules: alg none, no signature, exp required and in the future. */
  private unsecured(token: string, nowMs: number): Record<string, unknown> {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[2] !== '') throw new TokenRefused('not an unsecured JWT (alg none, empty signature)');
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new TokenRefused('malformed JWT');
    }
    if (header === null || typeof header !== 'object' || header['alg'] !== 'none') throw new TokenRefused('unsecured JWT must have alg none');
    if (payload === null || typeof payload !== 'object') throw new TokenRefused('malformed JWT claims');
    const skewMs = this.config.saslOauthbearerClockSkewSeconds * 1000;
    const exp = payload['exp'];
    if (typeof exp !== 'number') throw new TokenRefused('token has no exp claim');
    if (exp * 1000 + skewMs <= nowMs) throw new TokenRefused('token expired');
    const nbf = payload['nbf'];
    if (typeof nbf === 'number' && nbf * 1000 - skewMs > nowMs) throw new TokenRefused('token not yet valid');
    return payload;
  }
}

/** The token from a client's initial response: `gs2-header %x01 auth=Bearer <token> %x01 [kvpairs] %x01` (RFC 7628 §3.1). */
export function bearerToken(message: string): { token: string; authzid: string | null } | null {
  const m = /^([ny]),(?:a=([^,]*))?,\x01(.*)\x01\x01$/s.exec(message);
  if (!m) return null;
  let token: string | null = null;
  for (const kv of m[3]!.split('\x01')) {
    const at = kv.indexOf('=');
    if (at <= 0) return null;
    if (kv.slice(0, at) === 'auth') {
      const bearer = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(kv.slice(at + 1));
      if (!bearer) return null;
      token = bearer[1]!;
    }
  }
  return token === null ? null : { token, authzid: m[2] ?? null };
}
