/**
 * The broker's HTTP endpoint (`http.listener`, issue 21): `GET /metrics` (Prometheus text format),
 * `GET /health` (the process is alive and its event loop answers) and `GET /ready` (storage recovered,
 * the Kafka listener accepting, not shutting down; 503 otherwise). Started before the broker so that
 * /health and /ready answer during a long recovery, closed after it.
 *
 * Routes are a table of exact paths; `mount(prefix, handler)` serves everything under a prefix: the
 * web console (src/console/, an HttpExtension) is mounted at `/` (exact paths win).
 *
 * Limits: HTTP_MAX_CONNECTIONS open connections (past it Node closes new ones at once); requests must
 * arrive within HTTP_REQUEST_TIMEOUT_MS; GET/HEAD only (405 otherwise), except under a mount that
 * names more methods (the console's /api/, which reads bodies within its own limit).
 * Authentication (auth.ts): when the broker has SASL users or listeners or the authorizer on, every
 * path but `http.auth.exempt` (/health, /ready) needs HTTP Basic (the Kafka port's SCRAM/PLAIN
 * credentials) or a Bearer JWT (OAUTHBEARER's validator), else 401; /metrics then needs DESCRIBE on
 * the cluster (403 otherwise), as describing the broker over Kafka does. Without any of that the
 * endpoint is open: it is off by default and meant for 127.0.0.1 or a private network
 * (docs/operations.md, docs/security.md).
 * TLS (`http.ssl.enabled`): the port speaks HTTPS only. Its first byte tells a TLS ClientHello (0x16)
 * from anything else; a plain-HTTP request is answered one 400 saying to use https:// and closed, never
 * served (a Basic password sent that way has crossed in clear once, and must not be rewarded). With
 * `http.ssl.client.auth` a trusted client certificate is the principal (auth.ts), as on an SSL listener.
 *
 * Callers: src/broker/index.ts (startBroker); requests run on the broker's event loop.
 */
import type httpModule from 'node:http';
import type httpsModule from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Broker } from '../broker.js';
import type { BrokerMetrics } from '../metrics/metrics.js';
import { exposition } from '../metrics/exposition.js';
import { startProcessMetrics } from '../metrics/process.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { TlsMaterial } from '../security/tls.js';
import { httpSslProblems, httpTlsStores } from '../../config/tls-stores.js';
import { HttpAuthenticator, httpPrincipal } from './auth.js';

/**
 * node:http through require(), not import: an ESM import of a built-in reads every one of its
 * exports, and on Node 24 node:http's `WebSocket`, `CloseEvent` and `MessageEvent` are lazy getters
 * that load undici (770 KB of source) and http2. A broker with the endpoint on held 1.6 MB more live
 * heap on Node 24.22 with the import than with require(), and every mark-compact of a busy broker
 * walks it: each one cost 38 % more instructions than a metrics-off broker's with the import, 18 %
 * with require() (14 % on Node 20, which has no such getters; bench/README.md, "Session 12").
 */
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof httpModule;

/** Open HTTP connections at most: scrapers and probes need a handful. */
export const HTTP_MAX_CONNECTIONS = 64;
/** A request's headers must have arrived within this (slowloris); on a TLS port, its first byte too. */
export const HTTP_REQUEST_TIMEOUT_MS = 10_000;
/** First byte of a TLS record carrying a handshake (a ClientHello): RFC 8446 §5.1 ContentType 22. */
const TLS_HANDSHAKE_RECORD = 0x16;
/** What a plain-HTTP request to the TLS port is answered, before the connection closes. */
const PLAIN_HTTP_REFUSAL = 'this endpoint speaks HTTPS only (http.ssl.enabled): use https://\n';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

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

