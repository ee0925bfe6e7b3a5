/**
 * One TCP connection to one broker: framing (int32 size prefix), correlation ids, pipelining, API
 * version negotiation and request timeouts. Everything above it (cluster, producer, consumer, admin)
 * sends requests through `request()` and never sees bytes.
 *
 * - Pipelining: any number of requests may be outstanding; Kafka answers the requests of one
 *   connection in the order they were sent, so responses are matched to the oldest outstanding
 *   request, and a response whose correlation id does not match it is a protocol violation (the
 *   connection is closed, every outstanding request fails with ConnectionError).
 * - Versions: the first request is ApiVersions (KIP-511, sent at the highest version we know; a
 *   broker that does not know it answers at v0 with its ranges and we retry at the highest shared
 *   one). Afterwards `version(apiKey)` is the highest version both sides support, as the Java client
 *   picks it.
 * - Timeouts: one timer per connection checks the oldest outstanding request. A request older than
 *   its timeout fails with RequestTimeoutError and the connection is closed, as Kafka's NetworkClient
 *   does — a late answer could otherwise be taken for the next request's.
 * - acks=0 produce requests have no response: `request(..., { expectResponse: false })` resolves once
 *   the bytes are handed to the socket.
 *
 * - Security: with `ssl` the socket is TLS (tls.ts: the broker's certificate verified, hostname
 *   checked); with `sasl` the connection logs in right after ApiVersions, before anyone else may
 *   use it: SaslHandshake v1 names the mechanism, SaslAuthenticate requests carry its tokens
 *   (KIP-152; sasl.ts). When the broker answers a session lifetime (KIP-368,
 *   `connections.max.reauth.ms`), the connection logs in again on the same socket at 85–95% of it,
 *   as the Java client does: requests already sent stay in flight (their answers come first, in
 *   order), new ones wait until the new session is there — the broker closes a connection that
 *   sends anything else during re-authentication.
 *
 * A connection is never reopened; the cluster layer makes a new one when it needs to.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Reader } from '../protocol/codec/reader.js';
import { Writer } from '../protocol/codec/writer.js';
import type { Init, MessageCodec } from '../protocol/codec/message.js';
import {
  API_SPECS,
  ApiKey,
  ApiVersionsRequest,
  ApiVersionsResponse,
  RequestHeader,
  ResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ConnectionError, KafkaProtocolError, RequestTimeoutError, UnsupportedVersionError } from './errors.js';
import { FrameReader } from './frame-reader.js';
import { createSaslClient, saslMechanismName, type SaslOptions } from './sasl.js';
import { tlsConnectOptions, tlsFailure, type SslOptions } from './tls.js';

export const CLIENT_SOFTWARE_NAME = 'rafka-client';
export const CLIENT_SOFTWARE_VERSION = '0.1.0';

/** Largest response frame we accept (a corrupt size prefix must not make us buffer gigabytes). */
export const MAX_RESPONSE_BYTES_DEFAULT = 256 * 1024 * 1024;

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  /** Default 10 s (Kafka's socket.connection.setup.timeout.max.ms is 30 s; we fail faster). */
  connectTimeoutMs?: number;
  /** Default timeout of each request, 30 s (Kafka's request.timeout.ms). */
  requestTimeoutMs?: number;
  maxResponseBytes?: number;
  /** Highest version per API key this caller may use (defaults: everything our codecs know). */
  maxVersions?: ReadonlyMap<number, number>;
  /** TLS: true (the system's CAs) or tls.connect options (`ca`, `cert`, `key`, `servername`, …). See tls.ts. */
  ssl?: boolean | SslOptions;
  /** SASL login after ApiVersions. See sasl.ts. */
  sasl?: SaslOptions;
}

/** KIP-368: re-authenticate at a random point between these fractions of the session lifetime (the Java client's). */
const REAUTH_AT_MIN = 0.85;
const REAUTH_AT_MAX = 0.95;
/** A SASL exchange longer than this many round trips is a broker that never says done. */
const SASL_MAX_STEPS = 8;

