/**
 * Hooks: TypeScript logic on the broker's request path. See docs/hooks.md for the stages, their
 * wire mappings and guarantees; types.ts for the API.
 */
export * from './types.js';
export { HookRunner, STAGES, MAX_THROTTLE_MS, compileSelector, type Stage } from './runner.js';
export { NO_HOOKS } from '../contracts/stages.js';
export { createHooks, HOOK_SPEC_KEYS, type HookEntry, type CreateHooksOptions } from './load.js';
export { LazyBatch } from './batch.js';
export {
  BUILTIN_HOOKS,
  jsonSchemaHook,
  stampHeadersHook,
  redactHook,
  auditLogHook,
  rateLimitHook,
  type JsonSchemaOptions,
  type StampHeadersOptions,
  type RedactOptions,
  type AuditLogOptions,
  type RateLimitOptions,
} from './builtin/index.js';
