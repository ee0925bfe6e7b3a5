/**
 * The web console as an HTTP extension (src/broker/http/server.ts): what `startBroker` from the
 * package root and `rafka start` hand the broker. Only this small object is loaded up front; the
 * console itself (mount.ts: the API, Kafka clients, assets) is imported when an endpoint starts.
 */
import type { HttpExtension } from '../broker/http/server.js';

export const CONSOLE_EXTENSION: HttpExtension = Object.freeze({
  name: 'web console at /',
  async mount(...args: Parameters<HttpExtension['mount']>) {
    (await import('./mount.js')).mountConsole(...args);
  },
});
