/**
 * TLS and SASL for the operations commands, from Kafka's client settings: `--command-config FILE`
 * (a Java properties file, as kafka-topics.sh and friends take it) and `-X NAME=VALUE` (as kcat
 * takes librdkafka's settings; -X wins over the file). Both the Java client's and librdkafka's names
 * are read, so the file an application already has works:
 *
 *   security.protocol                     PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
 *   sasl.mechanism (librdkafka: sasl.mechanisms)   PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER
 *   sasl.jaas.config                      PlainLoginModule / ScramLoginModule with username="…" password="…";
 *                                         OAuthBearerLoginModule (unsecuredLoginStringClaim_sub="…" for an
 *                                         unsecured token, clientId/clientSecret/scope for a token endpoint)
 *   sasl.username, sasl.password          (librdkafka)
 *   sasl.oauthbearer.token.endpoint.url   file:///path/token.jwt (read at each login) or an OAuth
 *                                         token endpoint (client credentials grant)
 *   sasl.oauthbearer.client.credentials.client.id / .client.secret, sasl.oauthbearer.scope (Kafka 4.1 names)
 *   enable.sasl.oauthbearer.unsecure.jwt + sasl.oauthbearer.config=principal=… (librdkafka)
 *   ssl.truststore.location / ssl.truststore.certificates (PEM), librdkafka ssl.ca.location / ssl.ca.pem
 *   ssl.keystore.location (PEM: key and certificate chain in one file; or PKCS12 with
 *     ssl.keystore.type=PKCS12 and ssl.keystore.password), ssl.keystore.certificate.chain + ssl.keystore.key,
 *     librdkafka ssl.certificate.location + ssl.key.location / ssl.certificate.pem + ssl.key.pem
 *   ssl.key.password                      passphrase of an encrypted private key
 *   ssl.endpoint.identification.algorithm https (default: the host name is checked) or empty (not checked)
 *   enable.ssl.certificate.verification   false: no check of the broker's certificate at all (librdkafka)
 *
 * Other settings (client.id, request.timeout.ms, …) are ignored with one note on stderr naming them.
 * No value is ever printed: errors name the setting only, since any of them may hold a secret.
 */
import { readFileSync } from 'node:fs';
import { getProperties } from 'properties-file';
import { UnsecuredJWT } from 'jose';
import type { SaslOptions, OAuthBearerToken } from '../../client/sasl.js';
import type { SslOptions } from '../../client/tls.js';
import { UsageError } from './common.js';
import { parseJaas, type JaasConfig } from '../../config/jaas.js';

export interface ClientSecurity {
  ssl?: true | SslOptions;
  sasl?: SaslOptions;
}

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;

/** Every setting this module reads; the others are reported as ignored. */
const KNOWN = new Set([
  'security.protocol', 'sasl.mechanism', 'sasl.mechanisms', 'sasl.jaas.config', 'sasl.username', 'sasl.password',
  'sasl.oauthbearer.token.endpoint.url', 'sasl.oauthbearer.client.credentials.client.id', 'sasl.oauthbearer.client.credentials.client.secret',
  'sasl.oauthbearer.scope', 'enable.sasl.oauthbearer.unsecure.jwt', 'sasl.oauthbearer.config', 'sasl.oauthbearer.method',
  'ssl.truststore.type', 'ssl.truststore.location', 'ssl.truststore.certificates', 'ssl.truststore.password', 'ssl.ca.location', 'ssl.ca.pem',
  'ssl.keystore.type', 'ssl.keystore.location', 'ssl.keystore.password', 'ssl.keystore.certificate.chain', 'ssl.keystore.key',
  'ssl.certificate.location', 'ssl.key.location', 'ssl.certificate.pem', 'ssl.key.pem', 'ssl.key.password',
  'ssl.endpoint.identification.algorithm', 'enable.ssl.certificate.verification',
]);

