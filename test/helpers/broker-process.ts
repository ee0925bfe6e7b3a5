/** A broker in its own process, started as users start it (`node bin/rafka.js start …`). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(REPO, 'bin', 'rafka.js');

export interface BrokerProcess {
  child: ChildProcessWithoutNullStreams;
  port: number;
  /** The `rafka listening on …` line. */
  line: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment without the developer's RAFKA_* variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RAFKA_')) env[k] = v;
  return { ...env, ...extra };
}

/** Spawn `rafka start --port 0 …args` and resolve once it listens. */
export function startBrokerProcess(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', ...args], { cwd: opts.cwd ?? REPO, env: cleanEnv(opts.env) });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`broker did not listen within ${opts.timeoutMs ?? 20_000} ms; stderr=${err}`));
    }, opts.timeoutMs ?? 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^rafka listening on [^\s]+:(\d+).*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), line: m[0], stderr: () => err, exited });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code ?? signal}) before listening; stderr=${err}`));
    });
  });
}

/** Kill the broker with SIGKILL (a crash: no shutdown code runs) and wait for it to be gone. */
export async function kill9(b: BrokerProcess): Promise<void> {
  b.child.kill('SIGKILL');
  await b.exited;
}

/** SIGTERM (clean shutdown) and wait; returns the exit code. */
export async function stop(b: BrokerProcess): Promise<number | null> {
  b.child.kill('SIGTERM');
  return (await b.exited).code;
}
