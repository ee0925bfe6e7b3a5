/**
 * A request as every layer above the codecs sees it. The broker's RequestContext (src/broker/handler.ts)
 * extends RequestScope with the whole broker; hooks see only what is declared here.
 */
import type { StorageEngine } from '../storage/engine.js';

export interface ConnectionInfo {
  /** Remote address and port, e.g. `127.0.0.1:53122`. */
  readonly remote: string;
  readonly remoteAddress: string;
  /** Close this connection (e.g. acks=0 produce that failed: Kafka closes so the client notices). */
  close(reason: string): void;
}

export interface RequestScope {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connection: ConnectionInfo;
  /**
   * The authenticated principal as Kafka writes it, `User:alice` (`User:ANONYMOUS` on a PLAINTEXT
   * listener, or before SASL authentication completes): what ACLs are checked against, for hooks
   * that decide or record per user.
   */
  readonly principal: string;
  /** What a stage may ask of the broker. */
  readonly broker: { readonly isClosing: boolean; readonly storage: Pick<StorageEngine, 'offsets'> };
}

/**
 * What a served API declares besides its handler (src/broker/handler.ts: ApiHandler), as the
 * request stage of the hooks uses it.
 */
export interface ServedApiFacts {
  readonly request: { readonly name: string };
  /** KIP-219: first version whose clients throttle themselves; null: none. */
  readonly clientThrottlesFromVersion: number | null;
  handle(request: any, ctx: RequestScope): unknown;
  /** The error response to `request` at `version`; null: the request gets no response (Produce acks=0). */
  errorResponse(request: any, version: number, errorCode: number, message: string | null): unknown;
}
