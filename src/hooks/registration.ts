/**
 * Registering hooks: the stages a hook may implement, checking a hook object's shape, its topic
 * selector and API list, and each hook's own logger. The result is the ordered list every stage
 * runs (machinery.ts).
 */
import { API_SPECS } from '../protocol/messages/index.js';
import type { Logger } from '../contracts/logger.js';
import type { Hook, HookLogger, TopicSelector } from './types.js';

/** The stages a hook may implement, in documentation order. */
export const STAGES = [
  'onConnection',
  'onRequest',
  'onResponse',
  'beforeProduce',
  'afterProduce',
  'beforeFetch',
  'afterFetch',
  'onTopicCreate',
  'onTopicDelete',
  'onJoin',
  'onRebalance',
  'onCommit',
] as const;
export type Stage = (typeof STAGES)[number];

export interface Registered {
  readonly hook: Hook;
  readonly name: string;
  /** null = every topic. */
  readonly matches: ((topic: string) => boolean) | null;
  /** null = every API. */
  readonly apis: ReadonlySet<number> | null;
  readonly log: HookLogger;
}

export interface RegisterOptions {
  name?: string;
  topics?: TopicSelector;
  apis?: readonly (number | string)[];
}

const API_BY_NAME = new Map<string, number>([...API_SPECS.values()].map((s) => [s.name.toLowerCase(), s.apiKey]));

/** `/regex/flags` written as a string (YAML) is a pattern; anything else is an exact topic name. */
export function compileSelector(sel: TopicSelector | undefined): ((topic: string) => boolean) | null {
  if (sel === undefined) return null;
  if (typeof sel === 'function') return sel;
  const parts = (Array.isArray(sel) ? sel : [sel]) as (string | RegExp)[];
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const p of parts) {
    if (p instanceof RegExp) patterns.push(p);
    else if (typeof p === 'string') {
      const m = /^\/(.*)\/([a-z]*)$/s.exec(p);
      if (m) patterns.push(new RegExp(m[1]!, m[2]));
      else names.add(p);
    } else throw new TypeError(`topics: expected names or regular expressions, got ${typeof p}`);
  }
  // A pattern matches the whole name, as Kafka's subscription patterns do.
  const anchored = patterns.map((r) => new RegExp(`^(?:${r.source})$`, r.flags.replace(/[gy]/g, '')));
  return (topic) => names.has(topic) || anchored.some((r) => r.test(topic));
}

function resolveApis(apis: readonly (number | string)[] | undefined): Set<number> | null {
  if (apis === undefined) return null;
  const out = new Set<number>();
  for (const a of apis) {
    const key = typeof a === 'number' ? a : API_BY_NAME.get(a.toLowerCase().replace(/[^a-z]/g, ''));
    if (key === undefined || !API_SPECS.has(key)) throw new TypeError(`apis: unknown API ${JSON.stringify(a)}`);
    out.add(key);
  }
  return out;
}

const KNOWN_MEMBERS = new Set<string>([...STAGES, 'name', 'topics', 'apis', 'close']);

/** Checks a hook object's shape; throws TypeError naming the problem. */
export function checkHook(hook: unknown, what: string): asserts hook is Hook {
  if (hook === null || typeof hook !== 'object') throw new TypeError(`${what}: a hook must be an object, got ${hook === null ? 'null' : typeof hook}`);
  const h = hook as Record<string, unknown>;
  if (typeof h['name'] !== 'string' || h['name'] === '') throw new TypeError(`${what}: a hook needs a non-empty string "name"`);
  for (const key of Object.keys(h)) {
    if (typeof h[key] === 'function' && !KNOWN_MEMBERS.has(key)) {
      const close = STAGES.find((s) => s.toLowerCase() === key.toLowerCase() || levenshtein(s, key) <= 2);
      throw new TypeError(`${what}: hook "${h['name']}" has an unknown method "${key}"${close ? ` (did you mean "${close}"?)` : ''}`);
    }
  }
  for (const s of [...STAGES, 'close'] as const) {
    if (h[s] !== undefined && typeof h[s] !== 'function') throw new TypeError(`${what}: hook "${h['name']}": ${s} must be a function`);
  }
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Check and register hooks in the order given (a hook object, or one with options overriding its
 * name, topics and APIs); throws TypeError naming the problem.
 */
export function register(hooks: readonly (Hook | { hook: Hook; options: RegisterOptions })[], log: Logger): Registered[] {
  const regs = hooks.map((entry, i) => {
    const { hook, options: o } = 'hook' in entry && typeof (entry as { hook: unknown }).hook === 'object' ? (entry as { hook: Hook; options: RegisterOptions }) : { hook: entry as Hook, options: {} };
    checkHook(hook, `hooks[${i}]`);
    const name = o.name ?? hook.name;
    const prefix = `hook ${name}: `;
    return {
      hook,
      name,
      matches: compileSelector(o.topics ?? hook.topics),
      apis: resolveApis(o.apis ?? hook.apis),
      log: {
        error: (m: string) => log.error(prefix + m),
        warn: (m: string) => log.warn(prefix + m),
        info: (m: string) => log.info(prefix + m),
        debug: (m: string) => log.debug(prefix + m),
      },
    };
  });
  const names = new Set<string>();
  for (const r of regs) {
    if (names.has(r.name)) throw new TypeError(`two hooks are named "${r.name}": give each a distinct name`);
    names.add(r.name);
  }
  return regs;
}
