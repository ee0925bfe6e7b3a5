/**
 * The command-line end shared by the generators of single committed files (gen-config-validator,
 * gen-handler-table): `[--check]` compares the committed file with what the generator writes now;
 * without it the file is written when it differs. Returns the process exit code.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function writeOrCheck(tool: string, argv: string[], file: string, text: string, regenerate: string): number {
  const check = argv.includes('--check');
  const unknown = argv.find((a) => a !== '--check');
  if (unknown !== undefined) {
    process.stderr.write(`usage: ${tool} [--check]\nunknown argument: ${unknown}\n`);
    return 2;
  }
  const current = existsSync(file) ? readFileSync(file, 'utf8') : null;
  if (check) {
    if (current !== text) {
      process.stderr.write(`${file} is out of date: run \`${regenerate}\`\n`);
      return 1;
    }
    process.stdout.write(`${file} is up to date\n`);
    return 0;
  }
  if (current !== text) writeFileSync(file, text);
  process.stdout.write(`${file} ${current === text ? 'unchanged' : 'written'}\n`);
  return 0;
}
