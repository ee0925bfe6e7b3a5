/**
 * Run `node --test` on files of its own, as a user would (not as a child of the runner running this
 * test: NODE_TEST_CONTEXT is removed), with the TAP reporter; resolves with its exit code, all it
 * printed, and the run's duration as node:test reports it.
 */
import { spawn } from 'node:child_process';

export interface NodeTestRun {
  code: number | null;
  /** stdout and stderr, interleaved. */
  out: string;
  /** TAP's `# duration_ms` of the run (NaN if absent). */
  durationMs: number;
  wallMs: number;
}

export async function runNodeTest(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<NodeTestRun> {
  const env = { ...(options.env ?? process.env) };
  delete env.NODE_TEST_CONTEXT;
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--test', '--test-reporter=tap', ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { code, out, durationMs: Number(/^# duration_ms ([\d.]+)$/m.exec(out)?.[1]), wallMs };
}
