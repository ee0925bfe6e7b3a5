/** Names of the built-in hooks (`builtin:` in rafka.yaml); kept free of imports so the config schema can use it. */
export const BUILTIN_HOOK_NAMES = ['json-schema', 'stamp-headers', 'redact', 'audit-log', 'rate-limit'] as const;
export type BuiltinHookName = (typeof BUILTIN_HOOK_NAMES)[number];
