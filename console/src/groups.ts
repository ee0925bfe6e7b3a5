import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, type GroupDetail, type GroupRow, type TopicRow } from './api.js';
import { LineChart, type Series } from './charts.js';
import { count } from './format.js';
import { html } from './html.js';
import { ErrorLine, NotLoaded, ReadOnlyNote, useAction, useLoad } from './util.js';

export function GroupsPage() {
  const { data, error, status } = useLoad(() => api.get<{ groups: GroupRow[] }>('/groups'), [], 5000);
  if (data === null) return html`<${NotLoaded} title="Consumer groups" error=${error} status=${status} />`;
  return html`<section>
    <h1>Consumer groups</h1>
    <${ErrorLine} error=${error} />
    <table class="grid" aria-label="groups">
      <thead><tr><th>Group</th><th>Type</th><th>State</th><th class="num">Members</th><th class="num">Partitions</th><th class="num">Total lag</th></tr></thead>
      <tbody>
        ${data.groups.map(
          (g) => html`<tr data-group=${g.groupId}>
            <td><a href=${`#/groups/${enc(g.groupId)}`}>${g.groupId}</a></td><td>${g.protocolType || '–'}</td><td>${g.state}</td>
            <td class="num">${g.members}</td><td class="num">${g.partitions}</td><td class="num">${count(g.totalLag)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${data.groups.length === 0 ? html`<p class="muted">No consumer groups yet.</p>` : null}
  </section>`;
}

/** How often the group page asks again, and so the lag chart's step. */
const GROUP_POLL_MS = 2000;
/** Points of lag history the chart keeps (four minutes at one every two seconds). */
const LAG_POINTS = 120;

export function GroupPage(props: { id: string }) {
  const { data, error, status, reload } = useLoad(() => api.get<GroupDetail>(`/groups/${enc(props.id)}`), [props.id], GROUP_POLL_MS);
  const history = useRef<Map<string, [number, number][]>>(new Map());
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (data === null) return;
    const h = history.current;
    const add = (name: string, v: number) => {
      const pts = h.get(name) ?? [];
      if (pts[pts.length - 1]?.[0] !== data.at) pts.push([data.at, v]);
      if (pts.length > LAG_POINTS) pts.shift();
      h.set(name, pts);
    };
    add('total', data.totalLag);
    for (const l of data.lag) if (l.lag !== null) add(`${l.topic}-${l.partition}`, l.lag);
    setVersion((v) => v + 1);
  }, [data]);
  if (data === null) return html`<${NotLoaded} title=${`Group ${props.id}`} error=${error} status=${status} />`;
  const series: Series[] = [...history.current].map(([name, points]) => ({ name, points }));
  return html`<section>
    <h1>Group ${data.groupId}</h1>
    <${ErrorLine} error=${error} />
    <dl class="card inline-dl" aria-label="group">
      <dt>State</dt><dd class="group-state">${data.state}</dd>
      <dt>Protocol</dt><dd>${data.protocolType || '–'} ${data.protocol}</dd>
      <dt>Members</dt><dd>${data.members.length}</dd>
      <dt>Total lag</dt><dd class="total-lag">${count(data.totalLag)}</dd>
    </dl>
    <h2>Members</h2>
    <table class="grid" aria-label="members">
      <thead><tr><th>Member</th><th>Client id</th><th>Host</th><th>Assigned partitions</th></tr></thead>
      <tbody>
        ${data.members.map(
          (m) => html`<tr><td><code>${m.memberId}</code>${m.groupInstanceId ? html` (static ${m.groupInstanceId})` : null}</td><td>${m.clientId}</td><td>${m.clientHost}</td>
            <td>${m.assignment.map((a) => `${a.topic}-${a.partition}`).join(', ') || '–'}</td></tr>`,
        )}
      </tbody>
    </table>
    ${data.members.length === 0 ? html`<p class="muted">No members.</p>` : null}
    <h2>Lag per partition</h2>
    <table class="grid" aria-label="lag">
      <thead><tr><th>Topic</th><th class="num">Partition</th><th class="num">Committed</th><th class="num">Log end</th><th class="num">Lag</th><th>Member</th></tr></thead>
      <tbody>
        ${data.lag.map(
          (l) => html`<tr data-tp=${`${l.topic}-${l.partition}`}><td>${l.topic}</td><td class="num">${l.partition}</td>
            <td class="num">${l.committedOffset < 0 ? '–' : count(l.committedOffset)}</td><td class="num">${l.logEndOffset < 0 ? '–' : count(l.logEndOffset)}</td>
            <td class="num lag">${l.lag === null ? '–' : count(l.lag)}</td><td>${l.clientId ?? '–'}</td></tr>`,
        )}
      </tbody>
    </table>
    <${LineChart} title="Lag over time (messages)" series=${series} unit="messages" />
    ${data.readOnly ? html`<${ReadOnlyNote} />` : html`<${ResetOffsets} group=${data} onDone=${reload} />`}
  </section>`;
}

function ResetOffsets(props: { group: GroupDetail; onDone: () => void }) {
  const g = props.group;
  const topics = useLoad(() => api.get<{ topics: TopicRow[] }>('/topics'), []);
  const mine = [...new Set(g.lag.map((l) => l.topic))];
  const [topic, setTopic] = useState(mine[0] ?? '');
  const [to, setTo] = useState('earliest');
  const [offset, setOffset] = useState('0');
  const [when, setWhen] = useState('');
  const action = useAction();
  const empty = g.state === 'Empty' || g.state === 'Dead';
  const names = [...new Set([...mine, ...(topics.data?.topics.map((t) => t.name) ?? [])])];
  const value = (e: Event) => (e.target as HTMLInputElement).value;
  return html`<form class="panel" aria-label="reset offsets" onSubmit=${(e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const body = { topic, to, offset: to === 'offset' ? Number(offset) : undefined, timestamp: to === 'timestamp' ? Date.parse(when) : undefined };
      const r = await api.post<{ offsets: { partition: number; offset: number }[] }>(`/groups/${enc(g.groupId)}/reset-offsets`, body);
      props.onDone();
      return `Reset ${topic}: ${r.offsets.map((o) => `partition ${o.partition} to ${o.offset}`).join(', ')}.`;
    });
  }}>
    <h2>Reset offsets</h2>
    ${empty ? null : html`<p class="muted">The group has members: stop its consumers first (Kafka resets only an empty group's offsets).</p>`}
    <label>Topic <select name="reset-topic" value=${topic} onChange=${(e: Event) => setTopic(value(e))}>${names.map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
    <label>To <select name="reset-to" value=${to} onChange=${(e: Event) => setTo(value(e))}>
      <option value="earliest">the earliest offset</option><option value="latest">the latest offset</option><option value="offset">an offset</option><option value="timestamp">a time</option>
    </select></label>
    ${to === 'offset' ? html`<label>Offset <input name="reset-offset" type="number" min="0" value=${offset} onInput=${(e: Event) => setOffset(value(e))} /></label>` : null}
    ${to === 'timestamp' ? html`<label>Time <input name="reset-time" type="datetime-local" step="1" value=${when} onInput=${(e: Event) => setWhen(value(e))} /></label>` : null}
    <button type="submit" disabled=${!empty || action.busy || topic === ''}>Reset offsets</button>
    <${ErrorLine} error=${action.error} />
    ${action.done !== null ? html`<p class="ok" role="status">${action.done}</p>` : null}
  </form>`;
}
