import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, enc, type Browse, type Message, type TopicDetail } from './api.js';
import { bytes, count, show, time, type Shown } from './format.js';
import { html } from './html.js';
import { ErrorLine, NotLoaded, ReadOnlyNote, Refused, parsePairs, useAction, useLoad } from './util.js';

export function TopicPage(props: { name: string; tab: string }) {
  const { data, error, status, reload } = useLoad(() => api.get<TopicDetail>(`/topics/${enc(props.name)}`), [props.name], 5000);
  if (data === null) return html`<${NotLoaded} title=${`Topic ${props.name}`} error=${error} status=${status} />`;
  const base = `#/topics/${enc(props.name)}`;
  const tab = props.tab || 'partitions';
  return html`<section>
    <h1>Topic ${data.name}</h1>
    <p class="muted">id <code>${data.id}</code></p>
    <nav class="tabs">
      <a href=${base} class=${tab === 'partitions' ? 'active' : ''}>Partitions & configs</a>
      <a href=${`${base}/messages`} class=${tab === 'messages' ? 'active' : ''}>Messages</a>
      <a href=${`${base}/produce`} class=${tab === 'produce' ? 'active' : ''}>Produce</a>
    </nav>
    <${ErrorLine} error=${error} />
    ${tab === 'messages'
      ? html`<${Messages} topic=${data} />`
      : tab === 'produce'
        ? html`<${Produce} topic=${data} />`
        : html`<${Partitions} topic=${data} /><${Configs} topic=${data} onChanged=${reload} />${data.readOnly ? html`<${ReadOnlyNote} />` : html`<${DeleteTopic} name=${data.name} />`}`}
  </section>`;
}

function Partitions(props: { topic: TopicDetail }) {
  return html`<table class="grid" aria-label="partitions">
    <thead><tr><th class="num">Partition</th><th class="num">Leader</th><th class="num">Log start</th><th class="num">Log end</th><th class="num">Messages</th><th class="num">Size</th><th class="num">Segments</th></tr></thead>
    <tbody>
      ${props.topic.partitions.map(
        (p) => html`<tr data-partition=${p.partition}>
          <td class="num">${p.partition}</td><td class="num">${p.leader}</td><td class="num">${count(p.logStartOffset)}</td><td class="num">${count(p.highWatermark)}</td>
          <td class="num">${count(p.highWatermark - p.logStartOffset)}</td><td class="num">${bytes(p.sizeBytes)}</td><td class="num">${p.segments ?? '–'}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function Configs(props: { topic: TopicDetail; onChanged: () => void }) {
  const [showAll, setShowAll] = useState(false);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const action = useAction();
  const t = props.topic;
  const rows = t.configs.filter((c) => showAll || !c.isDefault);
  const alter = (body: unknown, what: string) =>
    action.run(async () => {
      await api.patch(`/topics/${enc(t.name)}/configs`, body);
      props.onChanged();
      return what;
    });
  return html`<div>
    <h2>Configs</h2>
    <label class="inline"><input type="checkbox" checked=${showAll} onChange=${() => setShowAll(!showAll)} /> show defaults too</label>
    <table class="grid" aria-label="configs">
      <thead><tr><th>Name</th><th>Value</th><th>Source</th>${t.readOnly ? null : html`<th></th>`}</tr></thead>
      <tbody>
        ${rows.map(
          (c) => html`<tr data-config=${c.name}>
            <td><code>${c.name}</code></td><td>${c.sensitive ? html`<em>hidden</em>` : html`<code>${c.value ?? 'null'}</code>`}</td><td>${c.source}</td>
            ${t.readOnly ? null : html`<td>${c.source === 'DYNAMIC_TOPIC_CONFIG' ? html`<button class="link" onClick=${() => alter({ delete: [c.name] }, `Removed the override of ${c.name}.`)}>remove override</button>` : null}</td>`}
          </tr>`,
        )}
      </tbody>
    </table>
    ${rows.length === 0 ? html`<p class="muted">No overrides: every config has its default.</p>` : null}
    ${t.readOnly
      ? null
      : html`<form class="panel" aria-label="alter config" onSubmit=${(e: Event) => {
          e.preventDefault();
          void alter({ set: { [name.trim()]: value } }, `Set ${name.trim()} to ${value}.`);
        }}>
          <h3>Set a config</h3>
          <label>Name <input name="config-name" required list="config-names" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
          <datalist id="config-names">${t.configs.map((c) => html`<option value=${c.name} />`)}</datalist>
          <label>Value <input name="config-value" required value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} /></label>
          <button type="submit" disabled=${action.busy}>Set config</button>
        </form>`}
    <${ErrorLine} error=${action.error} />
    ${action.done !== null ? html`<p class="ok" role="status">${action.done}</p>` : null}
  </div>`;
}

