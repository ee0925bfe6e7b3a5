/**
 * What an API handler is. Each file in src/broker/api/ (named by API key, e.g. `00-produce.ts`)
 * default-exports one handler that declares the versions it truly implements; ApiVersions is
 * computed from these declarations, so what is advertised never drifts from what is implemented.
 *
 * A handler answers expected conditions (unknown topic, bad config, …) with Kafka error codes inside
 * its response. Throwing is for bugs: the dispatcher logs it and closes the connection.
 *
 * The module is the one home of its API's facts: besides versions, codecs and `handle`, it declares
 * its error response for any version (what a hook's refusal sends) and the first version whose
 * clients throttle themselves (KIP-219). Nothing else keeps a per-API table.
 */
import type { Init, MessageCodec } from '../protocol/codec/message.js';
import type { ConnectionInfo, RequestScope } from '../contracts/request.js';
import type { Broker } from './broker.js';
import type { ConnectionSecurity } from './security/session.js';

export type { ConnectionInfo };

/** A request as a handler sees it: the shared RequestScope (src/contracts/) with the whole broker. */
export interface RequestContext extends RequestScope {
  readonly broker: Broker;
  /** The node the request came to, in a cluster (cluster.ts); absent: the broker's own. */
  readonly nodeId?: number;
  /**
   * The connection's listener and authentication (src/broker/security/session.ts): Metadata answers
   * with `security.listener`'s advertised address, SaslHandshake/SaslAuthenticate drive the exchange.
   */
  readonly security: ConnectionSecurity;
  /**
   * Present when the connection may start its next request before this one is answered (a Produce:
   * connection.ts). The handler calls it once everything whose order matters has happened — for
   * Produce, every partition's append has its offsets — so the next request's appends come after.
   */
  readonly sequenced?: () => void;
  /**
   * Present while client quotas are set (src/broker/quotas/): the Fetch handler adds the time it
   * parked waiting for data (not request time), the topic APIs their controller mutation throttle.
   */
  readonly quota?: RequestQuota;
}

/** A request's share in client quota enforcement (connection.ts creates it, handlers add to it). */
export interface RequestQuota {
  /** Time the handler waited without working (a Fetch's long poll), left out of request_percentage. */
  parkedMs: number;
  /** Throttle a handler's own quota asks for (controller_mutation_rate). */
  throttleMs: number;
}

export interface ApiHandler<Req = any, Res = any> {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Lowest version ApiVersions advertises, when it must be below `minVersion` for a client quirk
   * (Produce only; see 00-produce.ts). Requests below `minVersion` are still refused.
   */
  readonly advertisedMinVersion?: number;
  readonly request: MessageCodec<Req>;
  readonly response: MessageCodec<Res>;
  /** The response, or null for no response at all (only Produce with acks=0). */
  handle(request: Req, ctx: RequestContext): Promise<Init<Res> | null> | Init<Res> | null;
  /**
   * The response refusing `request` as a whole at `version` (Kafka's AbstractRequest.getErrorResponse):
   * the error code in every part of the response that has one (each topic, partition, group or
   * resource the request names, and the top level where the version has one), the message where
   * the version carries one. Null when the request gets no response at all (Produce acks=0): the
   * caller then closes the connection, as Kafka does, so the client notices.
   */
  errorResponse(request: Req, version: number, errorCode: number, message: string | null): Init<Res> | null;
  /**
   * KIP-219: the first version whose clients honour `throttle_time_ms` themselves (Kafka's
   * `AbstractResponse.shouldClientThrottle`); a throttled answer to an older version is held back
   * for the throttle time instead. null: no version's clients do (the answer is always held back).
   */
  readonly clientThrottlesFromVersion: number | null;
}

/**
 * A served API as the registry hands it out: the module's facts, with the module itself imported on
 * the API's first use, so its error response may have to wait for that import.
 */
export interface ServedApi<Req = any, Res = any> extends Omit<ApiHandler<Req, Res>, 'errorResponse'> {
  errorResponse(request: Req, version: number, errorCode: number, message: string | null): Promise<Init<Res> | null> | Init<Res> | null;
}

/**
 * One row of the handler table (api/table.ts, generated from the handler modules): what ApiVersions
 * advertises and dispatch checks, known without importing the handler, and how to import it.
 */
export interface HandlerEntry {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly advertisedMinVersion?: number;
  readonly clientThrottlesFromVersion: number | null;
  /** The handler module (`api/NN-name.ts`), whose default export is the handler. */
  load(): Promise<{ default: ApiHandler }>;
}

/**
 * Declare a handler; checks at load time that its versions lie within the spec's and that it states
 * its error response and throttle version (the handler-table test loads every module).
 */
export function defineHandler<Req, Res>(h: ApiHandler<Req, Res>): ApiHandler<Req, Res> {
  if (h.minVersion < h.request.minVersion || h.maxVersion > h.request.maxVersion || h.minVersion > h.maxVersion) {
    throw new Error(
      `${h.request.name}: handler versions ${h.minVersion}-${h.maxVersion} are outside the spec's ${h.request.minVersion}-${h.request.maxVersion}`,
    );
  }
  if (typeof h.errorResponse !== 'function') throw new Error(`${h.request.name}: the handler declares no errorResponse`);
  const from = h.clientThrottlesFromVersion;
  if (from !== null && !(Number.isInteger(from) && from >= 0 && from <= h.request.maxVersion)) {
    throw new Error(`${h.request.name}: clientThrottlesFromVersion must be a version of the API or null, got ${String(from)}`);
  }
  return h;
}
