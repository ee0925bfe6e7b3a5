import { useState } from 'preact/hooks';
import { api, enc, type TopicRow } from './api.js';
import { bytes, count } from './format.js';
import { html } from './html.js';
import { ErrorLine, NotLoaded, ReadOnlyNote, parsePairs, useAction, useLoad } from './util.js';

export function TopicsPage() {
  const { data, error, status, reload } = useLoad(() => api.get<{ topics: TopicRow[]; readOnly: boolean }>('/topics'), [], 5000);
  if (data === null) return html`<${NotLoaded} title="Topics" error=${error} status=${status} />`;
  return html`<section>
    <h1>Topics</h1>
    <${ErrorLine} error=${error} />
    <table class="grid" aria-label="topics">
      <thead><tr><th>Name</th><th class="num">Partitions</th><th class="num">Messages</th><th class="num">Size</th><th class="num">Config overrides</th></tr></thead>
      <tbody>
        ${data.topics.map(
          (t) => html`<tr data-topic=${t.name}>
            <td><a href=${`#/topics/${enc(t.name)}`}>${t.name}</a></td>
            <td class="num">${t.partitions}</td>
            <td class="num">${count(t.messages)}</td>
            <td class="num">${bytes(t.sizeBytes)}</td>
            <td class="num">${t.configOverrides}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${data.topics.length === 0 ? html`<p class="muted">No topics yet.</p>` : null}
    ${data.readOnly ? html`<${ReadOnlyNote} />` : html`<${CreateTopic} onCreated=${reload} />`}
  </section>`;
}

function CreateTopic(props: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [configs, setConfigs] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const body = { name: name.trim(), partitions: Number(partitions), configs: parsePairs(configs, 'configs') };
      await api.post('/topics', body);
      props.onCreated();
      setName('');
      return `Created topic ${body.name}.`;
    });
  };
  return html`<form class="panel" onSubmit=${submit} aria-label="create topic">
    <h2>Create a topic</h2>
    <label>Name <input name="name" required value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
    <label>Partitions <input name="partitions" type="number" min="1" value=${partitions} onInput=${(e: Event) => setPartitions((e.target as HTMLInputElement).value)} /></label>
    <label>Configs (name=value, one a line) <textarea name="configs" rows="3" placeholder="retention.ms=86400000" value=${configs} onInput=${(e: Event) => setConfigs((e.target as HTMLTextAreaElement).value)}></textarea></label>
    <button type="submit" disabled=${action.busy}>Create topic</button>
    <${ErrorLine} error=${action.error} />
    ${action.done !== null ? html`<p class="ok" role="status">${action.done}</p>` : null}
  </form>`;
}
