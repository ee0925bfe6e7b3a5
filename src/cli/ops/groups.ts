/**
 * `rafka groups list|describe|reset-offsets|delete`: consumer groups, their members, committed
 * offsets and lag, as Kafka's kafka-consumer-groups.sh shows them.
 *
 * reset-offsets follows Kafka's tool: the group must have no active members (state Empty, or Dead
 * for a group that never existed), the new offsets are only printed unless --execute is given, and
 * an offset asked for (--to-offset, --shift-by) is kept within the partition's earliest and latest.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Admin, GroupDescription } from '../../client/admin.js';
import type { TopicPartition } from '../../client/assignors.js';
import { KafkaProtocolError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { collect, intArg, printJson, printLine, printTable, UsageError, withAdmin, withCommon, type CommonOptions, type OpsIO } from './common.js';

/** States in which a group has no active members, so its offsets may be changed from outside. */
const INACTIVE_STATES = ['Empty', 'Dead'];

/** A group Kafka describes as Dead, with no members and no committed offsets, does not exist. */
async function describeExisting(admin: Admin, group: string): Promise<GroupDescription> {
  const [d] = await admin.describeGroups([group]);
  if (!d || (d.state === 'Dead' && d.members.length === 0 && (await admin.listGroupOffsets(group)).length === 0)) {
    throw new KafkaProtocolError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${group}`);
  }
  return d;
}

function parseDatetime(value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`must be a date and time such as 2026-01-31T12:00:00Z (got "${value}")`);
  return ms;
}

interface ResetOptions extends CommonOptions {
  topic?: string[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: number;
  shiftBy?: number;
  toDatetime?: number;
  execute?: boolean;
  dryRun?: boolean;
}

export function groupsCommand(program: Command, io: OpsIO): void {
  const groups = program.command('groups').description('list, describe, reset offsets of and delete consumer groups');

  withCommon(groups.command('list').description('consumer groups with their state'))
    .action(async (opts: CommonOptions) => {
      await withAdmin(opts, io, async (admin) => {
        const list = await admin.listGroups();
        if (opts.json) return printJson(io, list);
        await printTable(io, ['GROUP', 'STATE', 'TYPE'], list.map((g) => [g.groupId, g.state, g.protocolType]));
      });
    });

  withCommon(groups.command('describe').description("a group's members, committed offsets and lag per partition"))
    .argument('<group>', 'group id')
    .action(async (group: string, opts: CommonOptions) => {
      await withAdmin(opts, io, async (admin) => {
        const d = await describeExisting(admin, group);
        const offsets = await admin.groupLag(group);
        if (opts.json) {
          return printJson(io, {
            groupId: d.groupId,
            state: d.state,
            protocolType: d.protocolType,
            protocol: d.protocol,
            members: d.members,
            offsets,
          });
        }
        await printLine(io, `Group: ${d.groupId}  state: ${d.state}  protocol: ${d.protocol || '-'}  members: ${d.members.length}`);
        await printTable(
          io,
          ['TOPIC', 'PARTITION', 'COMMITTED', 'LOG-END', 'LAG', 'MEMBER', 'CLIENT'],
          offsets.map((o) => [o.topic, o.partition, o.committedOffset >= 0 ? o.committedOffset : null, o.logEndOffset >= 0 ? o.logEndOffset : null, o.lag, o.memberId, o.clientId]),
        );
      });
    });

  withCommon(groups.command('reset-offsets').description("move an inactive group's committed offsets (printed only, unless --execute)"))
    .argument('<group>', 'group id')
    .option('-t, --topic <topic[:p,...]>', 'a topic, or some of its partitions (repeatable)', collect(String))
    .option('--all-topics', 'every topic the group has committed offsets for')
    .option('--to-earliest', 'to the earliest offset')
    .option('--to-latest', 'to the latest offset')
    .option('--to-offset <n>', 'to this offset', intArg(0))
    .option('--shift-by <n>', 'move the committed offset by n (negative: back)', intArg(Number.MIN_SAFE_INTEGER))
    .option('--to-datetime <iso>', 'to the first offset at or after this time', parseDatetime)
    .option('--execute', 'apply the new offsets')
    .option('--dry-run', 'only print the new offsets (the default)')
    .action(async (group: string, opts: ResetOptions) => {
      const targets = [opts.toEarliest, opts.toLatest, opts.toOffset, opts.shiftBy, opts.toDatetime].filter((v) => v !== undefined);
      if (targets.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime');
      if ((opts.topic === undefined) === (opts.allTopics !== true)) throw new UsageError('give --topic (repeatable) or --all-topics');
      if (opts.execute && opts.dryRun) throw new UsageError('--execute and --dry-run exclude each other');
      const specs = (opts.topic ?? []).map((t) => {
        const m = /^([^:]+)(?::(\d+(?:,\d+)*))?$/.exec(t);
        if (!m) throw new UsageError(`expected TOPIC or TOPIC:P,P,… (got "${t}")`);
        return { topic: m[1]!, partitions: m[2]?.split(',').map(Number) ?? null };
      });
      await withAdmin(opts, io, async (admin) => {
        const d = await admin.describeGroups([group]).then(
          ([g]) => g,
          (e: unknown) => {
            // A group that does not exist (Kafka 4 may say so instead of Dead) may be given offsets.
            if (e instanceof KafkaProtocolError && e.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return undefined;
            throw e;
          },
        );
        if (d && !INACTIVE_STATES.includes(d.state)) {
          throw new Error(`group ${group} is ${d.state} with ${d.members.length} member(s): offsets can only be reset while it has no active members`);
        }
        const committed = new Map((await admin.listGroupOffsets(group)).map((o) => [`${o.topic}\u0000${o.partition}`, o.offset]));
        const tps: TopicPartition[] = [];
        if (opts.allTopics) {
          for (const k of committed.keys()) {
            const [topic, p] = k.split('\u0000') as [string, string];
            tps.push({ topic, partition: Number(p) });
          }
        } else {
          for (const s of specs) {
            const [t] = await admin.describeTopics([s.topic]);
            const all = t!.partitions.filter(Boolean).map((p) => p.partition);
            for (const p of s.partitions ?? all) {
              if (!all.includes(p)) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${s.topic} has no partition ${p}`);
              tps.push({ topic: s.topic, partition: p });
            }
          }
        }
        const plan = await planReset(admin, tps, committed, opts);
        if (opts.execute && plan.length > 0) await admin.alterGroupOffsets(group, plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })));
        if (!opts.execute) io.stderr.write('rafka: dry run, nothing changed (add --execute to apply)\n');
        if (opts.json) return printJson(io, { groupId: group, executed: opts.execute === true, offsets: plan });
        await printTable(io, ['TOPIC', 'PARTITION', 'PREVIOUS', 'NEW'], plan.map((p) => [p.topic, p.partition, p.previousOffset, p.newOffset]));
      });
    });

  withCommon(groups.command('delete').description('delete groups that have no active members, with their offsets'))
    .argument('<group...>', 'group ids')
    .action(async (ids: string[], opts: CommonOptions) => {
      await withAdmin(opts, io, async (admin) => {
        await admin.deleteGroups(ids);
        if (opts.json) return printJson(io, { deleted: ids });
        for (const g of ids) await printLine(io, `deleted group ${g}`);
      });
    });
}

