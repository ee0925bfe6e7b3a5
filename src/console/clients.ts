/**
 * The console's Kafka clients: per principal one Admin and one Producer, made on first use and closed
 * with the HTTP endpoint, when CONSOLE_MAX_IDENTITIES newer ones push them out, when unused for
 * CONSOLE_CLIENT_IDLE_MS, or at once when the SCRAM credential of the user they logged in as changes
 * (the HTTP layer refuses the old password from then on, so they could never be used again, yet
 * would stay logged in with it); and a Consumer per browse (assigned one partition, closed after). They connect to a listener of this broker as any
 * client would, so what the console does passes the broker's validation, hooks and authorizer like a
 * request from outside — as the principal the HTTP endpoint authenticated (src/broker/http/auth.ts):
 * - a caller who logged in with a password (HTTP Basic) logs in with it over a SASL listener that
 *   offers the mechanism the password matched (SASL_PLAINTEXT first, else SASL_SSL); a Bearer caller
 *   with the same token over OAUTHBEARER. The password stays in the memory of those clients only.
 * - an anonymous caller (the endpoint does not authenticate: no SASL and no authorizer) goes through
 *   a PLAINTEXT listener, else an SSL one.
 * - no such listener (e.g. the authorizer on with PLAINTEXT and SSL listeners only, where every Kafka
 *   client is ANONYMOUS or a certificate): the PLAINTEXT or SSL listener as ANONYMOUS, where the
 *   broker's ACLs for User:ANONYMOUS apply on top of the console's own check.
 * Over TLS the console trusts exactly this broker's own certificate (the keystore's first, pinned as
 * the only trust anchor: it connects to itself), without a client certificate: an SSL listener with
 * `ssl.client.auth: required` cannot serve the console, which then answers 503 saying so.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { HttpRequest } from '../broker/http/server.js';
import { fileURLToPath } from 'node:url';
import type { Broker } from '../broker/broker.js';
import { httpPrincipal, type HttpLogin } from '../broker/http/auth.js';
import { Admin } from '../client/admin.js';
import { Producer } from '../client/producer.js';
import { Consumer } from '../client/consumer.js';
import type { ClusterOptions } from '../client/cluster.js';
import { ApiError } from './http-json.js';

/** client.id of the console's connections, as the broker's request log and metrics show it. */
export const CONSOLE_CLIENT_ID = 'rafka-console';
/** A console action's Kafka requests give up after this (the HTTP request with them). */
const CONSOLE_REQUEST_TIMEOUT_MS = 10_000;
/** Principals (logins) whose Admin and Producer are kept open at most; the least recently used closes first. */
export const CONSOLE_MAX_IDENTITIES = 16;
/**
 * A principal's Admin and Producer unused for this long are closed (made again on its next request).
 * As long as AUTH_CACHE_TTL_MS, after which the HTTP layer checks a password again, and well past a console
 * request's CONSOLE_REQUEST_TIMEOUT_MS, so no request still uses what closes.
 */
export const CONSOLE_CLIENT_IDLE_MS = 60_000;
/** Idle clients are looked for this often at most (a quarter of the idle time below that). */
const CONSOLE_IDLE_CHECK_MS = 15_000;

interface ClientSet {
  options: ClusterOptions;
  admin: Promise<Admin> | null;
  producer: Promise<Producer> | null;
  /** The user a password login names: its clients close when that user's SCRAM credential changes. */
  user: string | null;
  lastUsedMs: number;
}

export class ConsoleClients {
  /** By a keyed hash of the login (never the password itself as a key), least recently used first. */
  private readonly sets = new Map<string, ClientSet>();
  private readonly consumers = new Set<Consumer>();
  private readonly key = randomBytes(32);
  private closed = false;
  /** Rafka's version, from package.json. */
  readonly version = packageVersion();

