/**
 * The layering of src/ (CONTRIBUTING.md, "Layers"): a module imports only from its own layer or a
 * lower one. From the bottom:
 *
 *   base ← config ← protocol ← storage ← contracts ← hooks ← broker ← client ← console ← testing ← cli ← src/index.ts
 *
 * `base` holds what every layer may use and that uses nothing: the invariant check and the named
 * limits (src/base/).
 * `contracts` is the neutral module of what the broker and the hooks exchange (the stage contracts,
 * the request scope, the logger); hooks see the broker only through it, and the broker composes the
 * hooks (startBroker loads them), so hooks sit just below broker. Config reads files and validates
 * settings and depends on nothing above it. Every import is checked, type-only and dynamic ones too:
 * a type import is still a dependency a reader must follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** Layers from the bottom; a top-level folder of src/ (or the root index) has the rank of its place here. */
const LAYERS = ['base', 'config', 'protocol', 'storage', 'contracts', 'hooks', 'broker', 'client', 'console', 'testing', 'cli', '(root)'] as const;

function layerOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length === 1 ? '(root)' : rel[0]!;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative module specifiers of every import, export-from and dynamic import in a source file. */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g;
  for (const m of text.matchAll(re)) specs.push(m[1]!);
  return specs;
}

test('every top-level folder of src/ has a layer', () => {
  for (const name of readdirSync(SRC)) {
    if (statSync(join(SRC, name)).isDirectory()) assert.ok((LAYERS as readonly string[]).includes(name), `src/${name} has no place in the layers`);
  }
});

test('no module imports from a higher layer', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of sources(SRC)) {
    const from = layerOf(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const to = layerOf(target);
      checked++;
      if (LAYERS.indexOf(to as never) > LAYERS.indexOf(from as never)) violations.push(`${relative(SRC, file)} (${from}) imports ${spec} (${to})`);
    }
  }
  assert.ok(checked > 300, `only ${checked} imports found: is the pattern still right?`);
  assert.deepEqual(violations, []);
});

test('the check sees a violation when there is one', () => {
  // The pattern must find all three forms, or a violation could hide behind one of them.
  assert.deepEqual(importsOf(`import { a } from '../broker/x.js';\nexport * from '../hooks/y.js';\nconst m = await import('../client/z.js');\nimport '../cli/w.js';`), [
    '../broker/x.js',
    '../hooks/y.js',
    '../client/z.js',
    '../cli/w.js',
  ]);
});
