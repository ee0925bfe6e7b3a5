/**
 * The HTTP endpoint's worker thread: it listens, owns every socket, speaks HTTP (node:http) and TLS,
 * and writes /metrics with prom-client. Each request's head goes to the broker's thread, which routes,
 * authenticates and answers (server.ts); the body is read only when that thread asks for it, within
 * the limit it gives. The protocol is front-protocol.ts, which says why the work is split this way.
 *
 * Limits (limits.ts): HTTP_MAX_CONNECTIONS open connections (past it Node closes new ones at once);
 * a request's headers within HTTP_REQUEST_TIMEOUT_MS. With TLS the port speaks HTTPS only: its first
 * byte tells a TLS ClientHello (0x16) from anything else, and a plain-HTTP request is answered one 400
 * saying to use https:// and closed, never served (a Basic password sent that way has crossed in clear
 * once, and must not be rewarded).
 *
 * A request the broker's thread has not answered when its connection closes is forgotten here; the
 * answer, when it comes, is dropped.
 */
import type httpModule from 'node:http';
import type httpsModule from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import { peerSubject } from '../security/tls.js';
import type { FromFront, FrontInit, PeerTls, ToFront } from './front-protocol.js';
import { HTTP_MAX_CONNECTIONS, HTTP_REQUEST_TIMEOUT_MS } from './limits.js';

// require(), not import: an ESM import of a built-in reads every one of its exports, and on Node 24
// node:http's `WebSocket`, `CloseEvent` and `MessageEvent` are lazy getters that load undici and
// http2 (bench/README.md, "Session 12"): megabytes of heap this thread has no use for.
const require = createRequire(import.meta.url);

/** First byte of a TLS record carrying a handshake (a ClientHello): RFC 8446 §5.1 ContentType 22. */
const TLS_HANDSHAKE_RECORD = 0x16;
/** What a plain-HTTP request to the TLS port is answered, before the connection closes. */
const PLAIN_HTTP_REFUSAL = 'this endpoint speaks HTTPS only (http.ssl.enabled): use https://\n';

const port = parentPort!;
const init = workerData as FrontInit;
const post = (m: FromFront): void => port.postMessage(m);

interface Open {
  req: IncomingMessage;
  res: ServerResponse;
  /** The body has been asked for (it is read once). */
  reading: boolean;
}

/** Requests handed to the broker's thread and not yet answered, by id. */
const open = new Map<number, Open>();
let nextId = 1;
/** prom-client and the text format, loaded at the first /metrics. */
let exposition: Promise<typeof import('../metrics/exposition-text.js')> | null = null;

const server: httpModule.Server = init.tls === null ? (require('node:http') as typeof httpModule).createServer(onRequest) : httpsServer(init.tls);
/** With TLS: what listens, and hands a connection whose first byte is a ClientHello to `server`. */
const front: net.Server | null = init.tls === null ? null : net.createServer(sniff);
/** With TLS: every open connection to the port, destroyed at close (the HTTPS server's closeAllConnections knows only those past the handshake). */
const sockets = new Set<Socket>();
server.maxConnections = HTTP_MAX_CONNECTIONS;
server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
server.headersTimeout = HTTP_REQUEST_TIMEOUT_MS;
if (front !== null) front.maxConnections = HTTP_MAX_CONNECTIONS;

function httpsServer(tls: NonNullable<FrontInit['tls']>): httpModule.Server {
  const https = require('node:https') as typeof httpsModule;
  const s = https.createServer({ ...tls.options, requestCert: tls.requestCert, rejectUnauthorized: tls.rejectUnauthorized }, onRequest);
  // An untrusted or missing required client certificate, or a TLS version not enabled: logged as the
  // SSL listener logs a failed SSL authentication (broker.ts), and the socket destroyed.
  s.on('tlsClientError', (err, socket) => {
    post({ kind: 'log', level: 'info', message: `Failed authentication with ${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0} (HTTP: TLS handshake failed: ${err.message})` });
    socket.destroy();
  });
  return s;
}

/**
 * A connection to the TLS port: its first bytes go back on the socket and it goes to the HTTPS
 * server when they start a TLS handshake; anything else (plain HTTP) is answered 400 and closed.
 */
