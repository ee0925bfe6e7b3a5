/** The broker's JSON API (src/console/api.ts) as the page calls it; a refusal becomes an ApiError with the server's message. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
  }
  const res = await fetch(`/api${path}`, init);
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, text.trim() || res.statusText);
  }
  if (!res.ok) throw new ApiError(res.status, (data as { error?: string } | null)?.error ?? res.statusText);
  return data as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown) => call<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => call<T>('PATCH', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
};

export const enc = encodeURIComponent;

// ---- shapes of the answers --------------------------------------------------------------------------

export interface Sample {
  t: number;
  bytesInPerSec: number;
  recordsInPerSec: number;
  bytesOutPerSec: number;
}

export interface Overview {
  broker: { nodeId: number; clusterId: string; version: string; storage: string; listeners: { name: string; protocol: string; address: string }[]; startedAt: string; uptimeMs: number; ready: boolean };
  counts: { topics: number; partitions: number; groups: number; connections: number };
  throughput: { intervalMs: number; samples: Sample[]; totals: { bytesIn: number; recordsIn: number; bytesOut: number } };
  readOnly: boolean;
}

export interface TopicRow {
  name: string;
  id: string;
  partitions: number;
  messages: number;
  sizeBytes: number;
  configOverrides: number;
}

export interface PartitionRow {
  partition: number;
  leader: number;
  logStartOffset: number;
  highWatermark: number;
  sizeBytes: number;
  segments: number | null;
}

export interface ConfigRow {
  name: string;
  value: string | null;
  source: string;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
}

export interface TopicDetail {
  name: string;
  id: string;
  partitions: PartitionRow[];
  configs: ConfigRow[];
  readOnly: boolean;
}

export interface Field {
  data: string;
  size: number;
  cut: boolean;
}

export interface Message {
  offset: number;
  timestamp: number;
  key: Field | null;
  value: Field | null;
  headers: { key: string; value: Field | null }[];
}

export interface Browse {
  topic: string;
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  start: number;
  nextOffset: number;
  truncated: boolean;
  messages: Message[];
}

export interface GroupRow {
  groupId: string;
  protocolType: string;
  state: string;
  members: number;
  partitions: number;
  totalLag: number;
}

export interface LagRow {
  topic: string;
  partition: number;
  committedOffset: number;
  logEndOffset: number;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
}

export interface GroupDetail {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: { topic: string; partition: number }[] }[];
  lag: LagRow[];
  totalLag: number;
  at: number;
  readOnly: boolean;
}

export interface Settings {
  settings: { key: string; value: unknown; secret: boolean; doc: string }[];
  topicDefaults: Record<string, string>;
  saslUsers: string[];
}
