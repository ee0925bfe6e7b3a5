/**
 * The handler registry. Every API has its own handler module (api/NN-name.ts) that declares the
 * versions it implements; table.ts lists those declarations, generated from the modules themselves
 * (scripts/gen-handler-table.ts; a test fails when it is out of date), so ApiVersions advertises
 * exactly what is implemented.
 *
 * A handler module is imported the first time a request for its API arrives: until then the registry
 * holds a stand-in with the table's versions and the API's codecs whose `handle` imports the module
 * and hands the request over. A broker that only ever sees Produce and Metadata never loads the group
 * or config handlers (and start-up does not pay for them).
 */
import type { ApiHandler, HandlerEntry, ServedApi } from '../handler.js';
import { API_SPECS } from '../../protocol/messages/index.js';
import { HANDLER_TABLE } from './table.js';

function lazyHandler(entry: HandlerEntry): ServedApi {
  const spec = API_SPECS.get(entry.apiKey);
  if (spec === undefined) throw new Error(`handler table: API key ${entry.apiKey} has no spec`);
  let loaded: ApiHandler | null = null;
  let loading: Promise<ApiHandler> | null = null;
  const load = (): Promise<ApiHandler> =>
    (loading ??= entry.load().then(({ default: h }) => {
      // The table is generated from these very modules; a mismatch means it is stale.
      if (
        h.apiKey !== entry.apiKey || h.minVersion !== entry.minVersion || h.maxVersion !== entry.maxVersion || h.advertisedMinVersion !== entry.advertisedMinVersion ||
        h.clientThrottlesFromVersion !== entry.clientThrottlesFromVersion
      ) {
        throw new Error(`handler table is out of date for API key ${entry.apiKey}: run \`npm run build && npm run gen:handlers\``);
      }
      loaded = h;
      return h;
    }));
  return {
    apiKey: entry.apiKey,
    minVersion: entry.minVersion,
    maxVersion: entry.maxVersion,
    ...(entry.advertisedMinVersion === undefined ? {} : { advertisedMinVersion: entry.advertisedMinVersion }),
    clientThrottlesFromVersion: entry.clientThrottlesFromVersion,
    request: spec.request,
    response: spec.response,
    handle(request, ctx) {
      return loaded !== null ? loaded.handle(request, ctx) : load().then((h) => h.handle(request, ctx));
    },
    errorResponse(request, version, errorCode, message) {
      return loaded !== null ? loaded.errorResponse(request, version, errorCode, message) : load().then((h) => h.errorResponse(request, version, errorCode, message));
    },
  };
}

/** Every served API by key. The values stand in for the handler modules until they are loaded. */
export const HANDLERS: ReadonlyMap<number, ServedApi> = new Map(HANDLER_TABLE.map((e) => [e.apiKey, lazyHandler(e)]));

export function supportedApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return [...HANDLERS.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.advertisedMinVersion ?? h.minVersion, maxVersion: h.maxVersion }));
}
