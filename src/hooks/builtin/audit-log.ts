/**
 * Built-in `audit-log`: one JSON line per request to a file, written after the request was answered
 * (onResponse), so each line holds the outcome. Default APIs: Produce, Fetch and the admin APIs
 * (CreateTopics, DeleteTopics, DeleteRecords, CreatePartitions, AlterConfigs,
 * IncrementalAlterConfigs, DeleteGroups, OffsetDelete); `apis:` on the hook entry overrides.
 *
 * Options:
 *   path:   the file, appended to (relative to the config file); created if missing
 *
 * A line: {"time":"…","api":"Produce","version":9,"clientId":"…","remote":"127.0.0.1:5000",
 * "correlationId":7,"durationMs":1,"resources":[{"topic":"t","partition":0,"errorCode":0,
 * "baseOffset":"42","bytes":1000}],"errorCode":0}. `resources` lists topics/partitions (Produce,
 * Fetch, DeleteRecords), topics (CreateTopics, DeleteTopics, CreatePartitions), config resources or
 * groups; `errorCode` is the first non-zero error of the response, or 0. A request without a
 * response (Produce acks=0) is logged with `"response":null`.
 *
 * Lines are written through one append stream, in the order requests are answered; the stream is
 * flushed and closed when the broker shuts down.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Hook, HookFactory, ResponseHookContext } from '../types.js';

export interface AuditLogOptions {
  path?: string;
}

export const AUDIT_DEFAULT_APIS = [
  'Produce',
  'Fetch',
  'CreateTopics',
  'DeleteTopics',
  'DeleteRecords',
  'CreatePartitions',
  'AlterConfigs',
  'IncrementalAlterConfigs',
  'DeleteGroups',
  'OffsetDelete',
] as const;

type AnyRec = Record<string, any>;

function size(records: unknown): number {
  if (Buffer.isBuffer(records)) return records.length;
  if (Array.isArray(records)) return records.reduce((n: number, b: Buffer) => n + b.length, 0);
  return 0;
}

/** The resources a request names, each with its outcome from the response. */
export function auditResources(apiName: string, req: AnyRec, res: AnyRec | null): AnyRec[] {
  switch (apiName) {
    case 'Produce': {
      const out: AnyRec[] = [];
      for (const t of req.topicData ?? []) {
        const rt = (res?.responses as AnyRec[] | undefined)?.find((x) => x.name === t.name);
        for (const p of t.partitionData ?? []) {
          const rp = (rt?.partitionResponses as AnyRec[] | undefined)?.find((x) => x.index === p.index);
          out.push({ topic: t.name, partition: p.index, bytes: size(p.records), errorCode: rp?.errorCode ?? null, baseOffset: rp ? String(rp.baseOffset) : null });
        }
      }
      return out;
    }
    case 'Fetch': {
      const out: AnyRec[] = [];
      (req.topics ?? []).forEach((t: AnyRec, ti: number) => {
        const rt = (res?.responses as AnyRec[] | undefined)?.[ti];
        (t.partitions ?? []).forEach((p: AnyRec, pi: number) => {
          const rp = rt?.partitions?.[pi];
          out.push({ topic: t.topic || t.topicId, partition: p.partition, fetchOffset: String(p.fetchOffset), errorCode: rp?.errorCode ?? null, bytes: rp ? size(rp.records) : 0 });
        });
      });
      return out;
    }
    case 'DeleteRecords':
      return (req.topics ?? []).flatMap((t: AnyRec) => (t.partitions ?? []).map((p: AnyRec) => ({ topic: t.name, partition: p.partitionIndex, offset: String(p.offset) })));
    case 'CreateTopics':
      return (req.topics ?? []).map((t: AnyRec) => ({
        topic: t.name,
        partitions: t.numPartitions,
        errorCode: (res?.topics as AnyRec[] | undefined)?.find((x) => x.name === t.name)?.errorCode ?? null,
      }));
    case 'DeleteTopics':
      return (req.topicNames?.length ? req.topicNames.map((name: string) => ({ name })) : (req.topics ?? [])).map((t: AnyRec) => ({
        topic: t.name ?? t.topicId,
        errorCode: (res?.responses as AnyRec[] | undefined)?.find((x) => (t.name ? x.name === t.name : x.topicId === t.topicId))?.errorCode ?? null,
      }));
    case 'CreatePartitions':
      return (req.topics ?? []).map((t: AnyRec) => ({ topic: t.name, count: t.count }));
    case 'AlterConfigs':
    case 'IncrementalAlterConfigs':
    case 'DescribeConfigs':
      return (req.resources ?? []).map((r: AnyRec) => ({ resourceType: r.resourceType, resourceName: r.resourceName, configs: (r.configs ?? r.configurationKeys ?? []).map((c: AnyRec | string) => (typeof c === 'string' ? c : c.name)) }));
    case 'DeleteGroups':
      return (req.groupsNames ?? []).map((g: string) => ({ group: g }));
    case 'OffsetDelete':
      return [{ group: req.groupId }];
    default:
      return [];
  }
}

/** The first non-zero error code anywhere in a response (depth-first), or 0. */
export function firstError(v: unknown, depth = 0): number {
  if (depth > 6 || v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return 0;
  if (Array.isArray(v)) {
    for (const x of v) {
      const e = firstError(x, depth + 1);
      if (e !== 0) return e;
    }
    return 0;
  }
  const o = v as AnyRec;
  if (typeof o.errorCode === 'number' && o.errorCode !== 0) return o.errorCode;
  for (const [k, x] of Object.entries(o)) {
    if (k === 'records') continue;
    const e = firstError(x, depth + 1);
    if (e !== 0) return e;
  }
  return 0;
}

export const auditLogHook: HookFactory<AuditLogOptions> = (options, ctx): Hook => {
  if (!options?.path) throw new TypeError('audit-log: options.path is required');
  const file = resolve(ctx.baseDir, options.path);
  mkdirSync(dirname(file), { recursive: true });
  let stream: WriteStream | null = createWriteStream(file, { flags: 'a' });
  stream.on('error', (err) => ctx.log.error(`audit-log: writing ${file} failed: ${err.message}`));
  return {
    name: 'audit-log',
    apis: AUDIT_DEFAULT_APIS,
    onResponse(c: ResponseHookContext) {
      if (!stream) return;
      const line = {
        time: new Date().toISOString(),
        api: c.apiName,
        version: c.apiVersion,
        clientId: c.clientId,
        remote: c.connection.remote,
        correlationId: c.correlationId,
        durationMs: Date.now() - c.receivedAtMs,
        resources: auditResources(c.apiName, c.request as AnyRec, c.response as AnyRec | null),
        errorCode: firstError(c.response),
        ...(c.response === null ? { response: null } : {}),
      };
      stream.write(JSON.stringify(line) + '\n');
    },
    close() {
      const s = stream;
      stream = null;
      return new Promise<void>((done) => (s ? s.end(done) : done()));
    },
  };
};
