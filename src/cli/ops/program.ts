/**
 * The operations commands of `rafka` (everything but `start`, `demo` and `help`), parsed with
 * commander: `rafka topics|produce|consume|groups|configs|quotas|cluster|transactions|producers|users|acls …`.
 * src/cli/main.ts hands argv here when its first word is one of OPS_COMMANDS (names.ts).
 *
 * Exit codes: 0 success (and --help); 1 a failure from the broker or an unreachable broker; 2 bad
 * usage. A failure is one line on stderr — `rafka topics create: unknown option '--bogus' (see …)`
 * for usage, `rafka: TOPIC_ALREADY_EXISTS: …` for the broker — never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { UsageError, type OpsIO } from './common.js';
import { topicsCommand } from './topics.js';
import { produceCommand } from './produce.js';
import { consumeCommand } from './consume.js';
import { groupsCommand } from './groups.js';
import { configsCommand } from './configs.js';
import { quotasCommand } from './quotas.js';
import { clusterCommand } from './cluster.js';
import { transactionsCommand } from './transactions.js';
import { usersCommand } from './users.js';
import { aclsCommand } from './acls.js';

/** One line for a terminal: multi-line messages (commander's suggestions, broker texts) joined. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function buildProgram(io: OpsIO, onCommand: (cmd: Command) => void): Command {
  const program = new Command('rafka')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => {}, // reported by runOps, as one line
    })
    .showSuggestionAfterError(true);
  topicsCommand(program, io);
  produceCommand(program, io);
  consumeCommand(program, io);
  groupsCommand(program, io);
  configsCommand(program, io);
  quotasCommand(program, io);
  clusterCommand(program, io);
  transactionsCommand(program, io);
  usersCommand(program, io);
  aclsCommand(program, io);
  const visit = (cmd: Command) => {
    cmd.hook('preSubcommand', (_parent, sub) => onCommand(sub));
    for (const sub of cmd.commands) {
      if (sub.commands.length > 0) {
        // A command group without (or with an unknown) subcommand is a usage error of one line,
        // not commander's help on stderr.
        const names = sub.commands.map((c) => c.name()).join(', ');
        sub.allowExcessArguments(true).action((_opts: unknown, self: Command) => {
          const [first] = self.args;
          throw new UsageError(first === undefined ? `missing command (one of ${names})` : `unknown command "${first}" (one of ${names})`);
        });
        visit(sub);
      }
    }
  };
  visit(program);
  return program;
}

export function defaultIO(): OpsIO {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    // Only touched by `produce`: opening stdin would keep other commands waiting on it.
    get stdin() {
      return process.stdin;
    },
  };
}

export async function runOps(argv: readonly string[], io: OpsIO = defaultIO()): Promise<number> {
  const seen: { cmd: Command | null } = { cmd: null };
  const program = buildProgram(io, (cmd) => (seen.cmd = cmd));
  // A reader that went away (`rafka consume t | head`) is not our failure.
  const ignore = () => {};
  io.stdout.on('error', ignore);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const where = seen.cmd ? commandPath(seen.cmd) : 'rafka';
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help, --version
      io.stderr.write(`${where}: ${oneLine(e.message.replace(/^error: /, ''))} (see ${where} --help)\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      io.stderr.write(`${where}: ${oneLine(e.message)} (see ${where} --help)\n`);
      return 2;
    }
    io.stderr.write(`rafka: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
    return 1;
  } finally {
    io.stdout.off('error', ignore);
  }
}
