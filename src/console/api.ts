/**
 * The web console's JSON API under `/api/` (docs/console.md lists every route). It reads what the
 * broker holds directly (topics, offsets, sizes, lag: the same reads /metrics makes) and does
 * everything else — configs, group descriptions, creating, deleting, altering, producing, browsing
 * messages, resetting offsets — with Rafka's own Kafka clients over a PLAINTEXT listener of this
 * broker (clients.ts), so a console action passes the same validation, hooks and (once they exist)
 * ACLs as the same action from any Kafka client. Access is asked of access.ts before every action.
 *
 * Limits: bodies within CONSOLE_BODY_MAX_BYTES (http-json.ts); a browse returns at most
 * BROWSE_MAX_MESSAGES messages and BROWSE_MAX_BYTES of keys, values and headers, each key or value
 * cut at BROWSE_MAX_FIELD_BYTES (its full size still reported), and waits at most BROWSE_WAIT_MS.
 * Client mistakes are 4xx with a one-line message (a Kafka error code keeps its name in `kafkaError`);
 * a failure of the broker or its clients is a 5xx.
 *
 * Callers: the HTTP endpoint (server.ts), on the broker's event loop.
 */
import type { HttpRequest, HttpResponse } from '../broker/http/server.js';
import type { Broker } from '../broker/broker.js';
import type { BrokerConfig } from '../config/types.js';
import { SETTINGS, isStorageField } from '../config/schema.js';
import { KafkaClientError, KafkaProtocolError } from '../client/errors.js';
import type { ConsumerMessage } from '../client/records.js';
import type { ConsoleAccess, ConsoleAction } from './access.js';
import type { ConsoleClients } from './clients.js';
import type { ThroughputSampler } from './throughput.js';
import { ApiError, int, readJsonBody, sendError, sendJson, str } from './http-json.js';

/** Most messages one browse returns. */
export const BROWSE_MAX_MESSAGES = 500;
/** Messages a browse returns when `limit` is not given. */
export const BROWSE_DEFAULT_MESSAGES = 50;
/** Bytes of keys, values and headers one browse returns at most (the first message always fits: see below). */
export const BROWSE_MAX_BYTES = 4 * 1024 * 1024;
/** A key or value longer than this is cut (its size is still reported), so one message fits in BROWSE_MAX_BYTES. */
export const BROWSE_MAX_FIELD_BYTES = 256 * 1024;
/** The longest a browse waits for records it knows are there (the consumer's connect and fetches). */
export const BROWSE_WAIT_MS = 3000;
/** Most headers one produced message may carry. */
export const PRODUCE_MAX_HEADERS = 64;

const CLUSTER = 'kafka-cluster';
const started = Date.now();

type Route = { method: string; pattern: RegExp; run: (ctx: RouteContext, params: string[]) => Promise<unknown> };

interface RouteContext {
  readonly req: HttpRequest;
  readonly query: URLSearchParams;
  /** Answer 201 instead of 200. */
  created: boolean;
}

export class ConsoleApi {
  private readonly routes: Route[];

  constructor(
    private readonly broker: Broker,
    private readonly access: ConsoleAccess,
    private readonly clients: ConsoleClients,
    private readonly throughput: ThroughputSampler,
  ) {
    const NAME = '([^/]+)';
    this.routes = [
      { method: 'GET', pattern: /^\/api\/overview$/, run: (c) => this.overview(c) },
      { method: 'GET', pattern: /^\/api\/topics$/, run: (c) => this.listTopics(c) },
      { method: 'POST', pattern: /^\/api\/topics$/, run: (c) => this.createTopic(c) },
      { method: 'GET', pattern: new RegExp(`^/api/topics/${NAME}$`), run: (c, [t]) => this.describeTopic(c, t!) },
      { method: 'DELETE', pattern: new RegExp(`^/api/topics/${NAME}$`), run: (c, [t]) => this.deleteTopic(c, t!) },
      { method: 'PATCH', pattern: new RegExp(`^/api/topics/${NAME}/configs$`), run: (c, [t]) => this.alterTopicConfigs(c, t!) },
      { method: 'GET', pattern: new RegExp(`^/api/topics/${NAME}/messages$`), run: (c, [t]) => this.browse(c, t!) },
      { method: 'POST', pattern: new RegExp(`^/api/topics/${NAME}/messages$`), run: (c, [t]) => this.produce(c, t!) },
      { method: 'GET', pattern: /^\/api\/groups$/, run: (c) => this.listGroups(c) },
      { method: 'GET', pattern: new RegExp(`^/api/groups/${NAME}$`), run: (c, [g]) => this.describeGroup(c, g!) },
      { method: 'POST', pattern: new RegExp(`^/api/groups/${NAME}/reset-offsets$`), run: (c, [g]) => this.resetOffsets(c, g!) },
      { method: 'GET', pattern: /^\/api\/config$/, run: (c) => this.config(c) },
    ];
  }

