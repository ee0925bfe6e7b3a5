/**
 * What the HTTP endpoint's two threads say to each other (types only: neither side loads the other's
 * module). The worker (front-worker.ts) owns the sockets, node:http and TLS, and hands each request's
 * head to the broker's thread as plain data; the broker's thread (server.ts) routes, authenticates and
 * answers with plain data, which the worker writes. A body is read only when a handler asks for it,
 * within the limit the handler gives, so nothing is buffered for a request that is refused first.
 *
 * Why two threads: a request served on the broker's thread runs Node's stream code (Readable.push and
 * read, the socket's writes) with objects of other shapes than the Kafka connections', and V8 threw
 * away the optimized code of those functions on the produce path at each scrape, then compiled it
 * again: a scrape a second cost a busy broker 3–7 % of its main thread (bench/README.md, "Session 14").
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import type { MetricFamily } from '../metrics/families.js';

/** A TLS connection's client certificate as the authenticator needs it (null on plain HTTP). */
export interface PeerTls {
  /** The certificate's subject as Java writes it (security/tls.ts, peerSubject); null: none was sent. */
  readonly subject: string | null;
  readonly authorized: boolean;
  readonly authorizationError: string | null;
}

export interface FrontTls {
  readonly options: SecureContextOptions;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/** The worker's start: where to listen, and TLS (null: plain HTTP). */
export interface FrontInit {
  readonly host: string;
  readonly port: number;
  readonly tls: FrontTls | null;
}

export type FromFront =
  | { readonly kind: 'listening'; readonly address: string; readonly family: string; readonly port: number }
  | { readonly kind: 'listen-error'; readonly message: string; readonly code: string | null }
  | {
      readonly kind: 'request';
      readonly id: number;
      readonly method: string;
      readonly url: string;
      readonly headers: IncomingHttpHeaders;
      readonly remoteAddress: string;
      readonly tls: PeerTls | null;
    }
  /** The body asked for: its bytes, or `over` when it is longer than the limit (the rest is not read). */
  | { readonly kind: 'body'; readonly id: number; readonly body: Uint8Array | null; readonly over: boolean; readonly error: string | null }
  | { readonly kind: 'log'; readonly level: 'info' | 'error'; readonly message: string }
  | { readonly kind: 'closed' };

export type ToFront =
  | { readonly kind: 'response'; readonly id: number; readonly status: number; readonly headers: Record<string, string | number | readonly string[]>; readonly body: string | Uint8Array | null }
  /** Answer 200 with these figures in Prometheus's text format (the worker holds prom-client). */
  | { readonly kind: 'metrics'; readonly id: number; readonly families: readonly MetricFamily[] }
  | { readonly kind: 'read-body'; readonly id: number; readonly maxBytes: number }
  | { readonly kind: 'destroy'; readonly id: number }
  | { readonly kind: 'tls'; readonly options: SecureContextOptions }
  | { readonly kind: 'close' };
