/**
 * Runs the `rafka` command as a user does (`node bin/rafka.js …`), asynchronously, so that a broker in
 * the test's own process keeps serving while the command runs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './external.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(REPO, 'bin', 'rafka.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment without the developer's RAFKA_* variables, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RAFKA_')) env[k] = v;
  return { ...env, ...extra };
}

export async function rafka(args: readonly string[], o: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const r = await run(process.execPath, [BIN, ...args], { input: o.input, env: cliEnv(o.env), check: false, timeoutMs: o.timeoutMs ?? 60_000, cwd: REPO });
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr, ms: r.ms };
}

/** `rafka …` against `bootstrap`, which must succeed (exit 0, nothing on stderr but notes). */
export async function ok(bootstrap: string, args: readonly string[], o: { input?: string } = {}): Promise<string> {
  const r = await rafka([...args, '-b', bootstrap], o);
  assert.equal(r.code, 0, `rafka ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
  return r.stdout;
}

export async function okJson<T = unknown>(bootstrap: string, args: readonly string[], o: { input?: string } = {}): Promise<T> {
  return JSON.parse(await ok(bootstrap, [...args, '--json'], o)) as T;
}

/** `rafka …` that must fail with `code` and exactly one line on stderr matching `message`. */
export async function fails(bootstrap: string | null, args: readonly string[], code: 1 | 2, message: RegExp, o: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await rafka(bootstrap === null ? args : [...args, '-b', bootstrap], o);
  assert.equal(r.code, code, `rafka ${args.join(' ')}: expected exit ${code}, got ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `rafka ${args.join(' ')}: expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, message);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?/, 'no stack trace');
  return r;
}
