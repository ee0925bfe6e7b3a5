import { api, type Overview } from './api.js';
import { Sparkline } from './charts.js';
import { bytes, count, duration } from './format.js';
import { html } from './html.js';
import { ErrorLine, NotLoaded, useLoad } from './util.js';

export function OverviewPage() {
  const { data, error, status } = useLoad(() => api.get<Overview>('/overview'), [], 2000);
  if (data === null) return html`<${NotLoaded} title="Overview" error=${error} status=${status} />`;
  const b = data.broker;
  const s = data.throughput.samples;
  const rate = (f: (n: number) => string) => (n: number) => `${f(n)}/s`;
  return html`<section>
    <h1>Overview</h1>
    <${ErrorLine} error=${error} />
    <div class="cards">
      <dl class="card" aria-label="broker">
        <dt>Broker</dt><dd>node ${b.nodeId}${b.ready ? '' : ' (not ready)'}</dd>
        <dt>Cluster id</dt><dd><code>${b.clusterId}</code></dd>
        <dt>Version</dt><dd>Rafka ${b.version}</dd>
        <dt>Storage</dt><dd>${b.storage}</dd>
        <dt>Uptime</dt><dd class="uptime">${duration(b.uptimeMs)}</dd>
        <dt>Listeners</dt><dd>${b.listeners.map((l) => html`<div>${l.name === l.protocol ? l.name : `${l.name} (${l.protocol})`} <code>${l.address}</code></div>`)}</dd>
      </dl>
      <dl class="card counts" aria-label="counts">
        <dt>Topics</dt><dd>${count(data.counts.topics)}</dd>
        <dt>Partitions</dt><dd>${count(data.counts.partitions)}</dd>
        <dt>Consumer groups</dt><dd>${count(data.counts.groups)}</dd>
        <dt>Connections</dt><dd>${count(data.counts.connections)}</dd>
        <dt>Bytes in</dt><dd>${bytes(data.throughput.totals.bytesIn)}</dd>
        <dt>Records in</dt><dd>${count(data.throughput.totals.recordsIn)}</dd>
        <dt>Bytes out</dt><dd>${bytes(data.throughput.totals.bytesOut)}</dd>
      </dl>
    </div>
    <h2>Throughput</h2>
    <div class="sparks">
      <${Sparkline} label="Bytes in" values=${s.map((x) => x.bytesInPerSec)} format=${rate(bytes)} />
      <${Sparkline} label="Records in" values=${s.map((x) => x.recordsInPerSec)} format=${rate((n) => count(Math.round(n)))} />
      <${Sparkline} label="Bytes out" values=${s.map((x) => x.bytesOutPerSec)} format=${rate(bytes)} />
    </div>
    <p class="muted">One sample every ${data.throughput.intervalMs / 1000} s, the last ${s.length} shown.</p>
  </section>`;
}