/**
 * Versions newer than this client's code handles, although our codecs (generated from the Kafka 4.1
 * specs) know them: a version whose semantics the client does not implement is never negotiated.
 * Produce v13 and OffsetCommit/OffsetFetch v10 name topics by id, Metadata v13 carries a top-level
 * error the client does not act on (KIP-1102 rebootstrap), DescribeGroups v6 turns an unknown group
 * into an error the admin API does not expect, InitProducerId v6 is KIP-939's two-phase commit.
 * Transactions v2 (KIP-890 part 2) is not implemented by the transactional producer: EndTxn v5 bumps
 * the epoch on every transaction and TxnOffsetCommit v5 belongs to it, and AddPartitionsToTxn v4+ is
 * the broker-to-broker form ("versions 3 and below will be exclusively used by clients").
 * Fetch v18 and DescribeCluster v2 change nothing a client sends or reads, so they are allowed.
 */
const CLIENT_VERSION_MAX: ReadonlyMap<number, number> = new Map([
  [ApiKey.Produce, 12],
  [ApiKey.Metadata, 12],
  [ApiKey.OffsetCommit, 9],
  [ApiKey.OffsetFetch, 9],
  [ApiKey.DescribeGroups, 5],
  [ApiKey.InitProducerId, 5],
  [ApiKey.AddPartitionsToTxn, 3],
  [ApiKey.EndTxn, 4],
  [ApiKey.TxnOffsetCommit, 4],
]);