  /** Methods some route answers; the endpoint lets these through to handle(). */
  static readonly METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'] as const;

  async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    const url = new URL(req.url, 'http://console');
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
    try {
      if (matching.length === 0) throw new ApiError(404, `no such API: ${url.pathname}`);
      const route = matching.find((r) => r.method === method);
      if (route === undefined) {
        res.setHeader('Allow', matching.map((r) => r.method).join(', '));
        throw new ApiError(405, `${req.method} ${url.pathname} is not allowed`);
      }
      if (method !== 'GET') checkSameOrigin(req);
      const params = route.pattern.exec(url.pathname)!.slice(1).map((p) => decodeName(p));
      const ctx: RouteContext = { req, query: url.searchParams, created: false };
      const body = await route.run(ctx, params);
      sendJson(res, ctx.created ? 201 : 200, body);
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err);
      const mapped = fromKafka(err);
      if (mapped !== null) return sendError(res, mapped);
      throw err; // the endpoint logs it and answers 500
    }
  }

  private check(ctx: RouteContext, action: ConsoleAction): void {
    const answer = this.access.allowed(ctx.req, action);
    if (!answer.ok) throw new ApiError(403, answer.why);
  }

  // ---- overview -----------------------------------------------------------------------------------

  private async overview(ctx: RouteContext): Promise<unknown> {
    this.check(ctx, { operation: 'Describe', resourceType: 'Cluster', resourceName: CLUSTER });
    const b = this.broker;
    const topics = b.topics.list();
    return {
      broker: {
        nodeId: b.nodeId,
        clusterId: b.clusterId,
        version: this.clients.version,
        storage: b.storage.kind,
        listeners: b.listeners.map((l) => ({ name: l.name, protocol: l.config.protocol, address: `${l.advertisedHost}:${l.advertisedPort}` })),
        startedAt: new Date(started).toISOString(),
        uptimeMs: Date.now() - started,
        ready: b.isReady,
      },
      counts: {
        topics: topics.length,
        partitions: topics.reduce((n, t) => n + t.partitionCount, 0),
        groups: b.groups.listGroups([], []).groups.length,
        connections: b.connectionCount,
      },
      throughput: this.throughput.view(),
      readOnly: this.access.readOnly,
    };
  }

  // ---- topics -------------------------------------------------------------------------------------

  private topic(name: string) {
    const t = this.broker.topics.get(name);
    if (t === undefined) throw new ApiError(404, `no topic named ${name}`, 'UNKNOWN_TOPIC_OR_PARTITION');
    return t;
  }

  private partitions(name: string, count: number) {
    const s = this.broker.storage;
    const segments = s.capabilities.segments;
    return Array.from({ length: count }, (_, p) => {
      const { logStartOffset, highWatermark } = s.offsets(name, p);
      return { partition: p, leader: this.broker.nodeId, logStartOffset, highWatermark, sizeBytes: s.sizeBytes(name, p), segments: segments?.segmentCount(name, p) ?? null };
    });
  }

  /** As Metadata: no cluster permission needed, and topics the caller may not DESCRIBE are left out. */
  private async listTopics(ctx: RouteContext): Promise<unknown> {
    const topics = this.broker.topics
      .list()
      .filter((t) => this.access.allowed(ctx.req, { operation: 'Describe', resourceType: 'Topic', resourceName: t.name }).ok)
      .map((t) => {
        const parts = this.partitions(t.name, t.partitionCount);
        return {
          name: t.name,
          id: t.id,
          partitions: t.partitionCount,
          messages: parts.reduce((n, p) => n + (p.highWatermark - p.logStartOffset), 0),
          sizeBytes: parts.reduce((n, p) => n + p.sizeBytes, 0),
          configOverrides: Object.keys(t.configs).length,
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return { topics, readOnly: this.access.readOnly };
  }

  private async describeTopic(ctx: RouteContext, name: string): Promise<unknown> {
    this.check(ctx, { operation: 'Describe', resourceType: 'Topic', resourceName: name });
    const t = this.topic(name);
    this.check(ctx, { operation: 'DescribeConfigs', resourceType: 'Topic', resourceName: name });
    const admin = await this.clients.admin(ctx.req);
    const [described] = await admin.describeConfigs([{ type: 'topic', name }]);
    return {
      name: t.name,
      id: t.id,
      partitions: this.partitions(t.name, t.partitionCount),
      configs: (described?.configs ?? []).map((c) => ({ name: c.name, value: c.isSensitive ? null : c.value, source: c.source, isDefault: c.isDefault, readOnly: c.readOnly, sensitive: c.isSensitive })),
      readOnly: this.access.readOnly,
    };
  }

  private async createTopic(ctx: RouteContext): Promise<unknown> {
    const body = await readJsonBody(ctx.req);
    const name = str(body, 'name', { max: 249 })!;
    this.check(ctx, { operation: 'Create', resourceType: 'Topic', resourceName: name });
    const partitions = body.partitions === undefined ? undefined : int(body.partitions, 'partitions', 1, 1_000_000);
    const replicationFactor = body.replicationFactor === undefined ? undefined : int(body.replicationFactor, 'replicationFactor', 1, 32767);
    const configs = stringMap(body.configs, 'configs');
    const admin = await this.clients.admin(ctx.req);
    await admin.createTopics([{ topic: name, numPartitions: partitions, replicationFactor, configs }]);
    ctx.created = true;
    const t = this.topic(name);
    return { name: t.name, id: t.id, partitions: t.partitionCount };
  }

  private async deleteTopic(ctx: RouteContext, name: string): Promise<unknown> {
    this.check(ctx, { operation: 'Delete', resourceType: 'Topic', resourceName: name });
    this.topic(name);
    const admin = await this.clients.admin(ctx.req);
    await admin.deleteTopics([name]);
    return { deleted: name };
  }

  /** `{ set: { name: value }, delete: [name] }`: IncrementalAlterConfigs SET and DELETE, all or nothing. */
  private async alterTopicConfigs(ctx: RouteContext, name: string): Promise<unknown> {
    this.check(ctx, { operation: 'AlterConfigs', resourceType: 'Topic', resourceName: name });
    const body = await readJsonBody(ctx.req);
    this.topic(name);
    const set = stringMap(body.set, 'set') ?? {};
    const del = body.delete ?? [];
    if (!Array.isArray(del) || del.some((d) => typeof d !== 'string')) throw new ApiError(400, 'delete must be a list of config names');
    const changes = [...Object.entries(set).map(([n, value]) => ({ name: n, value, op: 'set' as const })), ...(del as string[]).map((n) => ({ name: n, op: 'delete' as const }))];
    if (changes.length === 0) throw new ApiError(400, 'nothing to change: give set and/or delete');
    const admin = await this.clients.admin(ctx.req);
    await admin.alterConfigs([{ type: 'topic', name, configs: changes }]);
    return { altered: name, set: Object.keys(set), deleted: del };
  }

  // ---- messages -----------------------------------------------------------------------------------

  /**
   * `?partition=P&from=beginning|end|offset|timestamp[&offset=N][&timestamp=MS][&limit=N]`. From the
   * end: the last `limit` messages. `nextOffset` is where the next page, or a live tail, goes on.
   */
  private async browse(ctx: RouteContext, name: string): Promise<unknown> {
    this.check(ctx, { operation: 'Read', resourceType: 'Topic', resourceName: name });
    const t = this.topic(name);
    const q = ctx.query;
    const partition = int(q.get('partition') ?? '0', 'partition', 0, t.partitionCount - 1);
    const limit = int(q.get('limit') ?? String(BROWSE_DEFAULT_MESSAGES), 'limit', 1, BROWSE_MAX_MESSAGES);
    const from = q.get('from') ?? 'beginning';
    const { logStartOffset, highWatermark } = this.broker.storage.offsets(name, partition);
    let start: number;
    switch (from) {
      case 'beginning':
        start = logStartOffset;
        break;
      case 'end':
        start = Math.max(logStartOffset, highWatermark - limit);
        break;
      case 'offset':
        start = Math.min(Math.max(int(q.get('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER), logStartOffset), highWatermark);
        break;
      case 'timestamp': {
        const ts = int(q.get('timestamp'), 'timestamp', 0, Number.MAX_SAFE_INTEGER);
        const admin = await this.clients.admin(ctx.req);
        const found = (await admin.listOffsets(name, { timestamp: ts })).find((o) => o.partition === partition)?.offset ?? -1;
        start = found < 0 ? highWatermark : found;
        break;
      }
      default:
        throw new ApiError(400, 'from must be beginning, end, offset or timestamp');
    }
    const read = start < highWatermark ? await this.read(ctx.req, name, partition, start, highWatermark, limit) : { messages: [], truncated: false };
    const last = read.messages[read.messages.length - 1];
    return {
      topic: name,
      partition,
      logStartOffset,
      highWatermark,
      start,
      nextOffset: last !== undefined ? last.offset + 1 : start,
      truncated: read.truncated,
      messages: read.messages,
    };
  }

  private async read(req: HttpRequest, topic: string, partition: number, start: number, end: number, limit: number) {
    const messages: ReturnType<typeof shown>[] = [];
    let bytes = 0;
    let truncated = false;
    const consumer = this.clients.consumer(req);
    try {
      consumer.assign([{ topic, partition, offset: start }]);
      const deadline = Date.now() + BROWSE_WAIT_MS;
      outer: while (messages.length < limit && Date.now() < deadline) {
        const batch = await consumer.poll(limit - messages.length, Math.max(1, deadline - Date.now()));
        for (const m of batch) {
          const s = shown(m);
          if (messages.length > 0 && bytes + s.bytes > BROWSE_MAX_BYTES) {
            truncated = true;
            break outer;
          }
          bytes += s.bytes;
          messages.push(s);
          if (m.offset >= end - 1 || messages.length >= limit) break outer;
        }
      }
    } finally {
      await consumer.close().catch(() => {});
    }
    return { messages: messages.map(({ bytes: _, ...m }) => m), truncated };
  }

  /** `{ value, key?, headers?: [{key, value}], partition?, encoding?: 'text'|'base64' }` (null value: a tombstone). */
  private async produce(ctx: RouteContext, name: string): Promise<unknown> {
    this.check(ctx, { operation: 'Write', resourceType: 'Topic', resourceName: name });
    const body = await readJsonBody(ctx.req);
    const t = this.topic(name);
    const encoding = str(body, 'encoding', { optional: true }) ?? 'text';
    if (encoding !== 'text' && encoding !== 'base64') throw new ApiError(400, 'encoding must be text or base64');
    const bytes = (v: string | undefined | null) => (v === undefined || v === null ? null : encoding === 'base64' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
    if (body.value !== null) str(body, 'value');
    const value = bytes(body.value as string | null);
    const key = bytes(str(body, 'key', { optional: true }));
    const partition = body.partition === undefined || body.partition === null ? undefined : int(body.partition, 'partition', 0, t.partitionCount - 1);
    const rawHeaders = body.headers ?? [];
    if (!Array.isArray(rawHeaders) || rawHeaders.length > PRODUCE_MAX_HEADERS) throw new ApiError(400, `headers must be a list of at most ${PRODUCE_MAX_HEADERS} {key, value}`);
    const headers = rawHeaders.map((h: unknown, i) => {
      if (h === null || typeof h !== 'object') throw new ApiError(400, `headers[${i}] must be {key, value}`);
      const o = h as Record<string, unknown>;
      return { key: str(o, 'key')!, value: bytes(str(o, 'value', { optional: true })) };
    });
    const producer = await this.clients.producer(ctx.req);
    const meta = await producer.send(name, { key, value, headers, partition });
    ctx.created = true;
    return meta;
  }

  // ---- groups -------------------------------------------------------------------------------------

  /** As Kafka's ListGroups: every group with DESCRIBE on the cluster, else those the caller may DESCRIBE. */
  private async listGroups(ctx: RouteContext): Promise<unknown> {
    const all = this.access.allowed(ctx.req, { operation: 'Describe', resourceType: 'Cluster', resourceName: CLUSTER }).ok;
    const admin = await this.clients.admin(ctx.req);
    const listed = (await admin.listGroups()).filter((g) => all || this.access.allowed(ctx.req, { operation: 'Describe', resourceType: 'Group', resourceName: g.groupId }).ok);
    const described = listed.length > 0 ? await admin.describeGroups(listed.map((g) => g.groupId)) : [];
    const groups = listed.map((g) => {
      const d = described.find((x) => x.groupId === g.groupId);
      const lag = this.broker.groups.lag(g.groupId);
      return { groupId: g.groupId, protocolType: g.protocolType, state: d?.state ?? g.state, members: d?.members.length ?? 0, partitions: lag.length, totalLag: lag.reduce((n, l) => n + l.lag, 0) };
    });
    return { groups: groups.sort((a, b) => (a.groupId < b.groupId ? -1 : 1)), readOnly: this.access.readOnly };
  }

  private async describeGroup(ctx: RouteContext, groupId: string): Promise<unknown> {
    this.check(ctx, { operation: 'Describe', resourceType: 'Group', resourceName: groupId });
    const admin = await this.clients.admin(ctx.req);
    const [d] = await admin.describeGroups([groupId]);
    const lag = await admin.groupLag(groupId);
    if ((d === undefined || d.state === 'Dead') && lag.length === 0) throw new ApiError(404, `no group named ${groupId}`, 'GROUP_ID_NOT_FOUND');
    return {
      groupId,
      state: d?.state ?? 'Dead',
      protocolType: d?.protocolType ?? '',
      protocol: d?.protocol ?? '',
      members: (d?.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, assignment: m.assignment })),
      lag: lag.map((l) => ({ topic: l.topic, partition: l.partition, committedOffset: l.committedOffset, logEndOffset: l.logEndOffset, lag: l.lag, memberId: l.memberId, clientId: l.clientId })),
      totalLag: lag.reduce((n, l) => n + (l.lag ?? 0), 0),
      at: Date.now(),
      readOnly: this.access.readOnly,
    };
  }

  /**
   * `{ topic, to: earliest|latest|offset|timestamp, offset?, timestamp? }`: every partition of the
   * topic, as `kafka-consumer-groups.sh --reset-offsets` does; `offset` is clamped to each
   * partition's log start and end. Only for a group without members (Empty), as Kafka requires.
   */
  private async resetOffsets(ctx: RouteContext, groupId: string): Promise<unknown> {
    const body = await readJsonBody(ctx.req);
    const topic = str(body, 'topic')!;
    // Kafka's OffsetCommit (what a reset is): READ on the group and on the topic.
    this.check(ctx, { operation: 'Read', resourceType: 'Group', resourceName: groupId, changes: true });
    this.check(ctx, { operation: 'Read', resourceType: 'Topic', resourceName: topic, changes: true });
    const t = this.topic(topic);
    const to = str(body, 'to')!;
    const admin = await this.clients.admin(ctx.req);
    const [d] = await admin.describeGroups([groupId]);
    if (d !== undefined && d.state !== 'Empty' && d.state !== 'Dead') {
      throw new ApiError(409, `group ${groupId} is ${d.state} with ${d.members.length} member(s): offsets can only be reset while it has none`, 'NON_EMPTY_GROUP');
    }
    if (to === 'earliest' || to === 'latest') await admin.resetGroupOffsets(groupId, topic, to);
    else if (to === 'timestamp') await admin.resetGroupOffsets(groupId, topic, { timestamp: int(body.timestamp, 'timestamp', 0, Number.MAX_SAFE_INTEGER) });
    else if (to === 'offset') {
      const wanted = int(body.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
      const offsets = this.partitions(topic, t.partitionCount).map((p) => ({ topic, partition: p.partition, offset: Math.min(Math.max(wanted, p.logStartOffset), p.highWatermark) }));
      await admin.alterGroupOffsets(groupId, offsets);
    } else throw new ApiError(400, 'to must be earliest, latest, offset or timestamp');
    return { groupId, topic, offsets: (await admin.listGroupOffsets(groupId, [topic])).map((o) => ({ partition: o.partition, offset: o.offset })) };
  }

  // ---- configuration ------------------------------------------------------------------------------

  private async config(ctx: RouteContext): Promise<unknown> {
    this.check(ctx, { operation: 'DescribeConfigs', resourceType: 'Cluster', resourceName: CLUSTER });
    return { settings: brokerSettings(this.broker.config), topicDefaults: this.broker.config.topicDefaults, saslUsers: this.broker.config.saslUsers.map((u) => u.name) };
  }
}

/** Every setting of rafka.yaml with its value; secrets (and passwords inside URLs) redacted. */
export function brokerSettings(config: BrokerConfig): { key: string; value: unknown; secret: boolean; doc: string }[] {
  return SETTINGS.map((s) => {
    const raw: unknown = isStorageField(s.field) ? config.storage[s.field.slice('storage.'.length) as keyof BrokerConfig['storage']] : config[s.field as keyof BrokerConfig];
    let value = raw ?? null;
    if (s.secret === true && value !== null) value = '[redacted]';
    else if (typeof value === 'string') value = value.replace(/(\/\/[^/:@\s]+:)[^@/\s]*@/, '$1[redacted]@');
    return { key: s.key, value, secret: s.secret === true, doc: s.doc };
  });
}

/** A key or value as the browser gets it: base64 (null stays null), cut at BROWSE_MAX_FIELD_BYTES. */
function field(b: Buffer | null): { data: string; size: number; cut: boolean } | null {
  if (b === null) return null;
  const cut = b.length > BROWSE_MAX_FIELD_BYTES;
  return { data: (cut ? b.subarray(0, BROWSE_MAX_FIELD_BYTES) : b).toString('base64'), size: b.length, cut };
}

function shown(m: ConsumerMessage) {
  const key = field(m.key);
  const value = field(m.value);
  const headers = m.headers.map((h) => ({ key: h.key, value: field(h.value === null ? null : Buffer.from(h.value)) }));
  const bytes = Math.min(m.key?.length ?? 0, BROWSE_MAX_FIELD_BYTES) + Math.min(m.value?.length ?? 0, BROWSE_MAX_FIELD_BYTES) + headers.reduce((n, h) => n + h.key.length + (h.value?.size ?? 0), 0);
  return { offset: m.offset, timestamp: m.timestamp, key, value, headers, bytes };
}

function stringMap(v: unknown, name: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, `${name} must be an object of name: value strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw new ApiError(400, `${name}.${k} must be a string`);
    out[k] = String(x);
  }
  return out;
}

function decodeName(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new ApiError(400, `bad name in the path: ${p}`);
  }
}

/**
 * A changing request must come from the console's own page: a browser sends Origin on every
 * cross-origin request (and on same-origin POSTs), so one naming another host is a cross-site request
 * (CSRF) and refused. With the JSON Content-Type required of bodies, a cross-site form cannot reach here.
 */
function checkSameOrigin(req: HttpRequest): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new ApiError(403, `bad Origin header: ${origin}`);
  }
  if (host !== req.headers.host) throw new ApiError(403, `cross-origin request from ${origin} refused`);
}

/** Kafka's answer as an HTTP status: what the client asked for is wrong (4xx), or the broker failed (5xx). */
function fromKafka(err: unknown): ApiError | null {
  if (err instanceof KafkaProtocolError) {
    const t = err.type;
    const status = /AUTHORIZATION_FAILED$/.test(t)
      ? 403
      : t === 'UNKNOWN_TOPIC_OR_PARTITION' || t === 'GROUP_ID_NOT_FOUND' || t === 'UNKNOWN_TOPIC_ID'
        ? 404
        : t === 'TOPIC_ALREADY_EXISTS' || t === 'NON_EMPTY_GROUP' || t === 'UNKNOWN_MEMBER_ID' || t === 'REBALANCE_IN_PROGRESS' || t === 'ILLEGAL_GENERATION'
          ? 409
          : t === 'RECORD_TOO_LARGE' || t === 'MESSAGE_TOO_LARGE'
            ? 413
            : /^INVALID_|POLICY_VIOLATION|UNSUPPORTED_/.test(t)
              ? 400
              : 502;
    return new ApiError(status, err.message, t);
  }
  if (err instanceof KafkaClientError) return new ApiError(err.code === 'RAFKA_RECORD_TOO_LARGE' ? 413 : err.code === 'RAFKA_CONFIG' ? 400 : 503, err.message, err.code);
  return null;
}
