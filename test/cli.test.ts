/**
 * The `rafka` command, spawned as users run it (`node bin/rafka.js …` from the repo root).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'rafka.js');
const LISTENING = /^rafka listening on (127\.0\.0\.1):(\d+) \(storage: memory, cluster (\S+)\)$/;

/**
 * The environment without any RAFKA_* variable of the developer's shell, with the broker in memory:
 * the standalone default is the log engine in ./data, which these tests must not touch (the default
 * itself is checked in storage-log-restart.test.ts, in a temporary working directory).
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RAFKA_')) env[k] = v;
  return { ...env, RAFKA_STORAGE_TYPE: 'memory', RAFKA_STORAGE_PATH: 'null', ...extra };
}

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO, env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?/, `unexpected stack trace:\n${text}`);
}

interface Started {
  child: ChildProcessWithoutNullStreams;
  line: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `rafka start …` and resolves once the listening line is printed. */
function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'start', ...args], { cwd: REPO, env: cleanEnv(env) });
  let out = '';
  let err = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line within 15s; stdout=${out} stderr=${err}`));
    }, 15_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const first = out.split('\n')[0]!;
      if (out.includes('\n') && timer) {
        clearTimeout(timer);
        resolve({ child, line: first, stdout: () => out, stderr: () => err, exit });
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`rafka exited (${code}) before listening; stderr=${err}`));
    });
  });
}

describe('usage errors exit 2 with a readable message and the usage', () => {
  const cases: Array<[string[], RegExp]> = [
    [['start', '--bogus'], /^rafka: unknown option --bogus$/m],
    [['start', '--port', 'abc'], /^rafka: invalid value for --port: must be an integer \(got "abc"\)$/m],
    [['start', '--port', '70000'], /^rafka: --port: must be <= 65535 \(got 70000\)$/m],
    [['start', '--storage', 'rocks'], /^rafka: --storage: must be one of memory, log, rocksdb, postgres \(got "rocks"\)$/m],
    [['start', '--node-id=-1'], /^rafka: --node-id: must be >= 0 \(got -1\)$/m],
    [['start', '--node-id', '-1'], /^rafka: option --node-id needs a value \(write a value starting with '-' as --node-id=-…\)$/m],
    [['start', '--port'], /^rafka: option --port needs a value$/m],
    [['start', '--http-listener', 'localhost'], /^rafka: --http-listener: must have the form HOST:PORT with a port 0-65535, e\.g\. 127\.0\.0\.1:9644 \(\[::1\]:9644 for IPv6\) \(got "localhost"\)$/m],
    [['start', '--log-format', 'yaml'], /^rafka: --log-format: must be one of text, json \(got "yaml"\)$/m],
    [['start', 'extra'], /^rafka: unexpected argument "extra"$/m],
    [['frobnicate'], /^rafka: unknown command "frobnicate"$/m],
    [[], /^rafka: missing command$/m],
  ];
  for (const [args, message] of cases) {
    test(`rafka ${args.join(' ')}`, () => {
      const r = run(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^Usage:/m);
      assert.equal(r.stdout, '');
      assertNoStack(r.stderr);
    });
  }
});

test('rafka --help and rafka help print the usage', () => {
  for (const args of [['--help'], ['help'], ['-h'], ['start', '--help']]) {
    const r = run(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^Usage:/);
    assert.match(r.stdout, /rafka start \[options\]/);
    assert.match(r.stdout, /--data-dir DIR/);
  }
});

test('rafka --version prints the package version', () => {
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  for (const args of [['--version'], ['-v']]) {
    const r = run(args);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `rafka ${version}\n`);
  }
});

test('a bad config file exits 1 naming file, line and key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rafka-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'port: 0\nstorage:\n  storage_type: rocks\n');
    for (const r of [run(['start', '--config', file]), run(['start'], { RAFKA_CONFIG: file })]) {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^rafka: invalid configuration$/m);
      assert.ok(r.stderr.includes(`${file}:3:17: storage.storage_type: must be one of memory, log, rocksdb, postgres (got "rocks")`), r.stderr);
      assertNoStack(r.stderr);
    }
    const env = run(['start'], { RAFKA_PORT: 'nine' });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /environment variable RAFKA_PORT: must be an integer \(got "nine"\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('rafka start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`--port 0 prints the listening line; ${signal} stops it cleanly`, async () => {
      const s = await start(['--port', '0']);
      const m = LISTENING.exec(s.line);
      assert.ok(m, `unexpected line: ${s.line}`);
      assert.notEqual(Number(m[2]), 0);
      s.child.kill(signal);
      const { code } = await s.exit;
      assert.equal(code, 0, s.stderr());
      assert.equal(s.stdout(), `${s.line}\nrafka stopped\n`);
      assertNoStack(s.stderr());
    });
  }

  test('settings come from file < env < flags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rafka-cli-'));
    try {
      const file = join(dir, 'rafka.yaml');
      writeFileSync(file, 'port: 1\ncluster.id: from-file\n');
      const s = await start(['--config', file], { RAFKA_PORT: '0', RAFKA_CLUSTER_ID: 'from-env' });
      const m = LISTENING.exec(s.line);
      assert.ok(m, s.line);
      assert.notEqual(Number(m[2]), 1);
      assert.equal(m[3], 'from-env');
      s.child.kill('SIGTERM');
      assert.equal((await s.exit).code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--http-listener serves /ready and /metrics; --log-format json writes JSON lines', async () => {
    const s = await start(['--port', '0', '--http-listener', '127.0.0.1:0', '--log-format', 'json']);
    const m = /^rafka listening on 127\.0\.0\.1:\d+ \(storage: memory, cluster \S+, http (http:\/\/127\.0\.0\.1:\d+)\)$/.exec(s.line);
    assert.ok(m, `unexpected line: ${s.line}`);
    const ready = await fetch(`${m[1]}/ready`);
    assert.equal(ready.status, 200);
    assert.match(await (await fetch(`${m[1]}/metrics`)).text(), /^rafka_broker_ready 1$/m);
    s.child.kill('SIGTERM');
    assert.equal((await s.exit).code, 0, s.stderr());
    const lines = s.stderr().split('\n').filter((l) => l.startsWith('{'));
    const endpoint = lines.map((l) => JSON.parse(l) as { level: string; msg: string; time: string }).find((l) => l.msg.startsWith('http endpoint on '));
    assert.ok(endpoint, s.stderr());
    assert.equal(endpoint.level, 'info');
    assert.equal(endpoint.msg, `http endpoint on ${m[1]} (/metrics, /health, /ready; web console at /)`);
    assert.ok(!Number.isNaN(Date.parse(endpoint.time)));
  });

  test('an http.listener port in use exits 1 naming http.listener', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = run(['start', '--port', '0', '--http-listener', `127.0.0.1:${port}`]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^rafka: cannot listen on 127\\.0\\.0\\.1:${port} \\(http\\.listener\\): address already in use .*--http-listener`, 'm'));
      assertNoStack(r.stderr);
    } finally {
      server.close();
    }
  });

  test('a port in use exits 1 with a readable message', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'start', '--port', String(port)], { cwd: REPO, env: cleanEnv() });
        let stderr = '';
        let stdout = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.on('exit', (code) => resolve({ code, stderr, stdout }));
      });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^rafka: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`, 'm'));
      assertNoStack(r.stderr);
    } finally {
      server.close();
    }
  });
});

test('rafka demo sends and receives in one process, like the seed', () => {
  const r = run(['demo']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /broker listening on 127\.0\.0\.1:\d+/);
  assert.match(r.stdout, /done: 10 sent, 10 received/);
});