  private readonly idleTimer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly broker: Broker,
    /** CONSOLE_CLIENT_IDLE_MS but in tests. */
    private readonly idleMs = CONSOLE_CLIENT_IDLE_MS,
  ) {
    this.idleTimer = setInterval(() => this.closeIdle(), Math.min(CONSOLE_IDLE_CHECK_MS, Math.max(1, idleMs / 4)));
    this.idleTimer.unref();
    this.unsubscribe = broker.security.credentials.onChange((user) => this.closeUser(user));
  }

  /** Principals whose Admin and Producer are open (tests, diagnostics). */
  get openIdentities(): number {
    return this.sets.size;
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [id, set] of this.sets) {
      if (now - set.lastUsedMs < this.idleMs) continue;
      this.sets.delete(id);
      void closeSet(set);
    }
  }

  /** The user's credential changed: its clients logged in with a password the HTTP layer now refuses. */
  private closeUser(user: string): void {
    for (const [id, set] of this.sets) {
      if (set.user !== user) continue;
      this.sets.delete(id);
      void closeSet(set);
    }
  }

  /** The client set of `req`'s principal, made (with its connection options) on first use. */
  private set(req: HttpRequest): ClientSet {
    if (this.closed) throw new ApiError(503, 'the broker is shutting down');
    const login = httpPrincipal(req).login;
    const id = createHmac('sha256', this.key).update(JSON.stringify(login)).digest('base64');
    let set = this.sets.get(id);
    if (set !== undefined) {
      this.sets.delete(id);
      this.sets.set(id, set);
      set.lastUsedMs = Date.now();
      return set;
    }
    set = { options: this.options(login), admin: null, producer: null, user: login.kind === 'password' ? login.user : null, lastUsedMs: Date.now() };
    if (this.sets.size >= CONSOLE_MAX_IDENTITIES) {
      const [oldest, old] = this.sets.entries().next().value!;
      this.sets.delete(oldest);
      void closeSet(old);
    }
    this.sets.set(id, set);
    return set;
  }

  private options(login: HttpLogin): ClusterOptions {
    const listeners = this.broker.listeners;
    const mechanisms: readonly string[] = this.broker.config.saslEnabledMechanisms;
    const mechanism = login.kind === 'password' ? login.mechanism : login.kind === 'bearer' ? 'OAUTHBEARER' : null;
    const byProtocol = (p: string) => listeners.find((l) => l.config.protocol === p);
    const sasl = mechanism !== null && mechanisms.includes(mechanism) ? (byProtocol('SASL_PLAINTEXT') ?? byProtocol('SASL_SSL')) : undefined;
    const l = sasl ?? byProtocol('PLAINTEXT') ?? byProtocol('SSL');
    if (l === undefined) throw new ApiError(503, `the console has no listener of this broker to act through: it needs a SASL listener offering ${mechanism ?? 'the caller\'s mechanism'}, or a PLAINTEXT or SSL one`);
    if (l.config.protocol === 'SSL' && this.broker.config.sslClientAuth === 'required') {
      throw new ApiError(503, `the console acts through the SSL listener ${l.name}, which requires a client certificate the console does not have`);
    }
    const base: ClusterOptions = { bootstrap: `${l.advertisedHost}:${l.advertisedPort}`, clientId: CONSOLE_CLIENT_ID, requestTimeoutMs: CONSOLE_REQUEST_TIMEOUT_MS, allowAutoTopicCreation: false };
    return {
      ...base,
      ...(l.tls ? { ssl: this.pinnedTls() } : {}),
      ...(l !== sasl
        ? {}
        : login.kind === 'password'
          ? { sasl: { mechanism: login.mechanism as 'PLAIN', username: login.user, password: login.password } }
          : login.kind === 'bearer'
            ? { sasl: { mechanism: 'OAUTHBEARER' as const, oauthBearerProvider: () => ({ value: login.token }) } }
            : {}),
    };
  }

  /**
   * TLS to this broker itself: its own certificate (the first of the keystore's chain) as the only
   * trust anchor (allowPartialTrustChain: a leaf signed by a CA still anchors), so the name it
   * carries need not be the advertised host.
   */
  private pinnedTls(): ClusterOptions['ssl'] {
    const material = this.broker.security.tls;
    const chain = String(material?.options.cert ?? '');
    const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chain)?.[0];
    if (leaf === undefined) throw new ApiError(503, 'the console cannot read this broker\'s own certificate to connect over TLS');
    return { ca: [leaf], allowPartialTrustChain: true, checkServerIdentity: () => undefined } as ClusterOptions['ssl'];
  }

  admin(req: HttpRequest): Promise<Admin> {
    const set = this.set(req);
    set.admin ??= Promise.resolve().then(() => new Admin(set.options));
    return set.admin.catch((err: unknown) => {
      set.admin = null;
      throw err;
    });
  }

  producer(req: HttpRequest): Promise<Producer> {
    const set = this.set(req);
    set.producer ??= Promise.resolve().then(() => new Producer({ ...set.options, acks: 'all', lingerMs: 0, deliveryTimeoutMs: CONSOLE_REQUEST_TIMEOUT_MS }));
    return set.producer.catch((err: unknown) => {
      set.producer = null;
      throw err;
    });
  }

  /** A consumer without a group and without committing; the caller closes it (it is also closed with the console). */
  consumer(req: HttpRequest): Consumer {
    const c = new Consumer({ ...this.set(req).options, autoCommit: false, autoOffsetReset: 'earliest', maxWaitMs: 100 });
    this.consumers.add(c);
    const close = c.close.bind(c);
    c.close = async () => {
      this.consumers.delete(c);
      await close();
    };
    return c;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleTimer);
    this.unsubscribe();
    const sets = [...this.sets.values()];
    this.sets.clear();
    await Promise.allSettled([...sets.map(closeSet), ...[...this.consumers].map((c) => c.close())]);
  }
}

async function closeSet(set: ClientSet): Promise<void> {
  const { admin, producer } = set;
  set.admin = set.producer = null;
  await Promise.allSettled([admin?.then((a) => a.close()), producer?.then((p) => p.close({ timeoutMs: 1000 }))]);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
