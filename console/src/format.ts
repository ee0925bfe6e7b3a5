/** How keys, values and sizes are shown: text, JSON pretty-printed, or hex. */
import type { Field } from './api.js';

export type Shown = 'text' | 'json' | 'hex';

export function bytesOf(f: Field): Uint8Array {
  const bin = atob(f.data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 text, or null when they are not valid UTF-8. */
export function textOf(b: Uint8Array): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

export function hexOf(b: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = Array.from(b.subarray(i, i + 16));
    const hex = row.map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const ascii = row.map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

/**
 * A field as the chosen form shows it. Text that is not UTF-8 falls back to hex, and JSON that does
 * not parse to text (then hex), saying so, so a person never reads garbage as content.
 */
export function show(f: Field | null, as: Shown): { text: string; note: string | null } {
  if (f === null) return { text: 'null', note: 'null' };
  const b = bytesOf(f);
  const cut = f.cut ? `first ${b.length} of ${f.size} bytes` : null;
  if (as === 'hex') return { text: hexOf(b), note: cut };
  const text = textOf(b);
  if (text === null) return { text: hexOf(b), note: ['not UTF-8: hex', cut].filter(Boolean).join('; ') };
  if (as === 'json') {
    try {
      return { text: JSON.stringify(JSON.parse(text), null, 2), note: cut };
    } catch {
      return { text, note: ['not JSON: text', cut].filter(Boolean).join('; ') };
    }
  }
  return { text, note: cut };
}

export function bytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
}
