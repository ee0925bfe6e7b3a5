/**
 * Resolves the broker configuration: defaults < YAML file < RAFKA_* environment < CLI flags.
 *
 * Environment variables (values parsed by the setting's type; an empty value counts as unset; the
 * word `null` resets a nullable setting):
 *   - the general rule: `RAFKA_` + the file key upper-cased with '.'/'-' → '_':
 *     RAFKA_HOST, RAFKA_PORT, RAFKA_ADVERTISED_HOST, RAFKA_ADVERTISED_PORT, RAFKA_NODE_ID,
 *     RAFKA_CLUSTER_ID, RAFKA_STORAGE_TYPE, RAFKA_STORAGE_PATH (alias RAFKA_DATA_DIR),
 *     RAFKA_AUTO_CREATE_TOPICS_ENABLE, RAFKA_NUM_PARTITIONS, RAFKA_SOCKET_REQUEST_MAX_BYTES, …,
 *     RAFKA_LOG_LEVEL;
 *   - topic defaults: RAFKA_TOPIC_DEFAULTS_<TOPIC_CONFIG> (RAFKA_TOPIC_DEFAULTS_RETENTION_MS ↔
 *     topic.defaults.retention.ms);
 *   - RAFKA_CONFIG: path of the YAML file when no explicit file is given.
 * Other RAFKA_* variables are ignored.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { Document, Node } from 'yaml';
import { defaultConfig } from './defaults.js';
import {
  CONFIG_FILE_ENV,
  SETTINGS,
  SETTINGS_BY_FIELD,
  STORAGE_TYPE_ALIAS,
  TOPIC_DEFAULTS_ENV_PREFIX,
  TOPIC_DEFAULTS_KEY,
  HOOKS_KEY,
  FAULTS_KEY,
  SASL_USERS_KEY,
  describeValue,
  isSecretPath,
  listValue,
  displayPath,
  isStorageField,
  shapeProblems,
  validateFileShape,
  type Setting,
  type ShapeProblem,
} from './schema.js';
import { TOPIC_CONFIGS, validateTopicConfig } from './topic-configs.js';
import type { BrokerConfig, StorageConfig } from './types.js';
import type { FaultSpec } from './fault-entry.js';
import { securityProblems, type SaslUserConfig } from './security.js';
import { httpSslProblems } from './tls-stores.js';

// yaml is loaded only when there is a file to read, so a start without one does not pay the ~20 ms
// it takes to load.
const require = createRequire(import.meta.url);
let yamlModule: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  return (yamlModule ??= require('yaml') as typeof import('yaml'));
}

/** Overrides in BrokerConfig's own shape (what the CLI passes as `flags`). */
export type ConfigOverrides = Partial<Omit<BrokerConfig, 'storage' | 'topicDefaults'>> & {
  storage?: Partial<StorageConfig>;
  topicDefaults?: Record<string, string>;
};

export type ConfigSource = 'file' | 'env' | 'flags';

export interface ConfigIssue {
  source: ConfigSource;
  /** File-shape key path (`storage.type`), or the topic config name under `topic.defaults`. */
  path: string;
  /** Config file as given, for `file` issues. */
  file?: string;
  /** 1-based position in the file, when known. */
  line?: number;
  col?: number;
  /** RAFKA_* variable, for `env` issues. */
  variable?: string;
  /** CLI flag (`--port`) or override field, for `flags` issues. */
  flag?: string;
  /** The problem alone: `must be one of memory, log, rocksdb (got "rocks")`. */
  problem: string;
  /** The full line: `config/rafka.yaml:7:3: storage.type: must be one of …`. */
  text: string;
}

/** A configuration problem. `message` is readable as is (one issue per line); no stack needed. */
export class ConfigError extends Error {
  readonly code = 'RAFKA_CONFIG';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[] | string) {
    const list: readonly ConfigIssue[] =
      typeof issues === 'string' ? [{ source: 'file', path: '', problem: issues, text: issues }] : issues;
    super(list.map((i) => i.text).join('\n'));
    this.name = 'ConfigError';
    this.issues = list;
  }
  /** The layer of the first issue: lets the CLI tell a bad flag (usage error) from a bad file. */
  get source(): ConfigSource {
    return this.issues[0]?.source ?? 'file';
  }
}

export interface LoadConfigOptions {
  /** YAML file. undefined = `RAFKA_CONFIG` from `env` if set, else none; null = no file at all. */
  file?: string | null;
  /** Environment to read RAFKA_* from; defaults to `process.env`. Pass `{}` to ignore it. */
  env?: NodeJS.ProcessEnv;
  /** Highest-precedence overrides (CLI flags). */
  flags?: ConfigOverrides;
}

