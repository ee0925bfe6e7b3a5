/**
 * The broker's HTTP endpoint (`http.listener`, issue 21): `GET /metrics` (Prometheus text format),
 * `GET /health` (the process is alive and its event loop answers) and `GET /ready` (storage recovered,
 * the Kafka listener accepting, not shutting down; 503 otherwise). Started before the broker so that
 * /health and /ready answer during a long recovery, closed after it.
 *
 * Two threads: a worker (front-worker.ts) listens, holds the connections, speaks HTTP and TLS and
 * writes /metrics with prom-client; this thread routes, authenticates and answers each request from
 * plain data (HttpRequest, HttpResponse), so that the broker's thread runs no node:http, no stream of
 * an HTTP connection and no prom-client (front-protocol.ts says why).
 *
 * Routes are a table of exact paths; `mount(prefix, handler)` serves everything under a prefix: the
 * web console (src/console/, an HttpExtension) is mounted at `/` (exact paths win).
 *
 * Limits (limits.ts): HTTP_MAX_CONNECTIONS open connections; requests must arrive within
 * HTTP_REQUEST_TIMEOUT_MS; GET/HEAD only (405 otherwise), except under a mount that names more methods
 * (the console's /api/, which reads bodies within its own limit: HttpRequest.readBody).
 * Authentication (auth.ts): when the broker has SASL users or listeners or the authorizer on, every
 * path but `http.auth.exempt` (/health, /ready) needs HTTP Basic (the Kafka port's SCRAM/PLAIN
 * credentials) or a Bearer JWT (OAUTHBEARER's validator), else 401; /metrics then needs DESCRIBE on
 * the cluster (403 otherwise), as describing the broker over Kafka does. Without any of that the
 * endpoint is open: it is off by default and meant for 127.0.0.1 or a private network
 * (docs/operations.md, docs/security.md).
 * TLS (`http.ssl.enabled`): the port speaks HTTPS only; a plain-HTTP request is answered 400 and
 * closed, never served. With `http.ssl.client.auth` a trusted client certificate is the principal
 * (auth.ts), as on an SSL listener. The keystore's reloads reach the worker.
 *
 * Callers: src/broker/index.ts (startBroker); handlers run on the broker's event loop.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type workerThreads from 'node:worker_threads';
import type { Broker } from '../broker.js';
import type { MetricFamily } from '../metrics/families.js';
import type { BrokerMetrics } from '../metrics/metrics.js';
import { startProcessMetrics } from '../metrics/process.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { TlsMaterial } from '../security/tls.js';
import { httpSslProblems, httpTlsStores } from '../../config/tls-stores.js';
import { HttpAuthenticator, httpPrincipal } from './auth.js';
import type { FromFront, FrontInit, PeerTls, ToFront } from './front-protocol.js';

export { HTTP_MAX_CONNECTIONS, HTTP_REQUEST_TIMEOUT_MS } from './limits.js';

// require(), not import: an ESM import of a built-in reads every one of its exports (front-worker.ts).
const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof workerThreads;

/** After the worker fails, the next one starts this much later at the soonest. */
const FRONT_RESTART_DELAY_MS = 1_000;

export type HttpHandler = (req: HttpRequest, res: HttpResponse) => void | Promise<void>;

/**
 * Something served beside /metrics, /health and /ready, mounted before the endpoint listens: the web
 * console (src/console/, a layer above the broker and the client, so the broker is handed it rather
 * than importing it: startBroker's `httpExtensions`).
 */
export interface HttpExtension {
  readonly name: string;
  mount(endpoint: HttpEndpoint, broker: Broker, metrics: BrokerMetrics): void | Promise<void>;
}

/** `host:port` of `http.listener` split; an IPv6 host loses its brackets. */
export function parseListener(listener: string): { host: string; port: number } {
  const colon = listener.lastIndexOf(':');
  const host = listener.slice(0, colon);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port: Number(listener.slice(colon + 1)) };
}

