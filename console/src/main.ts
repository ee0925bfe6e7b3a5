/**
 * The Rafka web console: a page per hash route (`#/topics/orders/messages`), each loading what it
 * shows from the broker's JSON API (/api/). Built by scripts/build-console.ts (esbuild) into
 * dist/console/app.js; served by src/console/assets.ts.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { OverviewPage } from './overview.js';
import { TopicsPage } from './topics.js';
import { TopicPage } from './topic.js';
import { GroupPage, GroupsPage } from './groups.js';
import { ConfigPage } from './config.js';

function route(): string[] {
  return location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
}

function Page(props: { parts: string[] }) {
  const [first, second, third] = props.parts;
  if (first === undefined) return html`<${OverviewPage} />`;
  if (first === 'topics' && second === undefined) return html`<${TopicsPage} />`;
  if (first === 'topics') return html`<${TopicPage} key=${second} name=${second} tab=${third ?? ''} />`;
  if (first === 'groups' && second === undefined) return html`<${GroupsPage} />`;
  if (first === 'groups') return html`<${GroupPage} key=${second} id=${second} />`;
  if (first === 'config') return html`<${ConfigPage} />`;
  return html`<section><h1>Not found</h1><p>No page at <code>${location.hash}</code>.</p></section>`;
}

function App() {
  const [parts, setParts] = useState(route());
  useEffect(() => {
    const on = () => setParts(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const section = parts[0] ?? '';
  const link = (href: string, name: string, label: string) => html`<a href=${href} class=${section === name ? 'active' : ''}>${label}</a>`;
  return html`<header>
      <a class="brand" href="#/">Rafka</a>
      <nav class="main-nav">
        ${link('#/', '', 'Overview')} ${link('#/topics', 'topics', 'Topics')} ${link('#/groups', 'groups', 'Consumer groups')} ${link('#/config', 'config', 'Configuration')}
      </nav>
    </header>
    <main><${Page} parts=${parts} /></main>`;
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading" line
render(html`<${App} />`, root);
