/**
 * The console's front end: the static files `npm run build` bundles from console/ into dist/console/
 * (scripts/build-console.ts: esbuild, no CDN, works offline), read once on first request and served
 * from memory. The page routes with the URL's hash (`/#/topics/orders`), so `/` is the only page.
 *
 * Headers: a Content-Security-Policy allowing only this origin's script, style and fetches (no
 * inline script, no framing), and nosniff.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse } from '../broker/http/server.js';
import { send } from '../broker/http/server.js';

/** dist/console/, from dist/src/console/. */
const ASSET_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

export class ConsoleAssets {
  private files: Map<string, Asset> | null = null;

  constructor(private readonly dir = ASSET_DIR) {}

  private load(): Map<string, Asset> {
    if (this.files !== null) return this.files;
    const files = new Map<string, Asset>();
    try {
      for (const name of readdirSync(this.dir)) {
        const type = TYPES[extname(name)];
        if (type !== undefined) files.set(`/${name}`, { type, body: readFileSync(this.dir + name) });
      }
    } catch {
      // Not built: answered below, and looked for again on the next request.
      return files;
    }
    if (files.has('/index.html')) this.files = files;
    return files;
  }

  serve(req: HttpRequest, res: HttpResponse): void {
    const path = req.url.split('?', 1)[0]!;
    const files = this.load();
    if (!files.has('/index.html')) {
      return send(res, 503, 'text/plain; charset=utf-8', 'the web console is not built: run npm run build (it bundles console/ into dist/console/)\n');
    }
    const asset = files.get(path === '/' ? '/index.html' : path);
    if (asset === undefined) return send(res, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
    res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': asset.body.length, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }
}
