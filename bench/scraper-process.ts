/**
 * The metrics row's Prometheus stand-in, in its own process: asked over IPC for a URL, it fetches it
 * and answers with the body's length (or the error). Scraping from the bench's own process would
 * charge every scrape's HTTP client and 15 KB of text to the process that also runs the producing
 * client, whose CPU sets the row's throughput; a real Prometheus server runs elsewhere.
 */
process.on('message', (m: unknown) => {
  const { id, url } = m as { id: number; url: string };
  fetch(url)
    .then(async (r) => {
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
      process.send?.({ id, bytes: body.length });
    })
    .catch((err: unknown) => process.send?.({ id, error: err instanceof Error ? err.message : String(err) }));
});
process.on('disconnect', () => process.exit(0));
