/**
 * A `hooks:` entry as configuration knows it. Config is the bottom layer (test/layers.test.ts), so
 * it states the spec form itself and sees a hook object only as something with a name; the hook
 * layer (src/hooks/types.ts) re-exports these and checks every entry when it loads them.
 */

/** Names of the built-in hooks (`builtin:` in rafka.yaml). src/hooks/builtin/ implements each. */
export const BUILTIN_HOOK_NAMES = ['json-schema', 'stamp-headers', 'redact', 'audit-log', 'rate-limit'] as const;
export type BuiltinHookName = (typeof BUILTIN_HOOK_NAMES)[number];

/** Which topics a hook's per-partition and topic stages apply to. Strings are exact names. */
export type TopicSelector = string | RegExp | readonly (string | RegExp)[] | ((topic: string) => boolean);

/**
 * A hook as configured (`hooks:` in rafka.yaml, or an entry of `startBroker({ hooks })`): either a
 * built-in by name or a module path, plus options and topics.
 */
export interface HookSpec {
  /** One of the built-in hooks: json-schema, stamp-headers, redact, audit-log, rate-limit. */
  readonly builtin?: string;
  /** Module path (relative to the config file, or absolute) or package name. */
  readonly module?: string;
  /** Export of the module to use (default `default`). */
  readonly export?: string;
  /** Passed to the factory. */
  readonly options?: unknown;
  /** Overrides the hook's own topic selector. YAML: names, or `/regex/flags` strings. */
  readonly topics?: TopicSelector;
  /** Overrides the hook's own API list. */
  readonly apis?: readonly (number | string)[];
  /** Overrides the hook's name (log lines, error messages). */
  readonly name?: string;
  /** Directory relative paths resolve against (set by the config loader to the file's directory). */
  readonly baseDir?: string;
}

/** An entry of `hooks:`: a spec, or (embedding) a hook object, whose type is src/hooks/types.ts `Hook`. */
export type HookConfigEntry = HookSpec | { readonly name: string };
