/** Names of the built-in hooks (`builtin:` in rafka.yaml); config states them (the config schema validates them). */
export { BUILTIN_HOOK_NAMES, type BuiltinHookName } from '../../config/hook-entry.js';