/** defaults < file < env < flags. Throws ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): BrokerConfig {
  const env = options.env ?? process.env;
  const file = options.file === undefined ? nonEmpty(env[CONFIG_FILE_ENV]) ?? null : options.file;
  const layers: ConfigOverrides[] = [];
  if (file !== null) layers.push(readConfigFile(file));
  layers.push(envOverrides(env));
  if (options.flags) layers.push(checkOverrides(options.flags));
  const cfg = resolveConfig(...layers);
  // Listeners, the protocol map, principal mapping rules and users are checked as a whole, once
  // every layer is applied: `rafka start` refuses a bad one before opening anything.
  const problems = [...securityProblems(cfg, cfg.storage.type === 'postgres'), ...httpSslProblems(cfg)];
  if (problems.length > 0) throw new ConfigError(problems.map((text) => ({ source: 'file' as const, path: text.split(':')[0]!, problem: text, text })));
  return cfg;
}

/** Applies validated override layers, in order, to the defaults. */
export function resolveConfig(...layers: ConfigOverrides[]): BrokerConfig {
  const cfg = defaultConfig();
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if (k === 'storage') {
        for (const [field, value] of Object.entries(v as Partial<StorageConfig>)) {
          if (value !== undefined) (cfg.storage as unknown as Record<string, unknown>)[field] = value;
        }
      } else if (k === 'topicDefaults') {
        Object.assign(cfg.topicDefaults, v);
      } else if (k === 'faults') {
        cfg.faults = [...cfg.faults, ...(v as FaultSpec[])]; // --fault adds to the file's rules
      } else {
        (cfg as unknown as Record<string, unknown>)[k] = v;
      }
    }
  }
  // `message.max.bytes` is the broker-level synonym of the topic config `max.message.bytes`.
  cfg.topicDefaults['max.message.bytes'] = String(cfg.messageMaxBytes);
  return cfg;
}

// ---- file ---------------------------------------------------------------------------------------

/** Reads and validates a YAML file; returns its settings as overrides. Throws ConfigError. */
export function readConfigFile(file: string): ConfigOverrides {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    const msg = `${file}: cannot read config file: ${why}`;
    throw new ConfigError([{ source: 'file', file, path: '', problem: why, text: msg }]);
  }
  return parseConfigText(text, file);
}

