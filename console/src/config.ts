import { api, type Settings } from './api.js';
import { html } from './html.js';
import { NotLoaded, useLoad } from './util.js';

export function ConfigPage() {
  const { data, error, status } = useLoad(() => api.get<Settings>('/config'), []);
  if (data === null) return html`<${NotLoaded} title="Configuration" error=${error} status=${status} />`;
  const shown = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? v.join(', ') : String(v));
  return html`<section>
    <h1>Configuration</h1>
    <p class="muted">This broker's settings (rafka.yaml, RAFKA_* variables and flags, over the defaults). Secrets are never shown.</p>
    <table class="grid" aria-label="settings">
      <thead><tr><th>Setting</th><th>Value</th><th>What it does</th></tr></thead>
      <tbody>
        ${data.settings.map(
          (s) => html`<tr data-setting=${s.key}><td><code>${s.key}</code></td><td><code class=${s.secret ? 'secret' : ''}>${shown(s.value)}</code></td><td class="doc">${s.doc}</td></tr>`,
        )}
      </tbody>
    </table>
    <h2>Topic defaults</h2>
    <table class="grid" aria-label="topic defaults">
      <thead><tr><th>Topic config</th><th>Default</th></tr></thead>
      <tbody>${Object.entries(data.topicDefaults).map(([k, v]) => html`<tr><td><code>${k}</code></td><td><code>${v}</code></td></tr>`)}</tbody>
    </table>
    ${data.saslUsers.length > 0 ? html`<h2>SASL users</h2><p>${data.saslUsers.join(', ')} (passwords not shown)</p>` : null}
  </section>`;
}