function DeleteTopic(props: { name: string }) {
  const [confirm, setConfirm] = useState('');
  const action = useAction();
  return html`<form class="panel danger" aria-label="delete topic" onSubmit=${(e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await api.del(`/topics/${enc(props.name)}`);
      location.hash = '#/topics';
      return `Deleted ${props.name}.`;
    });
  }}>
    <h2>Delete this topic</h2>
    <label>Type the topic's name to confirm <input name="confirm" value=${confirm} onInput=${(e: Event) => setConfirm((e.target as HTMLInputElement).value)} /></label>
    <button type="submit" class="danger" disabled=${confirm !== props.name || action.busy}>Delete topic</button>
    <${ErrorLine} error=${action.error} />
  </form>`;
}

/** How often a live tail asks for what came after the last message shown. */
const TAIL_MS = 1000;
/** Messages a live tail keeps on the page (the oldest go first). */
const TAIL_KEEP = 500;

function Messages(props: { topic: TopicDetail }) {
  const t = props.topic;
  const [partition, setPartition] = useState(0);
  const [from, setFrom] = useState('end');
  const [offset, setOffset] = useState('0');
  const [when, setWhen] = useState('');
  const [limit, setLimit] = useState('50');
  const [as, setAs] = useState<Shown>('text');
  const [tail, setTail] = useState(false);
  const [page, setPage] = useState<Browse | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<string | null>(null);
  /** The broker's refusal (403: no READ on the topic): shown instead of the table. */
  const [refused, setRefused] = useState<string | null>(null);
  const next = useRef(0);
  const failed = (e: Error) => {
    if (e instanceof ApiError && e.status === 403) {
      setRefused(e.message);
      setMessages([]);
      setPage(null);
      setTail(false);
    } else setError(e.message);
  };

  const query = () => {
    const q = new URLSearchParams({ partition: String(partition), from, limit });
    if (from === 'offset') q.set('offset', offset);
    if (from === 'timestamp') q.set('timestamp', String(Date.parse(when)));
    return q;
  };
  const load = async () => {
    setError(null);
    try {
      const b = await api.get<Browse>(`/topics/${enc(t.name)}/messages?${query()}`);
      setRefused(null);
      setPage(b);
      setMessages(b.messages);
      next.current = b.nextOffset;
    } catch (e) {
      failed(e as Error);
    }
  };
  useEffect(() => {
    void load();
  }, [t.name, partition]);
  useEffect(() => {
    if (!tail) return;
    let live = true;
    const timer = setInterval(async () => {
      try {
        const q = new URLSearchParams({ partition: String(partition), from: 'offset', offset: String(next.current), limit: '500' });
        const b = await api.get<Browse>(`/topics/${enc(t.name)}/messages?${q}`);
        if (!live) return;
        next.current = b.nextOffset;
        setPage(b);
        if (b.messages.length > 0) setMessages((old) => [...old, ...b.messages].slice(-TAIL_KEEP));
      } catch (e) {
        if (live) failed(e as Error);
      }
    }, TAIL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [tail, partition, t.name]);

  const value = (e: Event) => (e.target as HTMLInputElement).value;
  return html`<div>
    <form class="toolbar" aria-label="browse" onSubmit=${(e: Event) => (e.preventDefault(), void load())}>
      <label>Partition <select name="partition" value=${partition} onChange=${(e: Event) => setPartition(Number(value(e)))}>
        ${t.partitions.map((p) => html`<option value=${p.partition}>${p.partition}</option>`)}
      </select></label>
      <label>From <select name="from" value=${from} onChange=${(e: Event) => setFrom(value(e))}>
        <option value="end">the end (latest)</option><option value="beginning">the beginning</option><option value="offset">an offset</option><option value="timestamp">a time</option>
      </select></label>
      ${from === 'offset' ? html`<label>Offset <input name="offset" type="number" min="0" value=${offset} onInput=${(e: Event) => setOffset(value(e))} /></label>` : null}
      ${from === 'timestamp' ? html`<label>Time <input name="timestamp" type="datetime-local" step="1" value=${when} onInput=${(e: Event) => setWhen(value(e))} /></label>` : null}
      <label>Max <input name="limit" type="number" min="1" max="500" value=${limit} onInput=${(e: Event) => setLimit(value(e))} /></label>
      <button type="submit">Load</button>
      <label>Show as <select name="format" value=${as} onChange=${(e: Event) => setAs(value(e) as Shown)}>
        <option value="text">text</option><option value="json">JSON</option><option value="hex">hex</option>
      </select></label>
      <label class="inline"><input type="checkbox" name="tail" checked=${tail} onChange=${() => setTail(!tail)} /> Live tail</label>
    </form>
    <${ErrorLine} error=${error} />
    ${page !== null
      ? html`<p class="muted" role="status">Partition ${page.partition}: offsets ${count(page.logStartOffset)} to ${count(page.highWatermark)}; ${messages.length} shown${page.truncated ? ' (cut at the size limit)' : ''}${tail ? ', tailing' : ''}.</p>`
      : null}
    ${refused !== null ? html`<${Refused} message=${refused} />` : null}
    <table class="grid messages" aria-label="messages" hidden=${refused !== null}>
      <thead><tr><th class="num">Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>
      <tbody>
        ${messages.map((m) => {
          const k = show(m.key, as);
          const v = show(m.value, as);
          return html`<tr data-offset=${m.offset}>
            <td class="num">${m.offset}</td>
            <td class="ts">${time(m.timestamp)}</td>
            <td><pre class="key">${k.text}</pre>${k.note && m.key !== null ? html`<small>${k.note}</small>` : null}</td>
            <td><pre class="value">${v.text}</pre>${v.note ? html`<small>${v.note}</small>` : null}</td>
            <td>${m.headers.map((h) => html`<div class="header"><code>${h.key}</code>: ${show(h.value, as === 'json' ? 'text' : as).text}</div>`)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${messages.length === 0 && page !== null ? html`<p class="muted">No messages here.</p>` : null}
  </div>`;
}

function Produce(props: { topic: TopicDetail }) {
  const t = props.topic;
  const [partition, setPartition] = useState('');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const action = useAction();
  if (t.readOnly) return html`<${ReadOnlyNote} />`;
  const input = (set: (s: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return html`<form class="panel" aria-label="produce" onSubmit=${(e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const h = Object.entries(parsePairs(headers, 'headers')).map(([k, v]) => ({ key: k, value: v }));
      const body = { value, key: key === '' ? null : key, headers: h, partition: partition === '' ? null : Number(partition) };
      const r = await api.post<{ partition: number; offset: number }>(`/topics/${enc(t.name)}/messages`, body);
      return `Produced to partition ${r.partition} at offset ${r.offset}.`;
    });
  }}>
    <h2>Produce a message</h2>
    <label>Partition <select name="partition" value=${partition} onChange=${input(setPartition)}>
      <option value="">chosen by the key (the default partitioner)</option>
      ${t.partitions.map((p) => html`<option value=${p.partition}>${p.partition}</option>`)}
    </select></label>
    <label>Key <input name="key" placeholder="none" value=${key} onInput=${input(setKey)} /></label>
    <label>Value <textarea name="value" rows="6" value=${value} onInput=${input(setValue)}></textarea></label>
    <label>Headers (name=value, one a line) <textarea name="headers" rows="2" value=${headers} onInput=${input(setHeaders)}></textarea></label>
    <button type="submit" disabled=${action.busy}>Produce</button>
    <${ErrorLine} error=${action.error} />
    ${action.done !== null ? html`<p class="ok" role="status">${action.done}</p>` : null}
  </form>`;
}
