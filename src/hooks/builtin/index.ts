/** The hooks that ship with Rafka, by the name `builtin:` uses in rafka.yaml. */
import type { HookFactory } from '../types.js';
import { jsonSchemaHook } from './json-schema.js';
import { stampHeadersHook } from './stamp-headers.js';
import { redactHook } from './redact.js';
import { auditLogHook } from './audit-log.js';
import { rateLimitHook } from './rate-limit.js';

import { BUILTIN_HOOK_NAMES, type BuiltinHookName } from './names.js';

export const BUILTIN_HOOKS: ReadonlyMap<BuiltinHookName, HookFactory> = new Map<BuiltinHookName, HookFactory>([
  ['json-schema', jsonSchemaHook],
  ['stamp-headers', stampHeadersHook],
  ['redact', redactHook],
  ['audit-log', auditLogHook],
  ['rate-limit', rateLimitHook],
]);

export { BUILTIN_HOOK_NAMES, type BuiltinHookName };
export { jsonSchemaHook, stampHeadersHook, redactHook, auditLogHook, rateLimitHook };
export type { JsonSchemaOptions } from './json-schema.js';
export type { StampHeadersOptions } from './stamp-headers.js';
export type { RedactOptions } from './redact.js';
export type { AuditLogOptions } from './audit-log.js';
export type { RateLimitOptions } from './rate-limit.js';
