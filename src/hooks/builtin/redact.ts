/**
 * Built-in `redact`: hides fields of JSON record values from consumers (afterFetch). The stored log
 * is unchanged; only the fetched copy is rewritten, with the batch's compression, offsets and
 * producer fields kept.
 *
 * Options:
 *   fields:       dotted paths into the value (`card.number`, `ssn`); a path through an array applies
 *                 to every element (`items.price`); `*` matches any one key (`secrets.*`)
 *   replacement:  what a redacted field becomes (default "***"); ignored with remove
 *   remove:       delete the fields instead of replacing them (default false)
 *   headers:      header names to remove from fetched records
 *
 * Values that are not JSON objects are left as they are. A batch is re-encoded only when something
 * in it was actually redacted.
 */
import type { Hook, HookFactory } from '../types.js';

export interface RedactOptions {
  fields?: string[];
  replacement?: unknown;
  remove?: boolean;
  headers?: string[];
}

/** Redacts `path` (from segment `i`) inside `node`; returns whether anything changed. */
function redactPath(node: unknown, path: readonly string[], i: number, replace: (parent: Record<string, unknown>, key: string) => void): boolean {
  if (Array.isArray(node)) {
    let changed = false;
    for (const el of node) changed = redactPath(el, path, i, replace) || changed;
    return changed;
  }
  if (node === null || typeof node !== 'object') return false;
  const obj = node as Record<string, unknown>;
  const seg = path[i]!;
  const keys = seg === '*' ? Object.keys(obj) : Object.prototype.hasOwnProperty.call(obj, seg) ? [seg] : [];
  let changed = false;
  for (const k of keys) {
    if (i === path.length - 1) {
      replace(obj, k);
      changed = true;
    } else changed = redactPath(obj[k], path, i + 1, replace) || changed;
  }
  return changed;
}

/** Whether the first non-blank byte is `{` or `[`. */
function startsLikeJsonContainer(v: Buffer): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x7b || c === 0x5b;
  }
  return false;
}

export const redactHook: HookFactory<RedactOptions> = (options): Hook => {
  const o = options ?? {};
  const paths = (o.fields ?? []).map((f) => {
    if (typeof f !== 'string' || f === '') throw new TypeError('redact: fields must be non-empty strings');
    return f.split('.');
  });
  const headers = o.headers ?? [];
  if (paths.length === 0 && headers.length === 0) throw new TypeError('redact: give fields and/or headers to redact');
  const replacement = o.replacement === undefined ? '***' : o.replacement;
  const replace = o.remove
    ? (parent: Record<string, unknown>, key: string) => void delete parent[key]
    : (parent: Record<string, unknown>, key: string) => void (parent[key] = replacement);
  return {
    name: 'redact',
    async afterFetch({ batches }) {
      for (const batch of batches) {
        for (const r of await batch.records()) {
          for (const h of headers) r.removeHeader(h);
          if (paths.length === 0 || r.value === null || r.value.length === 0) continue;
          if (!startsLikeJsonContainer(r.value)) continue; // cheap skip of plain values
          let doc: unknown;
          try {
            doc = r.valueJson();
          } catch {
            continue;
          }
          let changed = false;
          for (const p of paths) changed = redactPath(doc, p, 0, replace) || changed;
          if (changed) r.setValueJson(doc);
        }
      }
    },
  };
};