export class HttpEndpoint {
  private readonly routes = new Map<string, HttpHandler>();
  private readonly mounts: { prefix: string; handler: HttpHandler; methods: readonly string[] }[] = [];
  /** Run by close(), after the listener stops (the console's Kafka clients). */
  private readonly closers: (() => Promise<void>)[] = [];
  /** Serves the requests: an http.Server, or with TLS an https.Server that is handed each connection. */
  private readonly server: httpModule.Server;
  /** With TLS: what listens, and hands a connection whose first byte is a ClientHello to `server`. */
  private readonly front: net.Server | null = null;
  /**
   * With TLS: every open connection to the port, destroyed by close() (the HTTPS server's
   * closeAllConnections knows only those past the handshake).
   */
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | null = null;
  /** What listen() bound, kept for after close. */
  private bound: AddressInfo | null = null;

  constructor(
    private readonly onError: (message: string) => void,
    /** Null: no authentication (tests of the endpoint alone). */
    readonly auth: HttpAuthenticator | null = null,
    /** Null: plain HTTP; else HTTPS only, with this keystore, truststore and client-auth setting. */
    readonly tls: TlsMaterial | null = null,
    /** Where a failed TLS handshake is told (the broker's log at info, as for an SSL listener). */
    private readonly onInfo: (message: string) => void = () => {},
  ) {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.dispatch(req, res);
    if (tls === null) {
      this.server = http.createServer(onRequest);
      this.server.maxConnections = HTTP_MAX_CONNECTIONS;
    } else {
      // node:https only with TLS on: a module loaded is heap that every mark-compact walks.
      const https = require('node:https') as typeof httpsModule;
      const server = https.createServer({ ...tls.options, requestCert: tls.requestCert, rejectUnauthorized: tls.rejectUnauthorized }, onRequest);
      tls.onReload((options) => server.setSecureContext(options));
      // An untrusted or missing required client certificate, or a TLS version not enabled: logged as
      // the SSL listener logs a failed SSL authentication (broker.ts), and the socket destroyed.
      server.on('tlsClientError', (err, socket) => {
        this.onInfo(`Failed authentication with ${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0} (HTTP: TLS handshake failed: ${err.message})`);
        socket.destroy();
      });
      this.server = server;
      this.front = net.createServer((socket) => this.sniff(socket));
      this.front.maxConnections = HTTP_MAX_CONNECTIONS;
    }
    this.server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = HTTP_REQUEST_TIMEOUT_MS;
  }

  /**
   * A connection to the TLS port: its first bytes go back on the socket and it goes to the HTTPS
   * server when they start a TLS handshake; anything else (plain HTTP) is answered 400 and closed.
   */
  private sniff(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(HTTP_REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        socket.unshift(chunk);
        this.server.emit('connection', socket);
        return;
      }
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(PLAIN_HTTP_REFUSAL)}\r\nConnection: close\r\n\r\n${PLAIN_HTTP_REFUSAL}`,
      );
    });
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
    const listening = this.front ?? this.server;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(Object.assign(err, { listener: 'http' }));
      listening.once('error', fail);
      listening.listen({ host, port }, () => {
        listening.off('error', fail);
        resolve();
      });
    });
    listening.on('error', (err) => this.onError(`http listener: ${err.message}`));
    this.bound = listening.address() as AddressInfo;
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
    this.closing ??= new Promise<void>((resolve) => {
      this.tls?.close();
      const listening = this.front ?? this.server;
      if (!listening.listening) return resolve();
      listening.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.server.closeAllConnections();
    }).then(async () => {
      for (const fn of this.closers) await fn().catch((err: unknown) => this.onError(`http close: ${(err as Error).message}`));
    });
    return this.closing;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const exact = this.routes.get(path);
    const mount = exact === undefined ? this.mounts.find((m) => path.startsWith(m.prefix)) : undefined;
    const handler = exact ?? mount?.handler;
    if (handler === undefined) return send(res, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
    const methods = mount?.methods ?? ['GET', 'HEAD'];
    if (!methods.includes(req.method ?? '')) {
      res.setHeader('Allow', methods.join(', '));
      return send(res, 405, 'text/plain; charset=utf-8', `method ${req.method ?? ''} not allowed\n`);
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

export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
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
      const { text, contentType } = await metrics.scrape();
      send(res, 200, contentType, text);
    });
  // The exposition worker (started at the first scrape) lives as long as an endpoint is open.
  exposition.retain();
  endpoint.onClose(() => exposition.release());
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
