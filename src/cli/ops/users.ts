/**
 * `rafka users list|add|remove`: SCRAM users through DescribeUserScramCredentials and
 * AlterUserScramCredentials, as `kafka-configs.sh --entity-type users --alter --add-config
 * 'SCRAM-SHA-512=[password=…]'`. The password is salted by the client (src/client/scram-users.ts)
 * and never sent, printed or logged. It is read from --password-file, else from a prompt when stdin
 * is a terminal (not echoed), else from the first line of stdin — never from the command line,
 * where other users of the machine could see it in the process list.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { SCRAM_DEFAULT_ITERATIONS, SCRAM_MAX_ITERATIONS, SCRAM_MECHANISMS, SCRAM_MIN_ITERATIONS, type ScramMechanism } from '../../protocol/scram.js';
import { collect, intArg, printJson, printLine, printTable, UsageError, withAdmin, withCommon, type CommonOptions, type OpsIO } from './common.js';

/** The longest password line read (a password file that is something else must not be read whole). */
const PASSWORD_MAX_BYTES = 4096;

function parseMechanism(value: string): ScramMechanism {
  const m = value.toUpperCase();
  if ((SCRAM_MECHANISMS as readonly string[]).includes(m)) return m as ScramMechanism;
  throw new InvalidArgumentError(`must be SCRAM-SHA-256 or SCRAM-SHA-512 (got "${value}")`);
}

function firstLine(text: string, from: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new UsageError(`no password in ${from} (its first line is empty)`);
  if (Buffer.byteLength(line) > PASSWORD_MAX_BYTES) throw new UsageError(`the password in ${from} is longer than ${PASSWORD_MAX_BYTES} bytes`);
  return line;
}

/** A line typed at the terminal without echo. */
function prompt(io: OpsIO, question: string): Promise<string> {
  io.stderr.write(question);
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: io.stdin, output: silent, terminal: true });
  return new Promise((resolve) => {
    rl.once('line', (line) => {
      rl.close();
      io.stderr.write('\n');
      resolve(line);
    });
  });
}

async function readPassword(io: OpsIO, user: string, file: string | undefined): Promise<string> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--password-file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return firstLine(text, file);
  }
  if (io.stdin.isTTY) {
    const first = await prompt(io, `Password for ${user}: `);
    const again = await prompt(io, 'Again: ');
    if (first !== again) throw new UsageError('the two passwords differ');
    return firstLine(first, 'the prompt');
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of io.stdin) {
    chunks.push(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    if (bytes > PASSWORD_MAX_BYTES + 2) break;
  }
  return firstLine(Buffer.concat(chunks).toString('utf8'), 'stdin');
}

export function usersCommand(program: Command, io: OpsIO): void {
  const users = program.command('users').description('SCRAM users: list, add (or change a password), remove');

  withCommon(users.command('list').description('users with SCRAM credentials, with their mechanisms and iterations'))
    .argument('[names...]', 'only these users (default: all)')
    .action(async (names: string[], opts: CommonOptions) => {
      await withAdmin(opts, io, async (admin) => {
        const described = await admin.describeUserScramCredentials(names.length > 0 ? names : undefined);
        described.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
        if (opts.json) return printJson(io, described);
        await printTable(io, ['USER', 'MECHANISM', 'ITERATIONS'], described.flatMap((u) => u.credentials.map((c) => [u.user, c.mechanism, c.iterations])));
      });
    });

  withCommon(users.command('add').description('add a SCRAM user, or set a new password (password from --password-file, a prompt, or stdin)'))
    .argument('<name>', 'the user name (the principal User:<name>)')
    .option('-m, --mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default SCRAM-SHA-512)', collect(parseMechanism))
    .option('--iterations <n>', 'SCRAM iterations', intArg(SCRAM_MIN_ITERATIONS, SCRAM_MAX_ITERATIONS), SCRAM_DEFAULT_ITERATIONS)
    .option('--password-file <file>', 'read the password from the first line of this file')
    .action(async (name: string, opts: CommonOptions & { mechanism?: ScramMechanism[]; iterations: number; passwordFile?: string }) => {
      const mechanisms: ScramMechanism[] = [...new Set(opts.mechanism ?? ['SCRAM-SHA-512' as const])];
      const password = await readPassword(io, name, opts.passwordFile);
      await withAdmin(opts, io, async (admin) => {
        await admin.alterUserScramCredentials(mechanisms.map((mechanism) => ({ op: 'upsert', user: name, mechanism, password, iterations: opts.iterations })));
        if (opts.json) return printJson(io, { user: name, mechanisms, iterations: opts.iterations });
        await printLine(io, `added ${mechanisms.join(', ')} credentials for user ${name}`);
      });
    });

  withCommon(users.command('remove').description("remove a user's SCRAM credentials"))
    .argument('<name>', 'the user name')
    .option('-m, --mechanism <mechanism>', 'only this mechanism (repeatable; default: every one the user has)', collect(parseMechanism))
    .action(async (name: string, opts: CommonOptions & { mechanism?: ScramMechanism[] }) => {
      await withAdmin(opts, io, async (admin) => {
        const mechanisms = opts.mechanism ?? (await admin.describeUserScramCredentials([name]))[0]!.credentials.map((c) => c.mechanism);
        if (mechanisms.length === 0) throw new UsageError(`user ${name} has no SCRAM credentials`);
        await admin.alterUserScramCredentials([...new Set(mechanisms)].map((mechanism) => ({ op: 'delete', user: name, mechanism })));
        if (opts.json) return printJson(io, { user: name, removed: mechanisms });
        await printLine(io, `removed ${mechanisms.join(', ')} credentials of user ${name}`);
      });
    });
}
