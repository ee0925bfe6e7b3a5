/**
 * Turning hook entries — `hooks:` of rafka.yaml, or `startBroker({ hooks })` — into a HookRunner.
 *
 * An entry is a Hook object (programmatic use), or a HookSpec: `builtin: <name>` or
 * `module: <path or package>` with `export:` (default `default`), plus `options:`, `topics:`,
 * `apis:` and `name:`. The export is a Hook, or a factory `(options, { baseDir, log }) => Hook`
 * (possibly async). Relative module paths and relative paths in built-ins' options resolve against
 * `baseDir`: the config file's directory for the file's entries, else the working directory.
 *
 * Any problem is a ConfigError naming the entry (`hooks[2] (module ./x.js): …`), so a broker with a
 * broken hook never starts.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/load.js';
import type { Logger } from '../contracts/logger.js';
import type { HookCallObserver } from '../contracts/observers.js';
import { BUILTIN_HOOKS, type BuiltinHookName } from './builtin/index.js';
import { HookRunner, checkHook, type RegisterOptions } from './runner.js';
import type { Hook, HookEntry, HookSpec } from './types.js';

export type { HookEntry };

/** Keys a HookSpec may have (rafka.yaml's schema lists the same). */
export const HOOK_SPEC_KEYS = ['builtin', 'module', 'export', 'options', 'topics', 'apis', 'name', 'baseDir'] as const;

export interface CreateHooksOptions {
  timeoutMs: number;
  log: Logger;
  /** Counts and times every hook call (the broker's metrics). */
  observer?: HookCallObserver | null;
  /** Where relative paths resolve when an entry has no baseDir (default: the working directory). */
  baseDir?: string;
}

function isSpec(e: HookEntry): e is HookSpec {
  return typeof e === 'object' && e !== null && ('builtin' in e || 'module' in e);
}

function label(i: number, e: HookEntry): string {
  if (isSpec(e)) return `hooks[${i}] (${e.builtin !== undefined ? `builtin ${e.builtin}` : `module ${e.module}`})`;
  return `hooks[${i}] (${(e as Hook).name ?? 'unnamed hook'})`;
}

async function instantiate(entry: HookSpec, baseDir: string, log: Logger): Promise<Hook> {
  if ((entry.builtin === undefined) === (entry.module === undefined)) throw new TypeError('give exactly one of "builtin" and "module"');
  const hookLog = {
    error: (m: string) => log.error(m),
    warn: (m: string) => log.warn(m),
    info: (m: string) => log.info(m),
    debug: (m: string) => log.debug(m),
  };
  let exported: unknown;
  if (entry.builtin !== undefined) {
    exported = BUILTIN_HOOKS.get(entry.builtin as BuiltinHookName);
    if (exported === undefined) throw new TypeError(`unknown built-in hook "${entry.builtin}" (built-ins: ${[...BUILTIN_HOOKS.keys()].join(', ')})`);
  } else {
    const m = entry.module!;
    const specifier = m.startsWith('.') || isAbsolute(m) ? pathToFileURL(resolve(baseDir, m)).href : m;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(specifier)) as Record<string, unknown>;
    } catch (err) {
      throw new TypeError(`cannot load module: ${(err as Error).message}`);
    }
    const name = entry.export ?? 'default';
    if (!(name in mod)) throw new TypeError(`the module has no export "${name}" (exports: ${Object.keys(mod).join(', ') || 'none'})`);
    exported = mod[name];
  }
  if (typeof exported === 'function') return (await exported(entry.options ?? {}, { baseDir, log: hookLog })) as Hook;
  if (entry.options !== undefined) throw new TypeError('options are given but the export is a hook object, not a factory');
  return exported as Hook;
}

/** Load every entry, in order, and build the runner. Throws ConfigError. */
export async function createHooks(entries: readonly HookEntry[], options: CreateHooksOptions): Promise<HookRunner> {
  const registered: { hook: Hook; options: RegisterOptions }[] = [];
  const problems: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    try {
      if (isSpec(e)) {
        const hook = await instantiate(e, e.baseDir ?? options.baseDir ?? process.cwd(), options.log);
        checkHook(hook, label(i, e));
        const o: RegisterOptions = {};
        if (e.name !== undefined) o.name = e.name;
        if (e.topics !== undefined) o.topics = e.topics;
        if (e.apis !== undefined) o.apis = e.apis;
        registered.push({ hook, options: o });
      } else {
        checkHook(e, label(i, e));
        registered.push({ hook: e, options: {} });
      }
    } catch (err) {
      const msg = (err as Error).message;
      problems.push(msg.startsWith('hooks[') ? msg : `${label(i, e)}: ${msg}`);
    }
  }
  if (problems.length === 0) {
    try {
      const runner = new HookRunner(registered, { timeoutMs: options.timeoutMs, log: options.log, observer: options.observer ?? null });
      options.log.info(`hooks, in order: ${runner.names.join(', ')} (hook.timeout.ms=${options.timeoutMs})`);
      return runner;
    } catch (err) {
      problems.push(`hooks: ${(err as Error).message}`);
    }
  }
  // Hooks that did start (files opened) are closed again before the error is reported.
  for (const r of registered) {
    try {
      await r.hook.close?.();
    } catch {
      // reported problems matter more
    }
  }
  throw new ConfigError(problems.join('\n'));
}