/** The settings of `--command-config FILE` then `-X` pairs (later ones win). */
export function readClientSettings(commandConfig: string | undefined, pairs: readonly [string, string][] = []): Map<string, string> {
  const out = new Map<string, string>();
  if (commandConfig !== undefined) {
    let text: string;
    try {
      text = readFileSync(commandConfig, 'utf8');
    } catch (e) {
      throw new UsageError(`--command-config: cannot read ${commandConfig}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const [k, v] of Object.entries(getProperties(text))) out.set(k, v);
  }
  for (const [k, v] of pairs) out.set(k, v);
  return out;
}

/** Settings present but not used by this client (for a note on stderr; their values stay unprinted). */
export function ignoredSettings(settings: ReadonlyMap<string, string>): string[] {
  return [...settings.keys()].filter((k) => !KNOWN.has(k)).sort();
}

function readPem(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${setting}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const PEM_KEY = /-----BEGIN ((?:[A-Z]+ )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The private key and certificate chain of a PEM keystore (Kafka's ssl.keystore.type=PEM). */
function pemKeystore(setting: string, pem: string): { key: string; cert: string } {
  const key = PEM_KEY.exec(pem)?.[0];
  const certs = pem.match(PEM_CERT);
  if (!key || !certs) throw new UsageError(`${setting}: expected a PEM private key and its certificate chain`);
  return { key, cert: certs.join('\n') };
}

/** A TLS store type: PEM unless said otherwise; JKS cannot be read here. */
function storeType(settings: ReadonlyMap<string, string>, name: string, allowed: readonly string[]): string {
  const t = (settings.get(name) ?? 'PEM').toUpperCase();
  if (!allowed.includes(t)) throw new UsageError(`${name}=${t} is not supported (${allowed.join(' or ')}; convert a JKS store with keytool -importkeystore and openssl)`);
  return t;
}

function tlsOptions(s: ReadonlyMap<string, string>): true | SslOptions {
  const o: SslOptions = {};
  storeType(s, 'ssl.truststore.type', ['PEM']);
  const caFile = s.get('ssl.truststore.location') ?? s.get('ssl.ca.location');
  const caPem = s.get('ssl.truststore.certificates') ?? s.get('ssl.ca.pem');
  if (caFile !== undefined) o.ca = readPem(s.has('ssl.truststore.location') ? 'ssl.truststore.location' : 'ssl.ca.location', caFile);
  else if (caPem !== undefined) o.ca = caPem;

  const keystoreType = storeType(s, 'ssl.keystore.type', ['PEM', 'PKCS12']);
  const keystore = s.get('ssl.keystore.location');
  if (keystore !== undefined && keystoreType === 'PKCS12') {
    try {
      o.pfx = readFileSync(keystore);
    } catch (e) {
      throw new UsageError(`ssl.keystore.location: cannot read ${keystore}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    o.passphrase = s.get('ssl.keystore.password');
  } else if (keystore !== undefined) {
    Object.assign(o, pemKeystore('ssl.keystore.location', readPem('ssl.keystore.location', keystore)));
  } else if (s.has('ssl.keystore.certificate.chain') || s.has('ssl.keystore.key')) {
    o.cert = s.get('ssl.keystore.certificate.chain');
    o.key = s.get('ssl.keystore.key');
  } else if (s.has('ssl.certificate.location') || s.has('ssl.key.location')) {
    if (s.has('ssl.certificate.location')) o.cert = readPem('ssl.certificate.location', s.get('ssl.certificate.location')!);
    if (s.has('ssl.key.location')) o.key = readPem('ssl.key.location', s.get('ssl.key.location')!);
  } else if (s.has('ssl.certificate.pem') || s.has('ssl.key.pem')) {
    o.cert = s.get('ssl.certificate.pem');
    o.key = s.get('ssl.key.pem');
  }
  if ((o.cert === undefined) !== (o.key === undefined)) throw new UsageError('a client certificate needs both its certificate and its private key');
  if (s.has('ssl.key.password')) o.passphrase = s.get('ssl.key.password');

  const endpoint = s.get('ssl.endpoint.identification.algorithm');
  if (endpoint !== undefined && endpoint !== '' && endpoint.toLowerCase() !== 'https') throw new UsageError('ssl.endpoint.identification.algorithm must be https or empty');
  if (endpoint === '' || endpoint?.toLowerCase() === 'none') o.checkServerIdentity = () => undefined;
  const verify = s.get('enable.ssl.certificate.verification');
  if (verify !== undefined) {
    if (!/^(true|false)$/i.test(verify)) throw new UsageError('enable.ssl.certificate.verification must be true or false');
    if (verify.toLowerCase() === 'false') o.rejectUnauthorized = false;
  }
  return Object.keys(o).length === 0 ? true : o;
}

/** sasl.jaas.config as Kafka's JaasConfig reads it (src/config/jaas.ts); a malformed one is a usage error. */
export function parseJaasConfig(text: string): JaasConfig {
  const parsed = parseJaas(text);
  if (typeof parsed === 'string') throw new UsageError(parsed);
  return parsed;
}

/** OAUTHBEARER's token provider from the settings: a token file, a token endpoint, or an unsecured token. */
function oauthProvider(s: ReadonlyMap<string, string>, jaas: Map<string, string>): () => Promise<OAuthBearerToken> {
  const endpoint = s.get('sasl.oauthbearer.token.endpoint.url');
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError('sasl.oauthbearer.token.endpoint.url is not a URL');
    }
    if (url.protocol === 'file:') {
      // Kafka reads the token file at each login, so a rotated token is picked up.
      return async () => ({ value: readFileSync(url, 'utf8').trim() });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('sasl.oauthbearer.token.endpoint.url must be file:, https: or http:');
    const clientId = s.get('sasl.oauthbearer.client.credentials.client.id') ?? jaas.get('clientId');
    const clientSecret = s.get('sasl.oauthbearer.client.credentials.client.secret') ?? jaas.get('clientSecret');
    const scope = s.get('sasl.oauthbearer.scope') ?? jaas.get('scope');
    if (!clientId || !clientSecret) throw new UsageError('a token endpoint needs a client id and secret (sasl.oauthbearer.client.credentials.client.id/.client.secret, or clientId/clientSecret in sasl.jaas.config)');
    return () => clientCredentialsToken(url, clientId, clientSecret, scope);
  }
  const sub = jaas.get('unsecuredLoginStringClaim_sub') ?? (s.get('enable.sasl.oauthbearer.unsecure.jwt') === 'true' ? /(?:^|\s)principal=(\S+)/.exec(s.get('sasl.oauthbearer.config') ?? '')?.[1] : undefined);
  if (sub === undefined) throw new UsageError('OAUTHBEARER needs sasl.oauthbearer.token.endpoint.url, or an unsecured token (unsecuredLoginStringClaim_sub in sasl.jaas.config)');
  const lifetime = Number(jaas.get('unsecuredLoginLifetimeSeconds') ?? 3600);
  // Kafka's unsecured login (OAuthBearerUnsecuredLoginCallbackHandler): alg none, for tests only.
  return async () => ({ value: new UnsecuredJWT({ sub }).setIssuedAt().setExpirationTime(`${lifetime}s`).encode() });
}

/** RFC 6749 §4.4: client credentials grant, the client authenticated with HTTP Basic as Kafka does. */
async function clientCredentialsToken(url: URL, clientId: string, clientSecret: string, scope: string | undefined): Promise<OAuthBearerToken> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  const res = await fetch(url, { method: 'POST', body, headers: { authorization: `Basic ${basic}`, accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`the token endpoint answered HTTP ${res.status}`);
  const json = (await res.json()) as { access_token?: unknown };
  if (typeof json.access_token !== 'string') throw new Error('the token endpoint answered without an access_token');
  return { value: json.access_token };
}

/** The client's `ssl` and `sasl` options from Kafka's settings. */
export function clientSecurity(s: ReadonlyMap<string, string>): ClientSecurity {
  const protocol = (s.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`security.protocol must be one of ${PROTOCOLS.join(', ')}`);
  const out: ClientSecurity = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') out.ssl = tlsOptions(s);
  if (protocol !== 'SASL_PLAINTEXT' && protocol !== 'SASL_SSL') return out;

  const mechanism = (s.get('sasl.mechanism') ?? s.get('sasl.mechanisms') ?? 'GSSAPI').toUpperCase();
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new UsageError(`sasl.mechanism ${mechanism}${s.has('sasl.mechanism') || s.has('sasl.mechanisms') ? '' : " (Kafka's default)"} is not supported: one of ${MECHANISMS.join(', ')}`);
  }
  const jaasText = s.get('sasl.jaas.config');
  const jaas = jaasText !== undefined ? parseJaasConfig(jaasText) : null;
  const options = jaas?.options ?? new Map<string, string>();
  if (mechanism === 'OAUTHBEARER') {
    out.sasl = { mechanism: 'OAUTHBEARER', oauthBearerProvider: oauthProvider(s, options) };
    return out;
  }
  const expected = mechanism === 'PLAIN' ? 'PlainLoginModule' : 'ScramLoginModule';
  if (jaas !== null && !jaas.module.endsWith(`.${expected}`) && jaas.module !== expected) throw new UsageError(`sasl.jaas.config: ${mechanism} needs the ${expected}`);
  const username = options.get('username') ?? s.get('sasl.username');
  const password = options.get('password') ?? s.get('sasl.password');
  if (!username || !password) throw new UsageError(`${mechanism} needs a username and password (sasl.jaas.config, or sasl.username and sasl.password)`);
  out.sasl = { mechanism: mechanism as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username, password };
  return out;
}
