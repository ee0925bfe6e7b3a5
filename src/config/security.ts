/**
 * The security part of the configuration, as Kafka names it: listeners and their security
 * protocols, TLS and SASL (docs/security.md). The values the schema (schema.ts) cannot check by
 * shape alone — a listener string, the protocol map, principal mapping rules — are parsed here, once,
 * so that `rafka start` refuses a bad one before anything is opened, and the broker
 * (src/broker/security/) works from the parsed form.
 */
import { parseJaas } from './jaas.js';
import { pemStoreProblems } from './tls-stores.js';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** The SASL mechanisms Rafka implements (GSSAPI, Kafka's default, is not one of them). */
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Mechanisms a broker logs in to the others with: the password ones (OAUTHBEARER would need a token provider of its own). */
export const INTER_BROKER_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type InterBrokerSaslMechanism = (typeof INTER_BROKER_SASL_MECHANISMS)[number];

export const SSL_CLIENT_AUTH = ['none', 'requested', 'required'] as const;
export type SslClientAuth = (typeof SSL_CLIENT_AUTH)[number];

/** TLS versions Node's OpenSSL accepts from a server by default; older ones are refused, as in Java 17+. */
export const SSL_PROTOCOLS = ['TLSv1.2', 'TLSv1.3'] as const;
export type SslProtocol = (typeof SSL_PROTOCOLS)[number];

/** A `sasl.users` entry: a user bootstrapped from the configuration (never logged). */
export interface SaslUserConfig {
  readonly name: string;
  /** The password itself, or */
  readonly password?: string;
  /** a file holding it (its first line), resolved against the config file's directory. */
  readonly passwordFile?: string;
  /** Mechanisms the user may log in with; absent = every enabled mechanism. */
  readonly mechanisms?: readonly SaslMechanism[];
}

/** One listener, resolved: what it binds to and what Metadata tells its clients. */
export interface ListenerConfig {
  /** Listener name, upper case (`PLAINTEXT`, `SASL_SSL`, `INTERNAL`). */
  readonly name: string;
  readonly protocol: SecurityProtocol;
  /** Interface to bind; '' = every interface (Kafka's `PLAINTEXT://:9092`). */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** From `advertised.listeners` (else null: the broker derives it from the bind address). */
  readonly advertisedHost: string | null;
  readonly advertisedPort: number | null;
}

interface Endpoint {
  name: string;
  host: string;
  port: number;
}

const ENDPOINT = /^([A-Za-z0-9_.-]+):\/\/(\[[0-9A-Fa-f:.]+\]|[^:/\s[\]]*):(\d{1,5})$/;

/** `NAME://host:port` (IPv6 hosts in brackets) → its parts; a string saying what is wrong otherwise. */
export function parseEndpoint(text: string): Endpoint | string {
  const m = ENDPOINT.exec(text.trim());
  if (!m) return `"${text.trim()}" is not of the form NAME://host:port`;
  const port = Number(m[3]);
  if (port > 65535) return `"${text.trim()}": port ${port} is above 65535`;
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { name: m[1]!.toUpperCase(), host, port };
}

/** `NAME:PROTOCOL,...` → the map; null = Kafka's default map (each protocol under its own name). */
export function parseProtocolMap(text: string | null): Map<string, SecurityProtocol> | string {
  const map = new Map<string, SecurityProtocol>();
  if (text === null) {
    for (const p of SECURITY_PROTOCOLS) map.set(p, p);
    return map;
  }
  for (const part of text.split(',')) {
    const [name, protocol, extra] = part.trim().split(':').map((s) => s.trim());
    if (!name || !protocol || extra !== undefined) return `"${part.trim()}" is not of the form NAME:PROTOCOL`;
    const p = protocol.toUpperCase();
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(p)) return `"${protocol}" is not a security protocol (${SECURITY_PROTOCOLS.join(', ')})`;
    if (map.has(name.toUpperCase())) return `listener name ${name} is mapped twice`;
    map.set(name.toUpperCase(), p as SecurityProtocol);
  }
  return map;
}