export interface RequestOptions {
  /** Send at this version instead of the negotiated one. */
  version?: number;
  timeoutMs?: number;
  /** false for Produce with acks=0: the broker sends nothing back. */
  expectResponse?: boolean;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  decode: (r: Reader) => unknown;
  resolve: (v: any) => void;
  reject: (e: Error) => void;
  deadline: number;
  timeoutMs: number;
}

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  private socket: net.Socket;
  private readonly requestTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly maxVersions: ReadonlyMap<number, number> | undefined;
  private nextCorrelationId = 1;
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  private readonly reader: FrameReader;
  private timer: NodeJS.Timeout | undefined;
  private closedError: Error | null = null;
  private readonly closeListeners: ((e: Error) => void)[] = [];
  /** Broker's version ranges, from ApiVersions. */
  private brokerVersions = new Map<number, { min: number; max: number }>();
  private readonly sasl: SaslOptions | undefined;
  /** While a re-authentication runs: requests made meanwhile wait for it (see the header). */
  private authGate: Promise<void> | null = null;
  private reauthTimer: NodeJS.Timeout | undefined;
  /** Whether any response has arrived yet. */
  private answered = false;
  /** SASL logins done on this connection (the first one and each re-authentication). */
  authentications = 0;

  private constructor(socket: net.Socket, reader: FrameReader, opts: ConnectionOptions, isTls: boolean) {
    this.socket = socket;
    this.reader = reader;
    this.host = opts.host;
    this.port = opts.port;
    this.clientId = opts.clientId ?? 'rafka';
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.maxResponseBytes = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES_DEFAULT;
    this.maxVersions = opts.maxVersions;
    this.sasl = opts.sasl;
    socket.setNoDelay(true);
    socket.on('error', (e) => this.fail(isTls ? tlsFailure(e, this.address, true) : new ConnectionError(`connection to ${this.address} failed: ${e.message}`, { cause: e })));
    socket.on('close', () => {
      // A broker that checks client certificates after the handshake (TLS 1.3) may refuse ours by
      // just hanging up: say so when the TLS connection closes before its first answer.
      const hint = isTls && !this.answered ? ' right after the TLS handshake: the broker may have refused our client certificate (ssl.cert, ssl.key) or require one' : '';
      this.fail(new ConnectionError(`connection to ${this.address} closed${hint}`));
    });
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Open a connection, negotiate API versions, and log in when `sasl` is given. */
  static async connect(opts: ConnectionOptions): Promise<Connection> {
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    if (opts.sasl) saslMechanismName(opts.sasl); // bad options fail before any connection is made
    const ssl = opts.ssl === undefined || opts.ssl === false ? null : opts.ssl;
    const address = `${opts.host}:${opts.port}`;
    // Responses are read straight into buffers of their own (see frame-reader.ts); frames go to the
    // connection once it exists (the broker sends nothing before our first request).
    let conn: Connection | null = null;
    const reader = new FrameReader(
      { maxFrameBytes: opts.maxResponseBytes ?? MAX_RESPONSE_BYTES_DEFAULT },
      (frame) => conn?.onFrame(frame),
      (message) => conn?.fail(new ConnectionError(`${message} from ${opts.host}:${opts.port}`)),
    );
    const onread = {
      buffer: () => reader.buffer(),
      callback: (n: number) => {
        reader.onRead(n);
        return true;
      },
    };
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      // TLS: ready once the handshake is done and the broker's certificate verified ('secureConnect').
      // (tls.connect takes `onread` as net.connect does — Node's documentation lists it; @types/node does not.)
      const s = ssl
        ? tls.connect({ ...tlsConnectOptions(ssl, opts.host), host: opts.host, port: opts.port, onread } as tls.ConnectionOptions)
        : net.connect({ host: opts.host, port: opts.port, onread });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(`connecting to ${address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once(ssl ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      // An error before the TCP connection is a connection error; after it, a TLS one (tls.ts).
      let tcpConnected = false;
      if (ssl) s.once('connect', () => (tcpConnected = true));
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(tcpConnected ? tlsFailure(e, address, false) : new ConnectionError(`cannot connect to ${address}: ${e.message}`, { cause: e }));
      });
    });
    conn = new Connection(socket, reader, opts, ssl !== null);
    try {
      await conn.negotiateVersions();
      if (opts.sasl) await conn.authenticate();
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Called once when the connection closes (for any reason). */
  onClose(listener: (e: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /** Number of requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  /** The broker's version range for an API, or undefined when it does not offer the API. */
  brokerRange(apiKey: number): { min: number; max: number } | undefined {
    return this.brokerVersions.get(apiKey);
  }

  /** Every API the broker offers with its version range, by API key. */
  brokerApiVersions(): { apiKey: number; min: number; max: number }[] {
    return [...this.brokerVersions].map(([apiKey, r]) => ({ apiKey, min: r.min, max: r.max })).sort((a, b) => a.apiKey - b.apiKey);
  }

  /** Whether the broker offers the API at all. */
  supports(apiKey: number): boolean {
    return this.brokerVersions.has(apiKey);
  }

  /** The highest version of `apiKey` both we and the broker support. */
  version(apiKey: number, clientMax?: number): number {
    const spec = API_SPECS.get(apiKey);
    const ours = Math.min(clientMax ?? Infinity, this.maxVersions?.get(apiKey) ?? Infinity, CLIENT_VERSION_MAX.get(apiKey) ?? Infinity, spec?.maxVersion ?? -1);
    const theirs = this.brokerVersions.get(apiKey);
    const name = spec?.name ?? `api ${apiKey}`;
    if (!theirs) throw new UnsupportedVersionError(`the broker at ${this.address} does not support ${name}`);
    const v = Math.min(ours, theirs.max);
    if (v < theirs.min || v < (spec?.minVersion ?? 0)) {
      throw new UnsupportedVersionError(`no common version of ${name}: broker ${theirs.min}-${theirs.max}, client up to ${ours}`);
    }
    return v;
  }

  private async negotiateVersions(): Promise<void> {
    let version = API_SPECS.get(ApiKey.ApiVersions)!.maxVersion;
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.request(ApiKey.ApiVersions, ApiVersionsRequest, ApiVersionsResponse, { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION }, { version });
      this.brokerVersions = new Map(res.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
      if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        // KIP-511: the broker answered at v0 with its own range of ApiVersions; retry within it.
        const theirs = this.brokerVersions.get(ApiKey.ApiVersions);
        version = Math.min(version, theirs?.max ?? 0);
        continue;
      }
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, 'ApiVersions');
      return;
    }
    throw new UnsupportedVersionError(`no common ApiVersions version with ${this.address}`);
  }

  /**
   * Log in with the `sasl` options (the first time, or again for KIP-368): SaslHandshake v1, then
   * SaslAuthenticate until the mechanism is done. Sent past the gate that holds other requests.
   */
  private async authenticate(): Promise<void> {
    const sasl = this.sasl!;
    const client = createSaslClient(sasl);
    // v1: the tokens travel in SaslAuthenticate requests (KIP-152), which is all this client speaks.
    const hsVersion = this.version(ApiKey.SaslHandshake, 1);
    if (hsVersion < 1) throw new UnsupportedVersionError(`the broker at ${this.address} predates SaslAuthenticate (SaslHandshake v1)`);
    const hs = await this.send(ApiKey.SaslHandshake, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: client.mechanism }, { version: hsVersion });
    if (hs.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
      throw new KafkaProtocolError(hs.errorCode, `the broker at ${this.address} does not offer ${client.mechanism} (it offers ${hs.mechanisms.join(', ') || 'none'})`);
    }
    if (hs.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(hs.errorCode, `SaslHandshake with ${this.address}`);
    const version = this.version(ApiKey.SaslAuthenticate);
    let token = await client.start();
    for (let step = 0; step < SASL_MAX_STEPS; step++) {
      const sentAt = Date.now();
      const res = await this.send(ApiKey.SaslAuthenticate, SaslAuthenticateRequest, SaslAuthenticateResponse, { authBytes: token }, { version });
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, res.errorMessage ?? `${client.mechanism} login at ${this.address}`);
      const next = await client.step(res.authBytes);
      if (next === null) {
        this.authentications++;
        this.scheduleReauthentication(Number(res.sessionLifetimeMs), sentAt);
        return;
      }
      token = next;
    }
    throw new KafkaProtocolError(ErrorCode.SASL_AUTHENTICATION_FAILED, `${client.mechanism}: the exchange with ${this.address} did not end within ${SASL_MAX_STEPS} messages`);
  }

  /**
   * KIP-368: the session ends `lifetimeMs` after the broker answered (counted from when we asked,
   * to be safe); log in again before, at a random 85–95% of it so that many connections spread out.
   */
  private scheduleReauthentication(lifetimeMs: number, sentAt: number): void {
    if (this.reauthTimer) clearTimeout(this.reauthTimer);
    this.reauthTimer = undefined;
    if (!(lifetimeMs > 0) || this.closedError) return;
    const at = sentAt + lifetimeMs * (REAUTH_AT_MIN + Math.random() * (REAUTH_AT_MAX - REAUTH_AT_MIN));
    this.reauthTimer = setTimeout(() => {
      this.reauthTimer = undefined;
      this.reauthenticate();
    }, Math.max(0, at - Date.now()));
    this.reauthTimer.unref();
  }

  private reauthenticate(): void {
    if (this.closedError || this.authGate) return;
    // Requests made from here on wait; a failed re-login closes the connection (and fails them).
    this.authGate = this.authenticate().then(
      () => {
        this.authGate = null;
      },
      (e: unknown) => {
        this.authGate = null;
        this.fail(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** Send one request; resolves with the decoded response body. */
  request<Req, Res>(apiKey: number, req: MessageCodec<Req>, res: MessageCodec<Res>, body: Init<Req>, opts: RequestOptions = {}): Promise<Res> {
    // During a re-authentication, in the order they were made (promise callbacks run in order).
    if (this.authGate) return this.authGate.then(() => this.request(apiKey, req, res, body, opts));
    return this.send(apiKey, req, res, body, opts);
  }

  private send<Req, Res>(apiKey: number, req: MessageCodec<Req>, res: MessageCodec<Res>, body: Init<Req>, opts: RequestOptions = {}): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    let version: number;
    let parts: Buffer[];
    const correlationId = this.nextCorrelationId;
    try {
      version = opts.version ?? this.version(apiKey);
      const w = new Writer(512);
      w.int32(0); // size, patched below
      RequestHeader.encode(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.clientId }, requestHeaderVersion(apiKey, version));
      req.encode(w, body, version);
      parts = w.toBuffers();
      parts[0]!.writeInt32BE(w.length - 4, 0);
    } catch (e) {
      return Promise.reject(e); // no version in common, or a value the codec refuses: nothing was sent
    }
    this.nextCorrelationId = (this.nextCorrelationId + 1) | 0 || 1;
    const expectResponse = opts.expectResponse ?? true;
    const sock = this.socket;
    if (parts.length === 1) sock.write(parts[0]!);
    else {
      sock.cork();
      for (const p of parts) sock.write(p);
      sock.uncork();
    }
    if (!expectResponse) return Promise.resolve(undefined as Res);
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({
        correlationId,
        apiKey,
        version,
        decode: (r) => {
          // KIP-511: an unsupported ApiVersions request is answered at v0.
          if (apiKey === ApiKey.ApiVersions && version > 0 && r.remaining >= 2 && r.buf.readInt16BE(r.offset) === ErrorCode.UNSUPPORTED_VERSION) {
            return res.decode(r, 0);
          }
          return res.decode(r, version);
        },
        resolve,
        reject,
        deadline: Date.now() + timeoutMs,
        timeoutMs,
      });
      this.armTimer();
    });
  }

  private armTimer(): void {
    if (this.timer || this.closedError) return;
    const head = this.pending[this.pendingHead];
    if (!head) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const h = this.pending[this.pendingHead];
      if (!h) return;
      if (Date.now() >= h.deadline) {
        this.fail(new RequestTimeoutError(`request (api ${h.apiKey} v${h.version}) to ${this.address} timed out after ${h.timeoutMs} ms`));
        return;
      }
      this.armTimer();
    }, Math.max(1, head.deadline - Date.now() + 1));
    this.timer.unref();
  }

  private onFrame(frame: Buffer): void {
    this.answered = true;
    const p = this.pending[this.pendingHead];
    if (!p) {
      this.fail(new ConnectionError(`unexpected response from ${this.address} with no request outstanding`));
      return;
    }
    this.pending[this.pendingHead] = undefined as unknown as Pending;
    this.pendingHead++;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    let body: unknown;
    try {
      const r = new Reader(frame);
      const header = ResponseHeader.decode(r, responseHeaderVersion(p.apiKey, p.version));
      if (header.correlationId !== p.correlationId) {
        throw new Error(`correlation id ${header.correlationId} does not match the oldest request's ${p.correlationId}`);
      }
      body = p.decode(r);
    } catch (e) {
      const err = new ConnectionError(`bad response from ${this.address}: ${(e as Error).message}`, { cause: e });
      p.reject(err);
      this.fail(err);
      return;
    }
    if (this.timer && this.inFlight === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    p.resolve(body);
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    this.reader.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.reauthTimer) clearTimeout(this.reauthTimer);
    this.reauthTimer = undefined;
    this.socket.destroy();
    const pend = this.pending.slice(this.pendingHead);
    this.pending.length = 0;
    this.pendingHead = 0;
    for (const p of pend) p.reject(e);
    for (const l of this.closeListeners.splice(0)) l(e);
  }

  close(): void {
    this.fail(new ConnectionError(`connection to ${this.address} closed by the client`));
  }
}