function sniff(socket: Socket): void {
  sockets.add(socket);
  socket.setTimeout(HTTP_REQUEST_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.once('close', () => sockets.delete(socket));
  socket.once('data', (chunk: Buffer) => {
    socket.setTimeout(0);
    socket.pause();
    if (chunk[0] === TLS_HANDSHAKE_RECORD) {
      socket.unshift(chunk);
      server.emit('connection', socket);
      return;
    }
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(PLAIN_HTTP_REFUSAL)}\r\nConnection: close\r\n\r\n${PLAIN_HTTP_REFUSAL}`);
  });
}

/** The client certificate of a TLS connection, as the authenticator needs it. */
function peerTls(req: IncomingMessage): PeerTls | null {
  const socket = req.socket as TLSSocket;
  if (socket.encrypted !== true) return null;
  const subject = peerSubject(socket);
  const error = socket.authorizationError as unknown;
  return { subject, authorized: socket.authorized, authorizationError: error === null || error === undefined ? null : String(error) };
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const id = nextId++;
  open.set(id, { req, res, reading: false });
  res.once('close', () => open.delete(id));
  post({ kind: 'request', id, method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '', tls: peerTls(req) });
}

/** Read the body of request `id`, at most `maxBytes`; past that the rest is left unread and the connection closes after the answer. */
function readBody(id: number, maxBytes: number): void {
  const o = open.get(id);
  if (o === undefined) return post({ kind: 'body', id, body: null, over: false, error: 'the connection closed' });
  if (o.reading) return post({ kind: 'body', id, body: null, over: false, error: 'the body was already read' });
  o.reading = true;
  const chunks: Buffer[] = [];
  let bytes = 0;
  let done = false;
  const finish = (m: FromFront & { kind: 'body' }): void => {
    if (done) return;
    done = true;
    o.req.off('data', onData);
    o.req.off('end', onEnd);
    o.req.off('error', onError);
    o.req.off('aborted', onAborted);
    post(m);
  };
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      o.req.pause();
      o.res.shouldKeepAlive = false;
      return finish({ kind: 'body', id, body: null, over: true, error: null });
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => finish({ kind: 'body', id, body: Buffer.concat(chunks), over: false, error: null });
  const onError = (err: Error): void => finish({ kind: 'body', id, body: null, over: false, error: err.message });
  const onAborted = (): void => finish({ kind: 'body', id, body: null, over: false, error: 'the request was aborted' });
  o.req.on('data', onData);
  o.req.once('end', onEnd);
  o.req.once('error', onError);
  o.req.once('aborted', onAborted);
}

function respond(o: Open, status: number, headers: Record<string, string | number | readonly string[]>, body: string | Uint8Array | null): void {
  const { req, res } = o;
  if (res.headersSent || res.destroyed) return;
  // A body nobody read is not drained for keep-alive: the connection closes after the answer.
  if (!req.complete) res.shouldKeepAlive = false;
  res.writeHead(status, headers as httpModule.OutgoingHttpHeaders);
  res.end(req.method === 'HEAD' || body === null ? undefined : body);
}

async function metrics(id: number, families: Extract<ToFront, { kind: 'metrics' }>['families']): Promise<void> {
  exposition ??= import('../metrics/exposition-text.js');
  let text: string;
  let contentType: string;
  try {
    const e = await exposition;
    text = await e.expose(families);
    contentType = e.CONTENT_TYPE;
  } catch (err) {
    post({ kind: 'log', level: 'error', message: `http GET /metrics: ${(err as Error).stack ?? String(err)}` });
    const o = open.get(id);
    if (o !== undefined) respond(o, 500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, 'internal error\n');
    return;
  }
  const o = open.get(id);
  if (o !== undefined) respond(o, 200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' }, text);
}

function close(): void {
  const listening = front ?? server;
  const done = () => post({ kind: 'closed' });
  if (!listening.listening) return done();
  listening.close(done);
  for (const socket of sockets) socket.destroy();
  server.closeAllConnections();
}

port.on('message', (m: ToFront) => {
  switch (m.kind) {
    case 'response': {
      const o = open.get(m.id);
      if (o !== undefined) respond(o, m.status, m.headers, m.body);
      return;
    }
    case 'metrics':
      return void metrics(m.id, m.families);
    case 'read-body':
      return readBody(m.id, m.maxBytes);
    case 'destroy':
      return void open.get(m.id)?.res.destroy();
    case 'tls':
      return (server as httpsModule.Server).setSecureContext(m.options);
    case 'close':
      return close();
  }
});

const listening = front ?? server;
const listenFailed = (err: NodeJS.ErrnoException): void => post({ kind: 'listen-error', message: err.message, code: err.code ?? null });
listening.once('error', listenFailed);
listening.listen({ host: init.host, port: init.port }, () => {
  listening.off('error', listenFailed);
  listening.on('error', (err) => post({ kind: 'log', level: 'error', message: `http listener: ${err.message}` }));
  const a = listening.address() as AddressInfo;
  post({ kind: 'listening', address: a.address, family: a.family, port: a.port });
});