export interface ListenerSettings {
  host: string;
  port: number;
  advertisedHost: string | null;
  advertisedPort: number | null;
  listeners: readonly string[] | null;
  advertisedListeners: readonly string[] | null;
  listenerSecurityProtocolMap: string | null;
}

/**
 * The listeners the broker opens. Without `listeners`, one PLAINTEXT listener on `host:port`
 * advertised as `advertised.host`/`advertised.port` (Rafka's settings before listeners existed).
 * Returns the listeners, or the problems (each names the setting).
 */
export function resolveListeners(c: ListenerSettings): ListenerConfig[] | string[] {
  const problems: string[] = [];
  const map = parseProtocolMap(c.listenerSecurityProtocolMap);
  if (typeof map === 'string') return [`listener.security.protocol.map: ${map}`];
  if (c.listeners === null) {
    if (c.advertisedListeners !== null) return ['advertised.listeners: give listeners too'];
    return [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: c.host, port: c.port, advertisedHost: c.advertisedHost, advertisedPort: c.advertisedPort }];
  }
  const out: ListenerConfig[] = [];
  const ports = new Set<number>();
  for (const text of c.listeners) {
    const e = parseEndpoint(text);
    if (typeof e === 'string') {
      problems.push(`listeners: ${e}`);
      continue;
    }
    const protocol = map.get(e.name);
    if (protocol === undefined) {
      problems.push(`listeners: listener ${e.name} has no security protocol (name it after one, or map it in listener.security.protocol.map)`);
      continue;
    }
    if (out.some((l) => l.name === e.name)) problems.push(`listeners: listener ${e.name} is given twice`);
    if (e.port !== 0 && ports.has(e.port)) problems.push(`listeners: port ${e.port} is used by two listeners`);
    ports.add(e.port);
    out.push({ name: e.name, protocol, host: e.host, port: e.port, advertisedHost: null, advertisedPort: null });
  }
  for (const text of c.advertisedListeners ?? []) {
    const e = parseEndpoint(text);
    if (typeof e === 'string') {
      problems.push(`advertised.listeners: ${e}`);
      continue;
    }
    const i = out.findIndex((l) => l.name === e.name);
    if (i < 0) problems.push(`advertised.listeners: ${e.name} is not one of the listeners`);
    else if (e.port === 0) problems.push(`advertised.listeners: ${e.name} must advertise a port other than 0`);
    else out[i] = { ...out[i]!, advertisedHost: e.host === '' ? null : e.host, advertisedPort: e.port };
  }
  if (out.length === 0 && problems.length === 0) problems.push('listeners: give at least one listener');
  return problems.length > 0 ? problems : out;
}

/** One rule of `ssl.principal.mapping.rules` (Kafka's SslPrincipalMapper). */
export type PrincipalRule = { kind: 'default' } | { kind: 'rule'; pattern: RegExp; replacement: string; toCase: 'L' | 'U' | null };

// RULE:pattern/replacement/[LU], where pattern and replacement may hold escaped slashes; rules are
// separated by commas, which may also appear inside a pattern (Kafka parses the list the same way).
const RULE = /\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?))\s*(?:,|$)/y;

