/**
 * The `rafka` command line: `rafka start [flags]`, `rafka help`, `rafka --version`, and the
 * operations commands (topics, produce, consume, groups, configs, quotas, cluster, transactions,
 * producers, users),
 * which src/cli/ops/program.ts parses and runs.
 *
 * Exit codes: 0 ok (including a clean stop on SIGINT/SIGTERM), 1 configuration or start failure,
 * 2 usage error (unknown command/flag, bad flag value). On ready, `start` prints exactly one line
 * to stdout — `rafka listening on <bootstrap> (storage: <type>, cluster <id>)`, with `, http <url>`
 * inside the parentheses when the HTTP endpoint is on — and on a clean stop
 * `rafka stopped`; everything else goes to stderr.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, parseSettingText, setOverride, type ConfigOverrides } from '../config/load.js';
import { CONFIG_FILE_ENV, SETTINGS } from '../config/schema.js';
import type { BrokerConfig } from '../config/types.js';
import { parseFaultFlag, type FaultSpec } from '../config/fault-entry.js';
import { OPS_COMMANDS } from './ops/names.js';

/** The part of `RunningBroker` (src/broker/index.ts) the CLI uses; lets tests inject a fake. */
interface RunningBrokerLike {
  bootstrap: string;
  host: string;
  port: number;
  clusterId: string;
  /** `http://host:port` of the HTTP endpoint, when `http.listener` is set. */
  httpUrl?: string | null;
  close(): Promise<void>;
}
type StartBroker = (config?: Partial<BrokerConfig>) => Promise<RunningBrokerLike>;

export interface MainOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Line writers; default process.stdout / process.stderr. */
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  /** Broker factory; defaults to `startBroker` from src/broker/index.ts. */
  startBroker?: StartBroker;
  /**
   * After a clean stop, exit the process this many ms later if something (a lingering socket)
   * still keeps it alive. Default 5000; null disables it (in-process tests).
   */
  forceExitAfterMs?: number | null;
}

