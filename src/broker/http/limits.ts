/**
 * The HTTP endpoint's limits, in a module of their own so that its worker (front-worker.ts) takes them
 * without loading the broker's side (server.ts).
 */

/** Open HTTP connections at most: scrapers and probes need a handful. */
export const HTTP_MAX_CONNECTIONS = 64;
/** A request's headers must have arrived within this (slowloris); on a TLS port, its first byte too. */
export const HTTP_REQUEST_TIMEOUT_MS = 10_000;
