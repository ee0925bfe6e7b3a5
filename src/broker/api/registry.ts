/**
 * The handler registry: handlers register themselves here (api/index.ts imports every file), and
 * ApiVersions reads the registry, so what is advertised is exactly what is implemented.
 */
import type { ApiHandler } from '../handler.js';

export const HANDLERS = new Map<number, ApiHandler>();

export function register(...handlers: ApiHandler[]): void {
  for (const h of handlers) {
    if (HANDLERS.has(h.apiKey)) throw new Error(`two handlers for API key ${h.apiKey}`);
    HANDLERS.set(h.apiKey, h);
  }
}

export function supportedApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return [...HANDLERS.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.advertisedMinVersion ?? h.minVersion, maxVersion: h.maxVersion }));
}
