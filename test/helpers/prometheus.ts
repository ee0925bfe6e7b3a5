/** Scraping a broker's /metrics in tests: the Prometheus text format parsed into samples. */
import assert from 'node:assert/strict';

export interface Scrape {
  contentType: string;
  text: string;
  /** Sample value by series: the metric name and its labels sorted by name (see seriesKey). */
  samples: Map<string, number>;
}

/** `name{a="1",b="x"}` with the labels sorted by name, whatever order the exposition printed them in. */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** Parses the text exposition format (version 0.0.4): every sample line, comments skipped. */
export function parsePrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = JSON.parse(`"${l[2]!}"`) as string;
    const key = seriesKey(m[1]!, labels);
    assert.ok(!samples.has(key), `series ${key} appears twice`);
    samples.set(key, m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]));
  }
  return samples;
}

export async function scrape(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { contentType: res.headers.get('content-type') ?? '', text, samples: parsePrometheusText(text) };
}

/** One sample's value; fails naming the series when it is absent. */
export function sample(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const key = seriesKey(name, labels);
  const v = s.samples.get(key);
  assert.ok(v !== undefined, `no series ${key} in the scrape; series of ${name}: ${[...s.samples.keys()].filter((k) => k.startsWith(name)).join(' ') || 'none'}`);
  return v;
}