/** Parses and validates YAML text as rafka.yaml. `file` labels the messages. Throws ConfigError. */
export function parseConfigText(text: string, file = '<config>'): ConfigOverrides {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // An error at the very end (unclosed quote, bracket) points at the last line, not the one after.
  const at = (offset: number) => lineCounter.linePos(Math.max(0, Math.min(offset, text.replace(/\s+$/, '').length)));
  const issue = (path: string, offset: number | undefined, problem: string): ConfigIssue => {
    const pos = offset === undefined ? undefined : at(offset);
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    return {
      source: 'file', file, path, problem, ...(pos ? { line: pos.line, col: pos.col } : {}),
      text: `${where}: ${path ? `${path}: ` : ''}${problem}`,
    };
  };

  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => issue('', e.pos[0], `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`)),
    );
  }
  if (doc.contents === null) return {}; // empty file (or only comments): all defaults

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([issue('', 0, `YAML error: ${(err as Error).message}`)]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([issue('', doc.contents.range?.[0] ?? 0, `must be a mapping of keys to values (got ${describeValue(data)})`)]);
  }

  const issues: ConfigIssue[] = [];
  const locate = (p: ShapeProblem) => offsetOf(doc, p.path, p.atKey);
  for (const s of SETTINGS) {
    if (s.kind === 'list' && s.path.length === 1 && typeof (data as Record<string, unknown>)[s.key] === 'string') {
      (data as Record<string, unknown>)[s.key] = listValue((data as Record<string, unknown>)[s.key]);
    }
  }
  if (!validateFileShape(data)) {
    for (const p of shapeProblems(validateFileShape.errors)) issues.push(issue(displayPath(p.path), locate(p), p.message));
  }
  const obj = data as Record<string, unknown>;
  const storage = obj['storage'] as Record<string, unknown> | undefined;
  if (storage && 'type' in storage && STORAGE_TYPE_ALIAS in storage) {
    issues.push(
      issue('storage', offsetOf(doc, ['storage', STORAGE_TYPE_ALIAS], true), `give either "type" or its alias "${STORAGE_TYPE_ALIAS}", not both`),
    );
  }

  // Topic defaults: the schema checked names and rough types; Kafka's rules check the values.
  const topicDefaults: Record<string, string> = {};
  const td = obj[TOPIC_DEFAULTS_KEY];
  if (td !== null && typeof td === 'object' && !Array.isArray(td)) {
    for (const name of Object.keys(td)) {
      if (!TOPIC_CONFIGS.has(name)) continue; // reported as an unknown key already
      const path = [TOPIC_DEFAULTS_KEY, name];
      const node = nodeAt(doc, path);
      const value = topicValueFromNode(node);
      const where = offsetOf(doc, path, false);
      if (typeof value !== 'string') {
        if (value.problem) issues.push(issue(displayPath(path), where, value.problem));
        continue;
      }
      const problem = topicDefaultProblem(name, value);
      if (problem) issues.push(issue(displayPath(path), problem.atKey ? offsetOf(doc, path, true) : where, problem.message));
      else topicDefaults[name] = value;
    }
  }
  // Hooks: each entry names exactly one of a built-in and a module; relative paths in it resolve
  // against this file's directory (docs/hooks.md).
  const hooks = obj[HOOKS_KEY];
  if (Array.isArray(hooks)) {
    hooks.forEach((h: unknown, i) => {
      if (h === null || typeof h !== 'object' || Array.isArray(h)) return; // the schema reported it
      if (('builtin' in h) === ('module' in h)) {
        issues.push(issue(`${HOOKS_KEY}.${i}`, offsetOf(doc, [HOOKS_KEY, String(i)], false), 'give exactly one of "builtin" and "module"'));
      }
    });
  }
  // SASL users: each gives exactly one of a password and a password file, and a name once.
  const users = obj[SASL_USERS_KEY];
  if (Array.isArray(users)) {
    const seen = new Set<string>();
    users.forEach((u: unknown, i) => {
      if (u === null || typeof u !== 'object' || Array.isArray(u)) return; // the schema reported it
      const where = offsetOf(doc, [SASL_USERS_KEY, String(i)], false);
      if (('password' in u) === ('password_file' in u)) issues.push(issue(`${SASL_USERS_KEY}.${i}`, where, 'give exactly one of "password" and "password_file"'));
      const name = (u as { name?: unknown }).name;
      if (typeof name === 'string' && seen.has(name)) issues.push(issue(`${SASL_USERS_KEY}.${i}`, where, `user "${name}" is given twice`));
      if (typeof name === 'string') seen.add(name);
    });
  }
  if (issues.length > 0) throw new ConfigError(sortIssues(issues));

  const out = settingOverrides(obj);
  if (Object.keys(topicDefaults).length > 0) out.topicDefaults = topicDefaults;
  if (Array.isArray(hooks)) {
    const baseDir = dirname(resolve(file));
    out.hooks = hooks.map((h: Record<string, unknown>) => ({ ...h, baseDir }));
  }
  const faults = obj[FAULTS_KEY];
  if (Array.isArray(faults)) out.faults = faults as FaultSpec[];
  if (Array.isArray(users)) out.saslUsers = users.map((u: Record<string, unknown>) => saslUser(u, dirname(resolve(file))));
  return out;
}

function saslUser(u: Record<string, unknown>, baseDir: string): SaslUserConfig {
  return {
    name: u['name'] as string,
    ...(typeof u['password'] === 'string' ? { password: u['password'] } : {}),
    ...(typeof u['password_file'] === 'string' ? { passwordFile: resolve(baseDir, u['password_file']) } : {}),
    ...(Array.isArray(u['mechanisms']) ? { mechanisms: u['mechanisms'] as SaslUserConfig['mechanisms'] } : {}),
  };
}

/** The scalar settings of a validated file as overrides. */
function settingOverrides(obj: Record<string, unknown>): ConfigOverrides {
  const out: ConfigOverrides = {};
  for (const s of SETTINGS) {
    let v = getPath(obj, s.path);
    if (v === undefined && s.field === 'storage.type') v = getPath(obj, ['storage', STORAGE_TYPE_ALIAS]);
    if (v !== undefined) setOverride(out, s, v);
  }
  return out;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

/** The value node at a file-shape path (through maps only). */
function nodeAt(doc: Document, path: readonly string[]): Node | null | undefined {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (yaml().isSeq(node)) {
      node = node.items[Number(seg)];
      continue;
    }
    if (!yaml().isMap(node)) return undefined;
    const pair = node.items.find((it) => yaml().isScalar(it.key) && String(it.key.value) === seg);
    if (!pair) return undefined;
    node = pair.value;
  }
  return node as Node | null;
}