/** Parses `ssl.principal.mapping.rules`; a string saying what is wrong otherwise. */
export function parsePrincipalRules(text: string): PrincipalRule[] | string {
  const rules: PrincipalRule[] = [];
  RULE.lastIndex = 0;
  const t = text.trim();
  while (RULE.lastIndex < t.length) {
    const at = RULE.lastIndex;
    const m = RULE.exec(t);
    if (!m || m[0].length === 0) return `cannot parse "${t.slice(at)}" (rules are RULE:pattern/replacement/[LU] or DEFAULT, comma-separated)`;
    if (m[1]) {
      rules.push({ kind: 'default' });
      continue;
    }
    let pattern: RegExp;
    try {
      // Java's Matcher.matches(): the whole subject must match.
      pattern = new RegExp(`^(?:${m[2]!.replace(/\\\//g, '/')})$`);
    } catch (err) {
      return `rule pattern /${m[2]}/ is not a regular expression: ${(err as Error).message}`;
    }
    rules.push({ kind: 'rule', pattern, replacement: m[3]!.replace(/\\\//g, '/'), toCase: (m[4] || null) as 'L' | 'U' | null });
  }
  if (rules.length === 0) return 'give at least one rule (DEFAULT keeps the subject as it is)';
  return rules;
}

/** The principal name for a certificate subject (RFC 2253 form); null when no rule applies. */
export function mapPrincipal(rules: readonly PrincipalRule[], subject: string): string | null {
  for (const r of rules) {
    if (r.kind === 'default') return subject;
    if (!r.pattern.test(subject)) continue;
    let name = subject.replace(r.pattern, r.replacement);
    if (r.toCase === 'L') name = name.toLowerCase();
    else if (r.toCase === 'U') name = name.toUpperCase();
    return name;
  }
  return null;
}

/** What the whole-configuration checks need (a BrokerConfig has it all). */
export interface SecuritySettings extends ListenerSettings {
  sslKeystoreLocation: string | null;
  sslKeystoreCertificateChain: string | null;
  sslKeystoreKey: string | null;
  sslTruststoreLocation: string | null;
  sslTruststoreCertificates: string | null;
  sslClientAuth: SslClientAuth;
  sslPrincipalMappingRules: string;
  saslEnabledMechanisms: readonly SaslMechanism[];
  saslUsers: readonly SaslUserConfig[];
  saslOauthbearerJwksEndpointUrl: string | null;
  saslOauthbearerAllowUnsecuredJwt: boolean;
  authorizerClassName: string | null;
  superUsers: string | null;
  interBrokerListenerName: string | null;
  saslMechanismInterBrokerProtocol: InterBrokerSaslMechanism;
  saslJaasConfig: string | null;
}

/** The listener brokers reach each other on: `inter.broker.listener.name`, else the first (Kafka's default is its own PLAINTEXT one; Rafka's first listener). */
export function interBrokerListener(listeners: readonly ListenerConfig[], name: string | null): ListenerConfig | undefined {
  return name === null ? listeners[0] : listeners.find((l) => l.name === name.toUpperCase());
}

/**
 * This broker's own username and password from `sasl.jaas.config` (Kafka's PlainLoginModule or
 * ScramLoginModule options), or a problem naming the setting and never the value.
 */
export function interBrokerLogin(jaasConfig: string | null): { username: string; password: string } | string {
  if (jaasConfig === null) return 'sasl.jaas.config: the inter-broker listener uses SASL: give this broker\'s login (a PlainLoginModule or ScramLoginModule with username="…" password="…";)';
  const jaas = parseJaas(jaasConfig);
  if (typeof jaas === 'string') return jaas;
  const username = jaas.options.get('username');
  const password = jaas.options.get('password');
  if (!username || !password) return 'sasl.jaas.config: give both username="…" and password="…"';
  return { username, password };
}

/** The authorizer class Kafka 4 ships, the one `authorizer.class.name` may name. */
export const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';

/** `super.users` as Kafka splits it: `User:a;User:b`, each `Type:name`. */
export function parseSuperUsers(value: string | null): string[] {
  if (value === null) return [];
  return value.split(';').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Problems of the security settings taken together (each line names the setting); empty when none.
 * No message repeats a key, a password or a file's content. `clustered`: the broker shares its
 * storage with other brokers (the `postgres` engine) and so talks to them; a broker alone never
 * logs in to another, so it needs no inter-broker login of its own.
 */
export function securityProblems(c: SecuritySettings, clustered: boolean): string[] {
  const listeners = resolveListeners(c);
  if (listeners.length > 0 && typeof listeners[0] === 'string') return listeners as string[];
  const problems: string[] = [];
  const resolved = listeners as ListenerConfig[];
  const rules = parsePrincipalRules(c.sslPrincipalMappingRules);
  if (typeof rules === 'string') problems.push(`ssl.principal.mapping.rules: ${rules}`);
  const inlineKey = c.sslKeystoreCertificateChain !== null || c.sslKeystoreKey !== null;
  problems.push(
    ...pemStoreProblems('ssl', {
      location: c.sslKeystoreLocation,
      certificateChain: c.sslKeystoreCertificateChain,
      key: c.sslKeystoreKey,
      truststoreLocation: c.sslTruststoreLocation,
      truststoreCertificates: c.sslTruststoreCertificates,
    }),
  );
  const tls = resolved.filter((l) => l.protocol === 'SSL' || l.protocol === 'SASL_SSL');
  if (tls.length > 0 && c.sslKeystoreLocation === null && !inlineKey) {
    problems.push(`ssl.keystore.location: listener ${tls[0]!.name} uses TLS and needs a keystore (ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key)`);
  }
  if (tls.length > 0 && c.sslClientAuth !== 'none' && c.sslTruststoreLocation === null && c.sslTruststoreCertificates === null) {
    problems.push(`ssl.client.auth: ${c.sslClientAuth} needs a truststore to check client certificates against (ssl.truststore.location or ssl.truststore.certificates)`);
  }
  const saslListener = resolved.some((l) => l.protocol === 'SASL_PLAINTEXT' || l.protocol === 'SASL_SSL');
  if (saslListener && c.saslEnabledMechanisms.includes('OAUTHBEARER') && c.saslOauthbearerJwksEndpointUrl === null && !c.saslOauthbearerAllowUnsecuredJwt) {
    problems.push('sasl.enabled.mechanisms: OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url (or sasl.oauthbearer.allow.unsecured.jwt: true, for tests only)');
  }
  if (c.saslOauthbearerJwksEndpointUrl !== null && !/^(https?|file):\/\/./.test(c.saslOauthbearerJwksEndpointUrl)) {
    problems.push('sasl.oauthbearer.jwks.endpoint.url: must be an https://, http:// or file:// URL');
  }
  if (c.authorizerClassName !== null && c.authorizerClassName !== '' && c.authorizerClassName !== STANDARD_AUTHORIZER) {
    problems.push(`authorizer.class.name: only ${STANDARD_AUTHORIZER} is supported`);
  }
  for (const p of parseSuperUsers(c.superUsers)) {
    if (!/^[^:]+:.+$/.test(p)) problems.push(`super.users: ${JSON.stringify(p)} is not a principal (Type:name, e.g. User:admin)`);
  }
  const interBroker = interBrokerListener(resolved, c.interBrokerListenerName);
  if (interBroker === undefined) problems.push(`inter.broker.listener.name: ${c.interBrokerListenerName} is not one of the listeners (${resolved.map((l) => l.name).join(', ')})`);
  else if (clustered && (interBroker.protocol === 'SASL_PLAINTEXT' || interBroker.protocol === 'SASL_SSL')) {
    // As Kafka's KafkaConfig checks: the inter-broker mechanism must be one the listeners offer.
    if (!c.saslEnabledMechanisms.includes(c.saslMechanismInterBrokerProtocol)) {
      problems.push(`sasl.mechanism.inter.broker.protocol: ${c.saslMechanismInterBrokerProtocol} must be in sasl.enabled.mechanisms when the inter-broker listener (${interBroker.name}) uses SASL`);
    }
    const login = interBrokerLogin(c.saslJaasConfig);
    if (typeof login === 'string') problems.push(login);
  }
  for (const u of c.saslUsers) {
    for (const m of u.mechanisms ?? []) {
      if (m === 'OAUTHBEARER') problems.push(`sasl.users: user "${u.name}": OAUTHBEARER users come from their tokens, not from sasl.users`);
      else if (!c.saslEnabledMechanisms.includes(m)) problems.push(`sasl.users: user "${u.name}" may use ${m}, which is not in sasl.enabled.mechanisms`);
    }
    if ((u.password === undefined) === (u.passwordFile === undefined)) problems.push(`sasl.users: user "${u.name}": give exactly one of password and password_file`);
  }
  return problems;
}