/** A request as the worker handed it: its head; the body is read on demand. */
export class HttpRequest {
  constructor(
    private readonly endpoint: HttpEndpoint,
    readonly id: number,
    readonly method: string,
    readonly url: string,
    /** Lower-case names, as node:http gives them. */
    readonly headers: IncomingHttpHeaders,
    /** The client's address as the socket has it (an IPv4 client on a dual-stack socket with ::ffff:). */
    readonly remoteAddress: string,
    /** The connection's TLS client certificate; null on plain HTTP. */
    readonly tls: PeerTls | null,
  ) {}

  /**
   * The body, read now, at most `maxBytes` of it: null when it is longer (the rest is never read, and
   * the connection closes after the answer). Read once.
   */
  readBody(maxBytes: number): Promise<Buffer | null> {
    return this.endpoint.readBody(this.id, maxBytes);
  }
}

/**
 * The answer to an HttpRequest, written by the worker when end() (or sendMetrics()) is called: the
 * status and headers given until then go with it.
 */
export class HttpResponse {
  statusCode = 200;
  /** Whether the answer has gone (end(), sendMetrics(), destroy()). */
  headersSent = false;
  /** By lower-case name: the name as first given, and the value. */
  private readonly headers = new Map<string, [string, string | number | readonly string[]]>();

  constructor(
    private readonly endpoint: HttpEndpoint,
    readonly req: HttpRequest,
  ) {}

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.headers.set(name.toLowerCase(), [name, value]);
    return this;
  }

  writeHead(status: number, headers: Record<string, string | number | readonly string[]> = {}): this {
    this.statusCode = status;
    for (const [name, value] of Object.entries(headers)) this.setHeader(name, value);
    return this;
  }

  end(body?: string | Uint8Array): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const headers: Record<string, string | number | readonly string[]> = {};
    for (const [name, value] of this.headers.values()) headers[name] = value;
    this.endpoint.post({ kind: 'response', id: this.req.id, status: this.statusCode, headers, body: body ?? null });
  }

  /** Answer 200 with `families` in Prometheus's text format, written by the worker. */
  sendMetrics(families: readonly MetricFamily[]): void {
    if (this.headersSent) return;
    // Figures that cannot be copied to the worker (a bug) throw here, before the answer counts as gone.
    this.endpoint.post({ kind: 'metrics', id: this.req.id, families });
    this.headersSent = true;
  }

  /** Close the connection without an answer (or after part of one). */
  destroy(): void {
    this.headersSent = true;
    this.endpoint.post({ kind: 'destroy', id: this.req.id });
  }
}

interface BodyWait {
  resolve: (body: Buffer | null) => void;
  reject: (err: Error) => void;
}

export class HttpEndpoint {
  private readonly routes = new Map<string, HttpHandler>();
  private readonly mounts: { prefix: string; handler: HttpHandler; methods: readonly string[] }[] = [];
  /** Run by close(), after the listener stops (the console's Kafka clients). */
  private readonly closers: (() => Promise<void>)[] = [];
  /** The worker that listens and holds the connections; null before listen() and after close(). */
  private worker: workerThreads.Worker | null = null;
  /** Bodies asked of the worker, by request id. */
  private readonly bodies = new Map<number, BodyWait>();
  private closing: Promise<void> | null = null;
  /** What listen() bound, kept for after close. */
  private bound: { address: string; family: string; port: number } | null = null;
  private host = '';

  constructor(
    private readonly onError: (message: string) => void,
    /** Null: no authentication (tests of the endpoint alone). */
    readonly auth: HttpAuthenticator | null = null,
    /** Null: plain HTTP; else HTTPS only, with this keystore, truststore and client-auth setting. */
    readonly tls: TlsMaterial | null = null,
    /** Where a failed TLS handshake is told (the broker's log at info, as for an SSL listener). */
    private readonly onInfo: (message: string) => void = () => {},
  ) {
    tls?.onReload((options) => this.post({ kind: 'tls', options }));
  }

  /** Serve `path` exactly. */
  route(path: string, handler: HttpHandler): this {
    this.routes.set(path, handler);
    return this;
  }