const FLAG_OPTIONS = {
  config: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  storage: { type: 'string' },
  'data-dir': { type: 'string' },
  'storage-url': { type: 'string' },
  'advertised-host': { type: 'string' },
  'advertised-port': { type: 'string' },
  'node-id': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'http-listener': { type: 'string' },
  fault: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export const USAGE = `Usage:
  rafka start [options]     start a broker (Kafka protocol) in the foreground
  rafka demo                a broker, a producer and a consumer in one process: send, receive, print
  rafka help                show this help
  rafka --version           print the version

Commands for a running cluster (Rafka or Kafka; -b HOST:PORT or $RAFKA_BOOTSTRAP, default
127.0.0.1:9092; --json for JSON; TLS and SASL from --command-config FILE (Kafka client properties)
and -X NAME=VALUE; rafka COMMAND --help for each):
  rafka topics list|describe|create|delete|alter
  rafka produce TOPIC       records from stdin or --file, one per line
  rafka consume TOPIC       print records, with kcat's -o -g -c -e -f
  rafka groups list|describe|reset-offsets|delete
  rafka configs get|set topic|broker NAME
  rafka quotas list|set|remove
  rafka cluster             brokers, APIs and versions
  rafka transactions list|describe
  rafka producers describe TOPIC[:PARTITION]
  rafka users list|add|remove  SCRAM users (password from --password-file, a prompt or stdin)

Options of start:
  --config FILE             YAML configuration (default: $${CONFIG_FILE_ENV}, else built-in defaults);
                            see config/rafka.yaml for every setting
  --host HOST               interface to listen on (default 127.0.0.1)
  --port PORT               port to listen on, 0 = any free port (default 9092)
  --storage TYPE            storage engine: log | memory | rocksdb | postgres (default log)
  --data-dir DIR            data directory of durable storage (default ./data)
  --storage-url URL         postgres storage: postgres://user:pass@host:port/db (default: PG* variables)
  --advertised-host HOST    host name clients are told to connect to
  --advertised-port PORT    port clients are told to connect to
  --node-id N               broker id (default 1)
  --log-level LEVEL         error | warn | info | debug (default info)
  --log-format FORMAT       text | json (default text)
  --http-listener HOST:PORT serve /metrics (Prometheus), /health and /ready there (default: off)
  --fault SPEC              inject a fault, for testing clients (repeatable; docs/testing.md), e.g.
                            api=Produce,errorCode=NOT_LEADER_OR_FOLLOWER,times=2
  -h, --help                show this help
  -v, --version             print the version

Settings are applied in this order, later wins: built-in defaults, the config file,
RAFKA_* environment variables (RAFKA_PORT, RAFKA_STORAGE_TYPE, RAFKA_DATA_DIR, ...), flags.`;

class UsageError extends Error {}

export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const out = opts.stdout ?? ((l: string) => void process.stdout.write(l + '\n'));
  const err = opts.stderr ?? ((l: string) => void process.stderr.write(l + '\n'));
  const env = opts.env ?? process.env;
  // The operations commands have their own parser (commander, src/cli/ops/): options differ per command.
  if (argv[0] !== undefined && OPS_COMMANDS.includes(argv[0])) {
    const { runOps } = await import('./ops/program.js');
    return runOps(argv);
  }
  if (argv[0] === 'help' && argv[1] !== undefined && OPS_COMMANDS.includes(argv[1])) {
    const { runOps } = await import('./ops/program.js');
    return runOps([...argv.slice(1), '--help']);
  }
  const usageError = (message: string): number => {
    err(`rafka: ${message}`);
    err('');
    err(USAGE);
    return 2;
  };

  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAG_OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAG_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usageError(describeParseError(e));
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;

  if (values.version) {
    out(`rafka ${readVersion()}`);
    return 0;
  }
  if (values.help || command === 'help') {
    if (command === 'help' && extra.length > 0 && extra[0] !== 'start') return usageError(`unknown command "${extra[0]}"`);
    out(USAGE);
    return 0;
  }
  if (command === undefined) return usageError('missing command');
  if (command === 'demo') {
    if (extra.length > 0) return usageError(`unexpected argument "${extra[0]}"`);
    // The seed's `cargo run`: everything in one process, in-memory, no setup (src/client/demo.ts).
    const { runDemo } = await import('../client/demo.js');
    await runDemo({ print: out });
    return 0;
  }
  if (command !== 'start') return usageError(`unknown command "${command}"`);
  if (extra.length > 0) return usageError(`unexpected argument "${extra[0]}"`);

  let flags: ConfigOverrides;
  try {
    flags = flagOverrides(values as Record<string, string | boolean | undefined>);
    if (values.fault !== undefined) flags.faults = values.fault.map(faultFlag);
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message);
    throw e;
  }

  let config: BrokerConfig;
  try {
    config = loadConfig({ file: values.config, env, flags });
  } catch (e) {
    if (e instanceof ConfigError) {
      if (e.source === 'flags') return usageError(e.message);
      err('rafka: invalid configuration');
      err(e.message);
      return 1;
    }
    throw e;
  }

  return runBroker(config, { out, err, startBroker: opts.startBroker, forceExitAfterMs: opts.forceExitAfterMs === undefined ? 5000 : opts.forceExitAfterMs });
}

/** `--port 9093` etc. as typed overrides; a value of the wrong type is a usage error. */
function flagOverrides(values: Record<string, string | boolean | undefined>): ConfigOverrides {
  const flags: ConfigOverrides = {};
  for (const s of SETTINGS) {
    if (!s.flag) continue;
    const raw = values[s.flag];
    if (typeof raw !== 'string') continue;
    const parsed = parseSettingText(s, raw);
    if ('problem' in parsed) throw new UsageError(`invalid value for --${s.flag}: ${parsed.problem}`);
    setOverride(flags, s, parsed.value);
  }
  return flags;
}

