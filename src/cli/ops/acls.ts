/**
 * `rafka acls list|add|remove`: DescribeAcls, CreateAcls and DeleteAcls, with kafka-acls.sh's
 * option names (--allow-principal, --deny-principal, --operation, --topic, --group, --cluster,
 * --transactional-id, --resource-pattern-type). The broker needs `authorizer.enabled: true`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { AclEntry, AclFilter, AclOperationName, AclResourceTypeName } from '../../client/admin.js';
import { collect, printJson, printLine, printTable, UsageError, withAdmin, withCommon, type CommonOptions, type OpsIO } from './common.js';

const OPERATIONS: readonly AclOperationName[] = [
  'all', 'read', 'write', 'create', 'delete', 'alter', 'describe', 'cluster-action', 'describe-configs', 'alter-configs',
  'idempotent-write', 'create-tokens', 'describe-tokens', 'two-phase-commit',
];

function choice<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    const v = value.toLowerCase().replace(/_/g, '-') as T;
    if (!values.includes(v)) throw new InvalidArgumentError(`must be one of ${values.join(', ')} (got "${value}")`);
    return v;
  };
}

interface ResourceOptions {
  topic?: string;
  group?: string;
  cluster?: boolean;
  transactionalId?: string;
  resourcePatternType?: 'literal' | 'prefixed' | 'match' | 'any';
}

interface EntryOptions extends ResourceOptions, CommonOptions {
  allowPrincipal?: string[];
  denyPrincipal?: string[];
  allowHost?: string[];
  denyHost?: string[];
  operation?: AclOperationName[];
}

/** The one resource the options name (kafka-acls.sh takes one kind per call here), or null for none. */
function resourceOf(o: ResourceOptions): { resourceType: AclResourceTypeName; resourceName: string } | null {
  const named: { resourceType: AclResourceTypeName; resourceName: string }[] = [];
  if (o.topic !== undefined) named.push({ resourceType: 'topic', resourceName: o.topic });
  if (o.group !== undefined) named.push({ resourceType: 'group', resourceName: o.group });
  if (o.transactionalId !== undefined) named.push({ resourceType: 'transactional-id', resourceName: o.transactionalId });
  if (o.cluster) named.push({ resourceType: 'cluster', resourceName: 'kafka-cluster' });
  if (named.length > 1) throw new UsageError('name one resource: --topic, --group, --transactional-id or --cluster');
  return named[0] ?? null;
}

function withResource(cmd: Command): Command {
  return cmd
    .option('--topic <name>', 'a topic (or, with --resource-pattern-type prefixed, a prefix; * for every topic)')
    .option('--group <name>', 'a consumer group')
    .option('--transactional-id <id>', 'a transactional id')
    .option('--cluster', 'the cluster')
    .option('--resource-pattern-type <type>', 'literal, prefixed; for list and remove also match, any', choice(['literal', 'prefixed', 'match', 'any'] as const));
}

function withEntry(cmd: Command): Command {
  return withResource(cmd)
    .option('--allow-principal <principal>', 'principal allowed, e.g. User:alice (repeatable)', collect(String))
    .option('--deny-principal <principal>', 'principal denied (repeatable)', collect(String))
    .option('--allow-host <host>', 'host the allow applies to (default *)', collect(String))
    .option('--deny-host <host>', 'host the deny applies to (default *)', collect(String))
    .option('--operation <operation>', `operation (repeatable): ${OPERATIONS.join(', ')}`, collect(choice(OPERATIONS)));
}

/** The bindings the options describe: each principal × host × operation, for allow and for deny. */
function entriesOf(o: EntryOptions, resource: { resourceType: AclResourceTypeName; resourceName: string }): AclEntry[] {
  const patternType = o.resourcePatternType ?? 'literal';
  if (patternType !== 'literal' && patternType !== 'prefixed') throw new UsageError('--resource-pattern-type must be literal or prefixed when adding');
  const out: AclEntry[] = [];
  for (const [permission, principals, hosts] of [['allow', o.allowPrincipal, o.allowHost], ['deny', o.denyPrincipal, o.denyHost]] as const) {
    for (const principal of principals ?? []) {
      for (const host of hosts ?? ['*']) {
        for (const operation of o.operation ?? []) out.push({ ...resource, patternType, principal, host, operation, permission });
      }
    }
  }
  return out;
}