  /**
   * Serve every path under `prefix` (e.g. `/` for a console); exact routes win, then the longest
   * prefix. `methods` besides GET and HEAD reach the handler, which must bound any body it reads.
   */
  mount(prefix: string, handler: HttpHandler, methods: readonly string[] = ['GET', 'HEAD']): this {
    this.mounts.push({ prefix, handler, methods });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  /**
   * Listen on `listener` (`host:port`). A listen error is rejected with `listener: 'http'` on it, so
   * the CLI names http.listener rather than the Kafka port.
   */
  async listen(listener: string): Promise<void> {
    const { host, port } = parseListener(listener);
    this.host = host;
    const worker = this.start(port);
    const bound = await new Promise<FromFront & { kind: 'listening' }>((resolve, reject) => {
      const onMessage = (m: FromFront) => {
        if (m.kind === 'listening') {
          worker.off('message', onMessage);
          resolve(m);
        } else if (m.kind === 'listen-error') {
          worker.off('message', onMessage);
          reject(Object.assign(new Error(m.message), { listener: 'http', ...(m.code !== null ? { code: m.code } : {}) }));
        }
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => reject(Object.assign(new Error(`the HTTP endpoint's worker exited (code ${code}) before listening`), { listener: 'http' })));
    }).catch(async (err: unknown) => {
      this.worker = null;
      await worker.terminate();
      throw err;
    });
    this.bound = { address: bound.address, family: bound.family, port: bound.port };
  }

  /** `http://host:port` (`https://` with TLS) as bound (the port chosen when 0 was asked for). */
  get url(): string {
    const a = this.bound;
    if (a === null) throw new Error('the HTTP endpoint is not listening');
    return `${this.tls === null ? 'http' : 'https'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Run `fn` when the endpoint closes, after it stops listening. */
  onClose(fn: () => Promise<void>): this {
    this.closers.push(fn);
    return this;
  }

  /** Stop listening and close every connection, idle or not (a scraper's keep-alive must not hold the process). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.tls?.close();
      const worker = this.worker;
      this.worker = null;
      if (worker !== null) {
        await new Promise<void>((resolve) => {
          worker.on('message', (m: FromFront) => m.kind === 'closed' && resolve());
          worker.once('exit', () => resolve());
          worker.postMessage({ kind: 'close' } satisfies ToFront);
        });
        await worker.terminate();
      }
      this.failBodies(new Error('the HTTP endpoint closed'));
      for (const fn of this.closers) await fn().catch((err: unknown) => this.onError(`http close: ${(err as Error).message}`));
    })();
    return this.closing;
  }

  /** A message to the worker; dropped when there is none (closed, or between a failure and its restart). */
  post(m: ToFront): void {
    this.worker?.postMessage(m);
  }

  /** HttpRequest.readBody. */
  readBody(id: number, maxBytes: number): Promise<Buffer | null> {
    if (this.worker === null) return Promise.reject(new Error('the HTTP endpoint is not serving'));
    if (this.bodies.has(id)) return Promise.reject(new Error('the body is already being read'));
    return new Promise((resolve, reject) => {
      this.bodies.set(id, { resolve, reject });
      this.post({ kind: 'read-body', id, maxBytes });
    });
  }

  /** The worker for `port`, with its messages wired; restarted after a failure while the endpoint is open. */
  private start(port: number): workerThreads.Worker {
    const init: FrontInit = {
      host: this.host,
      port,
      tls: this.tls === null ? null : { options: this.tls.options, requestCert: this.tls.requestCert, rejectUnauthorized: this.tls.rejectUnauthorized },
    };
    // None of the broker's Node flags: the worker needs plain Node, and some flags are refused in a
    // worker (`--input-type`, which a broker started from `node -e` carries).
    const worker = new Worker(new URL('./front-worker.js', import.meta.url), { workerData: init, execArgv: [] });
    this.worker = worker;
    worker.on('message', (m: FromFront) => this.fromWorker(m));
    worker.on('error', (err) => this.onError(`http endpoint worker: ${err.stack ?? err.message}`));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failBodies(new Error('the HTTP endpoint worker stopped'));
      if (this.bound === null) return; // failed before listening: listen() rejects
      this.onError(`the HTTP endpoint's worker exited (code ${code}); starting another`);
      setTimeout(() => {
        if (this.closing === null && this.worker === null) this.start(this.bound!.port);
      }, FRONT_RESTART_DELAY_MS).unref();
    });
    return worker;
  }

  private failBodies(err: Error): void {
    for (const w of this.bodies.values()) w.reject(err);
    this.bodies.clear();
  }

  private fromWorker(m: FromFront): void {
    switch (m.kind) {
      case 'request': {
        const req = new HttpRequest(this, m.id, m.method, m.url, m.headers, m.remoteAddress, m.tls);
        return this.dispatch(req, new HttpResponse(this, req));
      }
      case 'body': {
        const w = this.bodies.get(m.id);
        if (w === undefined) return;
        this.bodies.delete(m.id);
        if (m.error !== null) w.reject(new Error(m.error));
        else w.resolve(m.over ? null : Buffer.from(m.body!.buffer, m.body!.byteOffset, m.body!.byteLength));
        return;
      }
      case 'log':
        return m.level === 'error' ? this.onError(m.message) : this.onInfo(m.message);
      case 'listen-error':
        // A restarted worker that could not take the port again (the first listen() rejects instead).
        if (this.bound !== null) this.onError(`http listener: ${m.message}`);
        return;
      default:
        return; // listening, closed: awaited by listen() and close()
    }
  }

  private dispatch(req: HttpRequest, res: HttpResponse): void {
    const path = req.url.split('?', 1)[0]!;
    const exact = this.routes.get(path);
    const mount = exact === undefined ? this.mounts.find((m) => path.startsWith(m.prefix)) : undefined;
    const handler = exact ?? mount?.handler;
    if (handler === undefined) return send(res, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
    const methods = mount?.methods ?? ['GET', 'HEAD'];
    if (!methods.includes(req.method)) {
      res.setHeader('Allow', methods.join(', '));
      return send(res, 405, 'text/plain; charset=utf-8', `method ${req.method} not allowed\n`);
    }
    Promise.resolve()
      .then(async () => {
        const refused = this.auth === null ? null : await this.auth.authenticate(req, path);
        if (refused === null) return handler(req, res);
        res.setHeader('WWW-Authenticate', refused.challenge);
        sendJson(res, 401, { error: refused.message });
      })
      .catch((err: unknown) => {
        this.onError(`http ${req.method} ${path}: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy();
      });
  }
}

export function send(res: HttpResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: HttpResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value) + '\n');
}

/** The endpoint with its three routes and the extensions, listening; `broker.http` closes it after the broker. */
export async function startHttpEndpoint(broker: Broker, metrics: BrokerMetrics, listener: string, extensions: readonly HttpExtension[] = []): Promise<HttpEndpoint> {
  const problems = httpSslProblems(broker.config);
  if (problems.length > 0) throw new Error(`invalid HTTP endpoint configuration:\n${problems.join('\n')}`);
  startProcessMetrics();
  const auth = new HttpAuthenticator(broker);
  let tls: TlsMaterial | null = null;
  if (broker.config.httpSslEnabled) {
    tls = new TlsMaterial(httpTlsStores(broker.config), broker.log);
    tls.watch();
  }
  const endpoint = new HttpEndpoint((m) => broker.log.error(m), auth, tls, (m) => broker.log.info(m))
    .route('/health', (_req, res) => sendJson(res, 200, { status: 'alive' }))
    .route('/ready', (_req, res) => {
      const r = broker.readiness();
      sendJson(res, broker.isReady ? 200 : 503, { ready: broker.isReady, ...r });
    })
    .route('/metrics', async (req, res) => {
      if (!auth.authorize(req, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
        return sendJson(res, 403, { error: `${httpPrincipal(req).principal} may not DESCRIBE the cluster (needed for /metrics)` });
      }
      res.sendMetrics(metrics.exposed());
    });
  try {
    for (const e of extensions) await e.mount(endpoint, broker, metrics);
    await endpoint.listen(listener);
  } catch (err) {
    await endpoint.close(); // the keystore watch and what the extensions started
    throw err;
  }
  broker.http = endpoint;
  return endpoint;
}