interface PlannedOffset extends TopicPartition {
  /** The committed offset before; null when the group had none. */
  previousOffset: number | null;
  newOffset: number;
}

async function planReset(admin: Admin, tps: TopicPartition[], committed: Map<string, number>, opts: ResetOptions): Promise<PlannedOffset[]> {
  const topics = [...new Set(tps.map((tp) => tp.topic))];
  const lookup = async (topic: string, spec: 'earliest' | 'latest' | { timestamp: number }) => new Map((await admin.listOffsets(topic, spec)).map((o) => [o.partition, o.offset]));
  const plan: PlannedOffset[] = [];
  for (const topic of topics) {
    const [earliest, latest] = await Promise.all([lookup(topic, 'earliest'), lookup(topic, 'latest')]);
    const byTime = opts.toDatetime !== undefined ? await lookup(topic, { timestamp: opts.toDatetime }) : null;
    for (const tp of tps.filter((x) => x.topic === topic)) {
      const lo = earliest.get(tp.partition) ?? 0;
      const hi = latest.get(tp.partition) ?? 0;
      const clamp = (n: number) => Math.min(hi, Math.max(lo, n));
      const previous = committed.get(`${topic}\u0000${tp.partition}`) ?? null;
      let next: number;
      if (opts.toEarliest) next = lo;
      else if (opts.toLatest) next = hi;
      else if (opts.toOffset !== undefined) next = clamp(opts.toOffset);
      else if (opts.shiftBy !== undefined) {
        if (previous === null) throw new Error(`cannot shift the offset of ${topic}-${tp.partition}: the group has no committed offset there`);
        next = clamp(previous + opts.shiftBy);
      } else {
        const at = byTime!.get(tp.partition) ?? -1;
        next = at >= 0 ? at : hi;
      }
      plan.push({ topic, partition: tp.partition, previousOffset: previous, newOffset: next });
    }
  }
  return plan.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}
