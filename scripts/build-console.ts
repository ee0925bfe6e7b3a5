/**
 * Builds the web console's front end (console/) into dist/console/: app.js bundled by esbuild from
 * console/src/main.ts (Preact and htm from npm, nothing from a CDN, so the console works offline),
 * with index.html, app.css and favicon.svg copied beside it. A step of `npm run build`, after the type check of
 * console/ (`tsc -p console/tsconfig.json`); src/console/assets.ts serves the result.
 *
 *   node dist/scripts/build-console.js
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const OUT = join(REPO, 'dist', 'console');

mkdirSync(OUT, { recursive: true });
const result = await build({
  entryPoints: [join(REPO, 'console', 'src', 'main.ts')],
  outfile: join(OUT, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
});
for (const f of ['index.html', 'app.css', 'favicon.svg']) copyFileSync(join(REPO, 'console', f), join(OUT, f));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`console: dist/console/ (app.js ${Math.round(bytes / 1024)} KiB)`);
