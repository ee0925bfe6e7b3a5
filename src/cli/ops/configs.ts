/**
 * `rafka configs get|set topic|broker|group NAME`: DescribeConfigs and IncrementalAlterConfigs, as
 * kafka-configs.sh --describe / --alter. A broker is named by its node id.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ConfigResourceType } from '../../client/admin.js';
import { collect, keyValue, printJson, printLine, printTable, UsageError, withAdmin, withCommon, type CommonOptions, type OpsIO } from './common.js';

function parseResourceType(value: string): ConfigResourceType {
  if (value === 'topic' || value === 'broker' || value === 'group') return value;
  throw new InvalidArgumentError(`must be topic, broker or group (got "${value}")`);
}

export function configsCommand(program: Command, io: OpsIO): void {
  const configs = program.command('configs').description('show and change topic, broker and group configs');

  withCommon(configs.command('get').description('configs of a topic, broker or group, with where each value comes from'))
    .argument('<type>', 'topic, broker or group', parseResourceType)
    .argument('<name>', 'topic name, broker node id, or group id')
    .argument('[keys...]', 'only these configs (default: all)')
    .option('--non-default', 'only configs set explicitly')
    .action(async (type: ConfigResourceType, name: string, keys: string[], opts: CommonOptions & { nonDefault?: boolean }) => {
      await withAdmin(opts, io, async (admin) => {
        const [r] = await admin.describeConfigs([{ type, name, keys: keys.length > 0 ? keys : undefined }]);
        const entries = (r?.configs ?? []).filter((c) => !opts.nonDefault || !c.isDefault).sort((a, b) => (a.name < b.name ? -1 : 1));
        if (opts.json) return printJson(io, entries);
        await printTable(
          io,
          ['NAME', 'VALUE', 'SOURCE', 'READ-ONLY'],
          entries.map((c) => [c.name, c.isSensitive ? '(sensitive)' : c.value, c.source, c.readOnly ? 'yes' : 'no']),
        );
      });
    });

  withCommon(configs.command('set').description('set or remove configs of a topic, broker or group'))
    .argument('<type>', 'topic, broker or group', parseResourceType)
    .argument('<name>', 'topic name, broker node id, or group id')
    .argument('[settings...]', 'NAME=VALUE pairs to set')
    .option('-d, --delete <name>', 'remove a config, back to its default (repeatable)', collect(String))
    .option('--validate-only', 'check the change without applying it')
    .action(async (type: ConfigResourceType, name: string, settings: string[], opts: CommonOptions & { delete?: string[]; validateOnly?: boolean }) => {
      let pairs: [string, string][];
      try {
        pairs = settings.map(keyValue);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (pairs.length === 0 && (opts.delete ?? []).length === 0) throw new UsageError('nothing to set: give NAME=VALUE pairs or --delete NAME');
      const changes = [...pairs.map(([n, value]) => ({ name: n, value, op: 'set' as const })), ...(opts.delete ?? []).map((n) => ({ name: n, op: 'delete' as const }))];
      await withAdmin(opts, io, async (admin) => {
        await admin.alterConfigs([{ type, name, configs: changes }], { validateOnly: opts.validateOnly === true });
        if (opts.json) return printJson(io, { type, name, validateOnly: opts.validateOnly === true, set: Object.fromEntries(pairs), deleted: opts.delete ?? [] });
        const verb = opts.validateOnly ? 'valid: ' : '';
        for (const c of changes) await printLine(io, `${verb}${c.op === 'set' ? `set ${c.name}=${c.value}` : `removed ${c.name}`} on ${type} ${name}`);
      });
    });
}
