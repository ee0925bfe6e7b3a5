/**
 * A fault as configuration knows it (`faults:` in rafka.yaml, `rafka start --fault`, and the argument
 * of `broker.faults.inject` when embedding). Config is the bottom layer, so it states the shape
 * only: API and error names are checked by the broker when it installs the rule
 * (src/broker/faults.ts), which knows the protocol.
 */

/** Where a dropped connection is cut: before the request is handled, or after (its response is lost). */
export const FAULT_DROP_POINTS = ['before', 'after'] as const;
export type FaultDropPoint = (typeof FAULT_DROP_POINTS)[number];

/** `times` for a rule that never runs out. */
export const FAULT_ALWAYS = 'always';

/**
 * One fault rule: which requests it matches, what it does to them (exactly one effect), and how many
 * times. Without `times` a rule fires once.
 */
export interface FaultSpec {
  // ---- which requests -------------------------------------------------------------------------
  /** API names as in Kafka's specs (`Produce`, `JoinGroup`) or keys; `*` or absent: every API. */
  readonly api?: string | number | readonly (string | number)[];
  /** Only requests naming this topic (anywhere in the request). */
  readonly topic?: string;
  /** With `topic`: only requests naming this partition of it. */
  readonly partition?: number;
  /** Only requests naming this group id (group APIs, OffsetCommit/OffsetFetch, TxnOffsetCommit). */
  readonly group?: string;
  /** Only requests whose header carries this client id. */
  readonly clientId?: string;
  /** How many matching requests it fires on (default 1); `always` (or Infinity) never runs out. */
  readonly times?: number | typeof FAULT_ALWAYS;
  // ---- what it does (exactly one) -------------------------------------------------------------
  /** Answer with this error (Kafka's name or code) in every part of the response; nothing is handled. */
  readonly errorCode?: string | number;
  /** Handle the request this many ms late. */
  readonly delayMs?: number;
  /** Close the connection before the request is handled, or after (the response is never sent). */
  readonly drop?: FaultDropPoint;
  /** Answer with `throttle_time_ms` and mute the connection for that long (KIP-219). */
  readonly throttleMs?: number;
  /** Fetch only: cut the last record batch of each partition served in half (a partial batch, as Kafka may send). */
  readonly partialFetch?: boolean;
  /** Force a rebalance of `group` before handling the request (members rejoin). */
  readonly rebalance?: boolean;
}

/** Keys of one `faults:` entry. */
export const FAULT_ENTRY_KEYS = [
  'api', 'topic', 'partition', 'group', 'clientId', 'times', 'errorCode', 'delayMs', 'drop', 'throttleMs', 'partialFetch', 'rebalance',
] as const;

const INT_KEYS = new Set(['partition', 'delayMs', 'throttleMs']);
const BOOLEAN_KEYS = new Set(['partialFetch', 'rebalance']);

/**
 * `rafka start --fault 'api=Produce,errorCode=NOT_LEADER_OR_FOLLOWER,times=2'`: comma-separated
 * `key=value` pairs with the keys of a `faults:` entry; several APIs are joined with `|`
 * (`api=JoinGroup|Heartbeat`). Returns the spec, or a problem in plain words.
 */
export function parseFaultFlag(text: string): { spec: FaultSpec } | { problem: string } {
  const out: Record<string, unknown> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { problem: `expected key=value pairs separated by commas (got ${JSON.stringify(part)})` };
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (!(FAULT_ENTRY_KEYS as readonly string[]).includes(key)) return { problem: `unknown key "${key}" (keys: ${FAULT_ENTRY_KEYS.join(', ')})` };
    if (key in out) return { problem: `"${key}" given twice` };
    if (raw === '') return { problem: `"${key}" needs a value` };
    if (INT_KEYS.has(key) || (key === 'times' && raw !== FAULT_ALWAYS)) {
      if (!/^\d+$/.test(raw)) return { problem: `${key} must be a non-negative integer${key === 'times' ? ` or "${FAULT_ALWAYS}"` : ''} (got ${JSON.stringify(raw)})` };
      out[key] = Number(raw);
    } else if (BOOLEAN_KEYS.has(key)) {
      if (raw !== 'true' && raw !== 'false') return { problem: `${key} must be true or false (got ${JSON.stringify(raw)})` };
      out[key] = raw === 'true';
    } else if (key === 'api') {
      const apis = raw.split('|').map((a) => (/^\d+$/.test(a.trim()) ? Number(a.trim()) : a.trim()));
      out[key] = apis.length === 1 ? apis[0] : apis;
    } else if (key === 'errorCode' && /^\d+$/.test(raw)) {
      out[key] = Number(raw);
    } else out[key] = raw;
  }
  return { spec: out as FaultSpec };
}
