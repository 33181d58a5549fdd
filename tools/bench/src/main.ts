/**
 * `pnpm bench NAME [--json] [args…]`: runs the benchmark module tools/bench/src/NAME.ts.
 *
 * Each module exports `run(args: string[]): Promise<Record<string, unknown>>` and returns one flat
 * object of figures; with --json it is printed as one JSON object on stdout, otherwise as
 * `key: value` lines. Progress and notes go to stderr so that stdout stays machine-readable.
 * Benchmarks never pass or fail: they measure, and print ratios against a peer run in the same
 * invocation because these machines are noisy.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'main.js' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: pnpm bench NAME [--json] [args]\n  NAME: ${available.join(', ') || '(none built)'}\n`);
  process.exit(2);
}
const json = rest.includes('--json');
const args = rest.filter((a) => a !== '--json');
const mod = (await import(`./${name}.js`)) as { run(args: string[]): Promise<Record<string, unknown>> };
let result: Record<string, unknown>;
try {
  result = await mod.run(args);
} catch (e) {
  // A benchmark's expected failures (a bad argument, not root, a tool missing) are one line;
  // anything else is a bug and keeps its stack.
  if (!(e instanceof Error) || e.name !== 'BenchError') throw e;
  process.stderr.write(`bench ${name}: ${e.message}\n`);
  process.exit(1);
}
if (json) process.stdout.write(JSON.stringify(result) + '\n');
else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