/** One `--fault key=value,…` (fault-entry.ts); a malformed one is a usage error. */
function faultFlag(text: string): FaultSpec {
  const parsed = parseFaultFlag(text);
  if ('problem' in parsed) throw new UsageError(`invalid value for --fault: ${parsed.problem}`);
  return parsed.spec;
}

function describeParseError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /Unknown option '([^']+)'/.exec(msg);
    return `unknown option ${m ? m[1] : msg}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '(-\w, )?(--[\w-]+)[^']*' argument missing/.exec(msg);
    if (m) return `option ${m[2]} needs a value`;
    const b = /Option '(-\w, )?(--[\w-]+)' does not take an argument/.exec(msg);
    if (b) return `option ${b[2]} does not take a value`;
    const a = /Option '(-\w, )?(--[\w-]+)' argument is ambiguous/.exec(msg);
    if (a) return `option ${a[2]} needs a value (write a value starting with '-' as ${a[2]}=-…)`;
  }
  return msg.split('\n')[0]!;
}

interface RunIO {
  out: (l: string) => void;
  err: (l: string) => void;
  startBroker: StartBroker | undefined;
  forceExitAfterMs: number | null;
}

async function runBroker(config: BrokerConfig, io: RunIO): Promise<number> {
  const { out, err } = io;
  let signalled: NodeJS.Signals | null = null;
  let wake: (() => void) | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled !== null) {
      err(`rafka: ${sig} again, exiting immediately`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    signalled = sig;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const removeHandlers = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  let broker: RunningBrokerLike;
  try {
    const start = io.startBroker ?? (await loadStartBroker());
    broker = await start(config);
  } catch (e) {
    removeHandlers();
    err(`rafka: ${describeStartError(e, config)}`);
    return 1;
  }

  const http = broker.httpUrl ? `, http ${broker.httpUrl}` : '';
  out(`rafka listening on ${broker.bootstrap} (storage: ${config.storage.type}, cluster ${broker.clusterId}${http})`);

  if (signalled === null) await new Promise<void>((resolve) => (wake = resolve));
  err(`rafka: ${signalled}, shutting down`);
  let code = 0;
  try {
    await broker.close();
    out('rafka stopped');
  } catch (e) {
    err(`rafka: error while stopping: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  }
  removeHandlers();
  if (io.forceExitAfterMs !== null) setTimeout(() => process.exit(code), io.forceExitAfterMs).unref();
  return code;
}

async function loadStartBroker(): Promise<StartBroker> {
  // Loaded lazily: `rafka --help` / `--version` need not load the whole broker.
  const [mod, { CONSOLE_EXTENSION }, { connectPeer }] = await Promise.all([import('../broker/index.js'), import('../console/extension.js'), import('../client/peer.js')]);
  return (config) => mod.startBroker({ httpExtensions: [CONSOLE_EXTENSION], peerConnector: connectPeer, ...config });
}

function describeStartError(e: unknown, config: BrokerConfig): string {
  if (e instanceof ConfigError) return `invalid configuration\n${e.message}`;
  const error = e as NodeJS.ErrnoException & { address?: string; port?: number; listener?: string };
  // The HTTP endpoint's listen errors carry `listener: 'http'` (src/broker/http/server.ts).
  const http = error.listener === 'http';
  const where = http ? `${config.httpListener} (http.listener)` : `${error.address ?? config.host}:${error.port ?? config.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: address already in use (is another broker running? try ${http ? '--http-listener' : '--port'})`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: address not available on this machine (check ${http ? '--http-listener' : '--host'})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${where}: unknown host (check ${http ? '--http-listener' : '--host'})`;
    case 'ERR_MODULE_NOT_FOUND':
      return `cannot load the broker: ${error.message}`;
    default:
      return `failed to start: ${error instanceof Error ? error.message : String(e)}`;
  }
}

function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rafka' && pkg.version) return pkg.version;
    } catch {
      // keep looking upwards
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