/** Source offset of a path's value (or of its key when `atKey`), falling back to the nearest parent. */
function offsetOf(doc: Document, path: readonly string[], atKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let best = (doc.contents as Node | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    if (yaml().isSeq(node)) {
      // A list item (`hooks.2`): its own position; no key to point at.
      const item = node.items[Number(path[i])] as Node | undefined;
      if (!item) return best;
      best = item.range?.[0] ?? best;
      if (i === path.length - 1) return best;
      node = item;
      continue;
    }
    if (!yaml().isMap(node)) return best;
    const pair = node.items.find((it) => yaml().isScalar(it.key) && String(it.key.value) === path[i]);
    if (!pair) return best;
    const keyOffset = (pair.key as Node | null)?.range?.[0];
    if (i === path.length - 1) {
      if (atKey) return keyOffset ?? best;
      return (pair.value as Node | null)?.range?.[0] ?? keyOffset ?? best;
    }
    best = keyOffset ?? best;
    node = pair.value;
  }
  return best;
}

/**
 * A topic default as Kafka's string form. Numbers keep their source text, so longs such as
 * 9223372036854775807 survive exactly; a YAML list becomes a comma list.
 */
function topicValueFromNode(node: Node | null | undefined): string | { problem?: string } {
  const scalar = (n: unknown): string | undefined => {
    if (!yaml().isScalar(n)) return undefined;
    const v = n.value;
    if (typeof v === 'number') return (n as { source?: string }).source ?? String(v);
    if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    return undefined;
  };
  if (node === null || (yaml().isScalar(node) && node.value === null)) return { problem: 'must be a value, not null (omit the key to keep the default)' };
  if (yaml().isSeq(node)) {
    const parts = node.items.map(scalar);
    if (parts.some((p) => p === undefined)) return {}; // schema reported it
    return parts.join(',');
  }
  const s = scalar(node);
  return s === undefined ? {} : s;
}

/** Rafka-level rules on top of Kafka's value validation. */
function topicDefaultProblem(name: string, value: string): { message: string; atKey: boolean } | null {
  if (name === 'max.message.bytes') {
    return { atKey: true, message: 'set the broker setting message.max.bytes instead (it is the broker-level synonym of max.message.bytes)' };
  }
  const msg = validateTopicConfig(name, value);
  return msg === null ? null : { message: msg, atKey: false };
}

function getPath(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Sets one setting's value in an overrides object (storage settings nest under `storage`). */
export function setOverride(out: ConfigOverrides, s: Setting, v: unknown): void {
  if (s.kind === 'list') v = listValue(v);
  if (isStorageField(s.field)) {
    out.storage ??= {};
    (out.storage as Record<string, unknown>)[s.field.slice('storage.'.length)] = v;
  } else {
    (out as Record<string, unknown>)[s.field] = v;
  }
}

function getField(o: ConfigOverrides, s: Setting): unknown {
  if (isStorageField(s.field)) return (o.storage as Record<string, unknown> | undefined)?.[s.field.slice('storage.'.length)];
  return (o as Record<string, unknown>)[s.field];
}

// ---- environment --------------------------------------------------------------------------------

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Parses a textual value (environment variable, CLI flag) by the setting's type. Returns the value,
 * or `{ problem }`. Ranges and enums are checked by the schema afterwards.
 */
export function parseSettingText(s: Setting, raw: string): { value: unknown } | { problem: string } {
  const text = raw.trim();
  if (s.nullable && text === 'null') return { value: null };
  switch (s.kind) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(text)) return { problem: `must be an integer (got ${JSON.stringify(raw)})` };
      const n = Number(text);
      if (!Number.isSafeInteger(n)) return { problem: `must be an integer within ±2^53 (got ${JSON.stringify(raw)})` };
      return { value: n };
    }
    case 'boolean': {
      const l = text.toLowerCase();
      if (l === 'true') return { value: true };
      if (l === 'false') return { value: false };
      return { problem: `must be true or false (got ${JSON.stringify(raw)})` };
    }
    case 'string':
    case 'enum':
    case 'list':
      return { value: text };
  }
}

