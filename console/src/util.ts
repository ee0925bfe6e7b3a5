/** Small shared pieces of the pages: loading data (once or polled), errors, and the read-only note. */
import { useEffect, useState, useCallback } from 'preact/hooks';
import { html } from './html.js';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** `load()` now, again on reload(), and every `everyMs` when given; the last good answer stays shown on an error. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    const run = () =>
      load().then(
        (d) => live && (setData(d), setError(null)),
        (e: Error) => live && setError(e.message),
      );
    void run();
    const timer = everyMs !== undefined ? setInterval(run, everyMs) : undefined;
    return () => {
      live = false;
      if (timer !== undefined) clearInterval(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload };
}

export function ErrorLine(props: { error: string | null }) {
  return props.error === null ? null : html`<p class="error" role="alert">${props.error}</p>`;
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
