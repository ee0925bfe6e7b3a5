/**
 * `rafka topics list|describe|create|delete|alter`: CreateTopics, DeleteTopics, CreatePartitions and
 * IncrementalAlterConfigs at the controller; Metadata, ListOffsets and DescribeConfigs to describe.
 */
import type { Command } from 'commander';
import type { Admin } from '../../client/admin.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { KafkaProtocolError } from '../../client/errors.js';
import { collect, intArg, keyValue, printJson, printLine, printTable, UsageError, withAdmin, withCommon, write, type CommonOptions, type OpsIO } from './common.js';

interface TopicSummary {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: number;
  replicationFactor: number;
}

async function summaries(admin: Admin, names: string[]): Promise<TopicSummary[]> {
  if (names.length === 0) return [];
  const described = await admin.describeTopics(names);
  return described.map((t) => ({
    name: t.name,
    topicId: t.topicId,
    internal: t.isInternal,
    partitions: t.partitions.filter(Boolean).length,
    replicationFactor: t.partitions.find(Boolean)?.replicas.length ?? 0,
  }));
}

export function topicsCommand(program: Command, io: OpsIO): void {
  const topics = program.command('topics').description('list, describe, create, delete and alter topics');

  withCommon(topics.command('list').description('list topics with their partition counts'))
    .option('--internal', 'include internal topics (__consumer_offsets, …)')
    .action(async (opts: CommonOptions & { internal?: boolean }) => {
      await withAdmin(opts, io, async (admin) => {
        const list = await summaries(admin, await admin.listTopics({ includeInternal: opts.internal === true }));
        if (opts.json) return printJson(io, list);
        await printTable(io, ['TOPIC', 'PARTITIONS', 'REPLICATION', 'ID'], list.map((t) => [t.name, t.partitions, t.replicationFactor, t.topicId]));
      });
    });

  withCommon(topics.command('describe').description('partitions (leader, replicas, offsets) and non-default configs of topics'))
    .argument('<topic...>', 'topics to describe')
    .action(async (names: string[], opts: CommonOptions) => {
      await withAdmin(opts, io, async (admin) => {
        const described = await admin.describeTopics(names);
        const configs = await admin.describeConfigs(names.map((name) => ({ type: 'topic' as const, name })));
        const out = [];
        for (const t of described) {
          const [earliest, latest] = await Promise.all([admin.listOffsets(t.name, 'earliest'), admin.listOffsets(t.name, 'latest')]);
          const at = (list: { partition: number; offset: number }[], p: number) => list.find((o) => o.partition === p)?.offset ?? -1;
          out.push({
            name: t.name,
            topicId: t.topicId,
            internal: t.isInternal,
            partitions: t.partitions.filter(Boolean).map((p) => ({
              partition: p.partition,
              leader: p.leader,
              replicas: p.replicas,
              isr: p.isr,
              startOffset: at(earliest, p.partition),
              endOffset: at(latest, p.partition),
            })),
            configs: Object.fromEntries(
              (configs.find((c) => c.name === t.name)?.configs ?? []).filter((c) => !c.isDefault).map((c) => [c.name, c.isSensitive ? null : c.value]),
            ),
          });
        }
        if (opts.json) return printJson(io, out);
        for (const [i, t] of out.entries()) {
          if (i > 0) await write(io.stdout, '\n');
          await printLine(io, `Topic: ${t.name}  id: ${t.topicId}  partitions: ${t.partitions.length}${t.internal ? '  (internal)' : ''}`);
          const cfg = Object.entries(t.configs);
          if (cfg.length > 0) await printLine(io, `Configs: ${cfg.map(([k, v]) => `${k}=${v ?? '(sensitive)'}`).join(', ')}`);
          await printTable(
            io,
            ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'START', 'END'],
            t.partitions.map((p) => [p.partition, p.leader, p.replicas.join(','), p.isr.join(','), p.startOffset, p.endOffset]),
          );
        }
      });
    });

  withCommon(topics.command('create').description('create topics'))
    .argument('<topic...>', 'topics to create')
    .option('-p, --partitions <n>', "number of partitions (default: the broker's num.partitions)", intArg(1, 1_000_000))
    .option('-r, --replication-factor <n>', "replicas per partition (default: the broker's)", intArg(1, 32767))
    .option('-c, --config <name=value>', 'a topic config (repeatable)', collect(keyValue))
    .option('--if-not-exists', 'succeed when a topic already exists')
    .action(async (names: string[], opts: CommonOptions & { partitions?: number; replicationFactor?: number; config?: [string, string][]; ifNotExists?: boolean }) => {
      await withAdmin(opts, io, async (admin) => {
        await admin.createTopics(
          names.map((topic) => ({ topic, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor, configs: Object.fromEntries(opts.config ?? []) })),
          { ignoreExisting: opts.ifNotExists === true },
        );
        if (opts.json) return printJson(io, { created: names });
        for (const n of names) await printLine(io, `created topic ${n}`);
      });
    });

  withCommon(topics.command('delete').description('delete topics and their data'))
    .argument('<topic...>', 'topics to delete')
    .option('--if-exists', 'succeed when a topic does not exist')
    .action(async (names: string[], opts: CommonOptions & { ifExists?: boolean }) => {
      await withAdmin(opts, io, async (admin) => {
        const deleted: string[] = [];
        for (const n of names) {
          try {
            await admin.deleteTopics([n]);
            deleted.push(n);
          } catch (e) {
            if (!(opts.ifExists && e instanceof KafkaProtocolError && e.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) throw e;
          }
        }
        if (opts.json) return printJson(io, { deleted });
        for (const n of deleted) await printLine(io, `deleted topic ${n}`);
      });
    });

  withCommon(topics.command('alter').description("add partitions to a topic, or change its configs"))
    .argument('<topic>', 'topic to alter')
    .option('-p, --partitions <n>', 'grow the topic to this many partitions', intArg(1, 1_000_000))
    .option('-c, --config <name=value>', 'set a topic config (repeatable)', collect(keyValue))
    .option('-d, --delete-config <name>', 'remove a topic config, back to its default (repeatable)', collect(String))
    .action(async (name: string, opts: CommonOptions & { partitions?: number; config?: [string, string][]; deleteConfig?: string[] }) => {
      const changes = [
        ...(opts.config ?? []).map(([n, value]) => ({ name: n, value, op: 'set' as const })),
        ...(opts.deleteConfig ?? []).map((n) => ({ name: n, op: 'delete' as const })),
      ];
      if (opts.partitions === undefined && changes.length === 0) throw new UsageError('nothing to alter: give --partitions, --config or --delete-config');
      await withAdmin(opts, io, async (admin) => {
        if (opts.partitions !== undefined) await admin.createPartitions([{ topic: name, count: opts.partitions }]);
        if (changes.length > 0) await admin.alterConfigs([{ type: 'topic', name, configs: changes }]);
        if (opts.json) return printJson(io, { topic: name, partitions: opts.partitions ?? null, set: Object.fromEntries(opts.config ?? []), deleted: opts.deleteConfig ?? [] });
        if (opts.partitions !== undefined) await printLine(io, `topic ${name} now has ${opts.partitions} partitions`);
        for (const c of changes) await printLine(io, c.op === 'set' ? `set ${c.name}=${c.value} on topic ${name}` : `removed ${c.name} from topic ${name}`);
      });
    });
}