/** RAFKA_* variables as overrides. Throws ConfigError naming the variable(s). */
export function envOverrides(env: NodeJS.ProcessEnv): ConfigOverrides {
  const out: ConfigOverrides = {};
  const issues: ConfigIssue[] = [];
  const envIssue = (variable: string, path: string, problem: string): ConfigIssue => ({
    source: 'env', variable, path, problem, text: `environment variable ${variable}: ${problem}`,
  });
  const usedVar = new Map<string, string>(); // setting key → variable that set it
  for (const s of SETTINGS) {
    const given = s.env.filter((name) => nonEmpty(env[name]) !== undefined);
    if (given.length === 0) continue;
    const [first, ...others] = given;
    const conflicting = others.find((o) => env[o]!.trim() !== env[first!]!.trim());
    if (conflicting) {
      const values = isSecretPath(s.path) ? '' : ` (${JSON.stringify(env[first!])} vs ${JSON.stringify(env[conflicting])})`;
      issues.push(envIssue(first!, s.key, `conflicts with ${conflicting}${values}; set only one`));
      continue;
    }
    const parsed = parseSettingText(s, env[first!]!);
    if ('problem' in parsed) issues.push(envIssue(first!, s.key, parsed.problem));
    else {
      setOverride(out, s, parsed.value);
      usedVar.set(s.key, first!);
    }
  }
  const topicDefaults: Record<string, string> = {};
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(TOPIC_DEFAULTS_ENV_PREFIX) || nonEmpty(raw) === undefined) continue;
    const name = variable.slice(TOPIC_DEFAULTS_ENV_PREFIX.length).toLowerCase().replace(/_/g, '.');
    const path = `${TOPIC_DEFAULTS_KEY}.${name}`;
    if (!TOPIC_CONFIGS.has(name)) {
      issues.push(envIssue(variable, path, `unknown topic config "${name}"`));
      continue;
    }
    const problem = topicDefaultProblem(name, raw!);
    if (problem) issues.push(envIssue(variable, path, problem.message));
    else topicDefaults[name] = raw!;
  }
  if (Object.keys(topicDefaults).length > 0) out.topicDefaults = topicDefaults;
  // Ranges and enums: the same schema as the file.
  for (const p of shapeProblems(validateFileShape(toFileShape(out)) ? [] : validateFileShape.errors)) {
    const key = displayPath(p.path);
    const variable = usedVar.get(key) ?? envNameFor(key);
    issues.push(envIssue(variable, key, p.message));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}

function envNameFor(key: string): string {
  return SETTINGS.find((s) => s.key === key)?.env[0] ?? key;
}

/** Overrides → the file's shape, so the file's schema can check them. */
function toFileShape(o: ConfigOverrides): Record<string, unknown> {
  const shape: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const v = getField(o, s);
    if (v === undefined) continue;
    if (s.path.length === 1) shape[s.path[0]!] = s.kind === 'list' ? listValue(v) : v;
    else ((shape[s.path[0]!] ??= {}) as Record<string, unknown>)[s.path[1]!] = v;
  }
  return shape;
}

// ---- flags --------------------------------------------------------------------------------------

/** Validates programmatic overrides (CLI flags) with the file's rules. Throws ConfigError. */
export function checkOverrides(flags: ConfigOverrides): ConfigOverrides {
  const issues: ConfigIssue[] = [];
  const label = (s: Setting | undefined, fallback: string) => (s?.flag ? `--${s.flag}` : fallback);
  const known = new Set<string>([...SETTINGS.map((s) => s.field as string), 'storage', 'topicDefaults', 'faults']);
  for (const k of Object.keys(flags)) {
    if (!known.has(k) && (flags as Record<string, unknown>)[k] !== undefined) {
      issues.push({ source: 'flags', path: k, flag: k, problem: 'unknown setting', text: `${k}: unknown setting` });
    }
  }
  for (const p of shapeProblems(validateFileShape(toFileShape(flags)) ? [] : validateFileShape.errors)) {
    const key = displayPath(p.path);
    const s = SETTINGS.find((x) => x.key === key);
    const flag = label(s, s ? s.field : key);
    issues.push({ source: 'flags', path: key, flag, problem: p.message, text: `${flag}: ${p.message}` });
  }
  const topicDefaults: Record<string, string> = {};
  for (const [name, value] of Object.entries(flags.topicDefaults ?? {})) {
    const problem = TOPIC_CONFIGS.has(name) ? topicDefaultProblem(name, String(value)) : { message: `unknown topic config "${name}"` };
    if (problem) {
      issues.push({ source: 'flags', path: `${TOPIC_DEFAULTS_KEY}.${name}`, flag: `topicDefaults.${name}`, problem: problem.message, text: `topicDefaults.${name}: ${problem.message}` });
    } else topicDefaults[name] = String(value);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const out: ConfigOverrides = {};
  for (const s of SETTINGS) {
    const v = getField(flags, s);
    if (v !== undefined) setOverride(out, s, v);
  }
  if (Object.keys(topicDefaults).length > 0) out.topicDefaults = topicDefaults;
  if (flags.faults !== undefined) out.faults = flags.faults;
  return out;
}

/** The setting a BrokerConfig field belongs to (for CLI help and messages). */
export function settingForField(field: Setting['field']): Setting | undefined {
  return SETTINGS_BY_FIELD.get(field);
}
