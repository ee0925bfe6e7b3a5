/**
 * `rafka quotas list|set|remove`: DescribeClientQuotas and AlterClientQuotas, as kafka-configs.sh
 * --describe / --alter with --entity-type users|clients (src/broker/quotas/). An entity is a user,
 * a client id or both; `--default-user` / `--default-client-id` name that type's default
 * (`<default>` in kafka-configs.sh).
 */
import type { Command } from 'commander';
import type { ClientQuotaEntity, ClientQuotaFilterComponent } from '../../client/admin.js';
import { keyValue, printJson, printLine, printTable, UsageError, withAdmin, withCommon, type CommonOptions, type OpsIO } from './common.js';

interface EntityOptions {
  user?: string;
  defaultUser?: boolean;
  clientId?: string;
  defaultClientId?: boolean;
}

function withEntity(cmd: Command): Command {
  return cmd
    .option('--user <name>', 'a user (principal name)')
    .option('--default-user', "the users' default")
    .option('--client-id <id>', 'a client id')
    .option('--default-client-id', "the client ids' default");
}

/** The entity the options name; refused when they name none, or a name and the default of one type. */
function entityOf(o: EntityOptions): ClientQuotaEntity {
  if (o.user !== undefined && o.defaultUser) throw new UsageError('give --user or --default-user, not both');
  if (o.clientId !== undefined && o.defaultClientId) throw new UsageError('give --client-id or --default-client-id, not both');
  const e: ClientQuotaEntity = {};
  if (o.user !== undefined) e.user = o.user;
  else if (o.defaultUser) e.user = null;
  if (o.clientId !== undefined) e.clientId = o.clientId;
  else if (o.defaultClientId) e.clientId = null;
  if (e.user === undefined && e.clientId === undefined) throw new UsageError('name an entity: --user, --default-user, --client-id and/or --default-client-id');
  return e;
}

function showEntity(e: ClientQuotaEntity): string {
  const parts: string[] = [];
  if (e.user !== undefined) parts.push(`user=${e.user ?? '<default>'}`);
  if (e.clientId !== undefined) parts.push(`client-id=${e.clientId ?? '<default>'}`);
  return parts.join(',');
}

export function quotasCommand(program: Command, io: OpsIO): void {
  const quotas = program.command('quotas').description('show and change client quotas (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate)');

  withEntity(withCommon(quotas.command('list').description('client quotas, of every entity or of those the options name')))
    .option('--strict', 'only entities with exactly the named entity types')
    .action(async (opts: CommonOptions & EntityOptions & { strict?: boolean }) => {
      const components: ClientQuotaFilterComponent[] = [];
      if (opts.user !== undefined || opts.defaultUser) components.push({ entityType: 'user', match: opts.user ?? null });
      if (opts.clientId !== undefined || opts.defaultClientId) components.push({ entityType: 'client-id', match: opts.clientId ?? null });
      await withAdmin(opts, io, async (admin) => {
        const entries = (await admin.describeClientQuotas(components, { strict: opts.strict === true })).sort((a, b) => (showEntity(a.entity) < showEntity(b.entity) ? -1 : 1));
        if (opts.json) return printJson(io, entries);
        await printTable(
          io,
          ['ENTITY', 'QUOTA', 'VALUE'],
          entries.flatMap((e) => Object.entries(e.quotas).sort().map(([k, v]) => [showEntity(e.entity), k, String(v)])),
        );
      });
    });

  withEntity(withCommon(quotas.command('set').description('set client quotas of an entity')))
    .argument('<quotas...>', 'KEY=VALUE pairs, e.g. producer_byte_rate=1048576')
    .option('--validate-only', 'check the change without applying it')
    .action(async (settings: string[], opts: CommonOptions & EntityOptions & { validateOnly?: boolean }) => {
      const entity = entityOf(opts);
      let ops: { key: string; value: number }[];
      try {
        ops = settings.map(keyValue).map(([key, v]) => {
          const value = Number(v);
          if (v.trim() === '' || !Number.isFinite(value)) throw new Error(`${key}: "${v}" is not a number`);
          return { key, value };
        });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      await withAdmin(opts, io, async (admin) => {
        await admin.alterClientQuotas([{ entity, ops }], { validateOnly: opts.validateOnly === true });
        if (opts.json) return printJson(io, { entity, validateOnly: opts.validateOnly === true, set: Object.fromEntries(ops.map((o) => [o.key, o.value])) });
        const verb = opts.validateOnly ? 'valid: ' : '';
        for (const o of ops) await printLine(io, `${verb}set ${o.key}=${o.value} for ${showEntity(entity)}`);
      });
    });

  withEntity(withCommon(quotas.command('remove').description('remove client quotas of an entity')))
    .argument('<keys...>', 'quota keys to remove, e.g. producer_byte_rate')
    .action(async (keys: string[], opts: CommonOptions & EntityOptions) => {
      const entity = entityOf(opts);
      await withAdmin(opts, io, async (admin) => {
        await admin.alterClientQuotas([{ entity, ops: keys.map((key) => ({ key, value: null })) }]);
        if (opts.json) return printJson(io, { entity, removed: keys });
        for (const k of keys) await printLine(io, `removed ${k} for ${showEntity(entity)}`);
      });
    });
}
