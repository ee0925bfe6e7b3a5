/** Small shared pieces of the pages: loading data (once or polled), errors, refusals, and the read-only note. */
import { useEffect, useState, useCallback } from 'preact/hooks';
import { ApiError } from './api.js';
import { html } from './html.js';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  /** The HTTP status of the last failed load (403: the principal is not authorized), else null. */
  status: number | null;
  reload: () => void;
}

/** `load()` now, again on reload(), and every `everyMs` when given; the last good answer stays shown on an error. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    const run = () =>
      load().then(
        (d) => live && (setData(d), setError(null), setStatus(null)),
        (e: Error) => live && (setError(e.message), setStatus(e instanceof ApiError ? e.status : null)),
      );
    void run();
    const timer = everyMs !== undefined ? setInterval(run, everyMs) : undefined;
    return () => {
      live = false;
      if (timer !== undefined) clearInterval(timer);
    };
  }, [...deps, tick]);
  return { data, error, status, reload };
}

export function ErrorLine(props: { error: string | null }) {
  return props.error === null ? null : html`<p class="error" role="alert">${props.error}</p>`;
}

/**
 * What a page shows instead of its content when the broker's authorizer refused it (403): a heading
 * saying so and the broker's one line naming principal, operation and resource, never a blank page.
 */
export function Refused(props: { message: string }) {
  return html`<div class="refused" role="alert" aria-label="not authorized">
    <h2>Not authorized</h2>
    <p class="refused-reason">${props.message}.</p>
    <p class="muted">An administrator can grant it with an ACL (<code>rafka acls add</code> or Kafka's <code>kafka-acls.sh</code>); the console checks the same ACLs as the Kafka port.</p>
  </div>`;
}

/** A page whose data has not come (yet): its title and "Loading…", the refusal, or the error. */
export function NotLoaded(props: { title: string; error: string | null; status: number | null }) {
  const body =
    props.error === null
      ? html`<p class="muted" role="status">Loading…</p>`
      : props.status === 403
        ? html`<${Refused} message=${props.error} />`
        : html`<${ErrorLine} error=${props.error} />`;
  return html`<section><h1>${props.title}</h1>${body}</section>`;
}

export function ReadOnlyNote() {
  return html`<p class="muted read-only-note">Read-only console: set <code>http.console.read.only: false</code> to change things from here.</p>`;
}

/** Run an action, showing its error or its result line. */
export function useAction(): { busy: boolean; error: string | null; done: string | null; run: (f: () => Promise<string>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (f: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone(await f());
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run };
}

/** `name=value` lines as an object (blank lines skipped); a line without '=' is an error. */
export function parsePairs(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${what}: "${line}" is not name=value`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}