function row(e: AclEntry): string[] {
  return [e.resourceType, e.resourceName, e.patternType, e.principal, e.host, e.operation, e.permission];
}

/**
 * Entries in a stable order (by the columns, left to right): Kafka's StandardAuthorizer answers in
 * the order of its internal maps, not of creation, so the same ACLs list the same on either broker.
 */
function sorted(entries: AclEntry[]): AclEntry[] {
  const key = (e: AclEntry) => row(e).join('\u0000');
  return [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const HEAD = ['RESOURCE-TYPE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'];

export function aclsCommand(program: Command, io: OpsIO): void {
  const acls = program.command('acls').description('list, add and remove ACLs (the broker needs authorizer.enabled)');

  withResource(withCommon(acls.command('list').description('ACLs, all or those of a resource')))
    .option('--principal <principal>', 'only ACLs of this principal')
    .action(async (opts: ResourceOptions & CommonOptions & { principal?: string }) => {
      const resource = resourceOf(opts);
      const filter: AclFilter = {
        ...(resource ?? {}),
        patternType: opts.resourcePatternType ?? (resource ? 'match' : 'any'),
        ...(opts.principal !== undefined ? { principal: opts.principal } : {}),
      };
      await withAdmin(opts, io, async (admin) => {
        const entries = sorted(await admin.describeAcls(filter));
        if (opts.json) return printJson(io, entries);
        await printTable(io, HEAD, entries.map(row));
      });
    });

  withEntry(withCommon(acls.command('add').description('add ACLs: each principal × host × operation on one resource')))
    .action(async (opts: EntryOptions) => {
      const resource = resourceOf(opts);
      if (resource === null) throw new UsageError('name a resource: --topic, --group, --transactional-id or --cluster');
      if ((opts.operation ?? []).length === 0) throw new UsageError('give at least one --operation');
      const entries = entriesOf(opts, resource);
      if (entries.length === 0) throw new UsageError('give --allow-principal or --deny-principal');
      await withAdmin(opts, io, async (admin) => {
        await admin.createAcls(entries);
        if (opts.json) return printJson(io, entries);
        for (const e of entries) await printLine(io, `added: ${e.principal} ${e.permission} ${e.operation} on ${e.resourceType} ${e.patternType} ${e.resourceName} from ${e.host}`);
      });
    });

  withEntry(withCommon(acls.command('remove').description('remove the ACLs of a resource (all, or those of the principals and operations given)')))
    .action(async (opts: EntryOptions) => {
      const resource = resourceOf(opts);
      if (resource === null) throw new UsageError('name a resource: --topic, --group, --transactional-id or --cluster');
      const base: AclFilter = { ...resource, patternType: opts.resourcePatternType ?? 'literal' };
      const principals = [...(opts.allowPrincipal ?? []).map((p) => ['allow', p] as const), ...(opts.denyPrincipal ?? []).map((p) => ['deny', p] as const)];
      const filters: AclFilter[] = [];
      for (const operation of opts.operation ?? ['any' as const]) {
        if (principals.length === 0) filters.push({ ...base, operation });
        for (const [permission, principal] of principals) filters.push({ ...base, operation, permission, principal });
      }
      await withAdmin(opts, io, async (admin) => {
        const deleted = sorted(await admin.deleteAcls(filters));
        if (opts.json) return printJson(io, deleted);
        if (deleted.length === 0) return printLine(io, 'no matching ACLs');
        for (const e of deleted) await printLine(io, `removed: ${e.principal} ${e.permission} ${e.operation} on ${e.resourceType} ${e.patternType} ${e.resourceName} from ${e.host}`);
      });
    });
}
