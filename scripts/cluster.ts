/**
 * `npm run cluster -- --brokers 3`: try several Rafka brokers on one PostgreSQL database
 * (docs/cluster.md). Starts a throw-away PostgreSQL cluster (Debian's `postgresql` server binaries
 * in a temporary directory, as test/helpers/postgres.ts), then N broker processes
 * (`rafka start --storage postgres --storage-url … --node-id i --port P`) on local ports, prints the
 * bootstrap servers and waits. Ctrl-C (or SIGTERM) stops the brokers and removes the database.
 *
 * Options: --brokers N (default 3, at most 16), --port P (first broker's port, default 9092; the
 * others follow), --keep-going (restart a broker that exits, to try kill -9 on one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPostgres, startPgCluster } from '../test/helpers/postgres.js';

/** Brokers one command starts: each is a process with a pool of PostgreSQL connections. */
const MAX_BROKERS = 16;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'rafka.js');

const { values } = parseArgs({
  options: { brokers: { type: 'string', default: '3' }, port: { type: 'string', default: '9092' }, 'keep-going': { type: 'boolean', default: false } },
});
const count = Number(values.brokers);
const firstPort = Number(values.port);
if (!Number.isInteger(count) || count < 1 || count > MAX_BROKERS) throw new Error(`--brokers must be 1 to ${MAX_BROKERS}, not ${values.brokers}`);
if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort + count - 1 > 65535) throw new Error(`--port must leave room for ${count} ports, not ${values.port}`);

const server = findPostgres();
if (server.missing !== null) {
  console.error(`cannot start PostgreSQL: ${server.missing}`);
  process.exit(1);
}
const pg = await startPgCluster(server, { durable: true });
let stopping = false;
const children = new Map<number, ChildProcess>();

function startBroker(id: number): ChildProcess {
  const port = firstPort + id - 1;
  const child = spawn(process.execPath, [BIN, 'start', '--storage', 'postgres', '--storage-url', url, '--node-id', String(id), '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches this script only, which stops each broker once, cleanly.
    detached: true,
  });
  const prefix = `[broker ${id}] `;
  const relay = (to: NodeJS.WriteStream) => (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line !== '') to.write(prefix + line + '\n');
  };
  child.stdout!.on('data', relay(process.stdout));
  child.stderr!.on('data', relay(process.stderr));
  child.on('exit', (code, signal) => {
    children.delete(id);
    if (stopping) return;
    console.log(`${prefix}exited (${code ?? signal})`);
    if (values['keep-going']) setTimeout(() => !stopping && children.set(id, startBroker(id)), 1000);
  });
  return child;
}

let url = '';
try {
  url = await pg.createDatabase();
  for (let id = 1; id <= count; id++) children.set(id, startBroker(id));
} catch (err) {
  pg.destroy();
  throw err;
}
const bootstrap = Array.from({ length: count }, (_, i) => `127.0.0.1:${firstPort + i}`).join(',');
console.log(`PostgreSQL: ${url}`);
console.log(`bootstrap servers: ${bootstrap}`);
console.log('Ctrl-C stops the brokers and removes the database.');

async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const exits = [...children.values()].map((c) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : c.once('exit', () => resolve()))));
  for (const c of children.values()) c.kill('SIGTERM');
  await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 15_000))]);
  for (const c of children.values()) c.kill('SIGKILL');
  pg.destroy();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
