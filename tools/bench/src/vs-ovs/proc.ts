/**
 * Running commands for the vs-ovs benchmark, and its cleanup registry.
 *
 * `sh` runs a command synchronously (setup and teardown steps, each well under a second or two);
 * `exec` runs one asynchronously with a time limit (the workloads, seconds long), so that a
 * SIGINT arriving meanwhile is handled at once. Errors: `BenchError`, one line naming the command
 * and the first line of its stderr.
 *
 * Cleanup: `onCleanup(name, fn)` registers a synchronous step; `cleanup()` runs the registered steps
 * newest first, each at most once, and never throws. It runs on a normal end (the caller's
 * `finally`), on process 'exit' (also after an uncaught exception) and on SIGINT / SIGTERM / SIGHUP
 * (then the process dies of the signal). Steps must be synchronous so they can run in 'exit'.
 */
import { spawn, spawnSync } from 'node:child_process';

export class BenchError extends Error {
  override readonly name = 'BenchError';
}

export interface ShOptions {
  /** Do not throw on a non-zero exit status. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Time limit, ms (default 60000). */
  timeout?: number;
}

export interface ShResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function firstLine(s: string): string {
  return s.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? '';
}

function describe(argv: readonly string[], r: { status: number | null; signal?: string | null; stderr: string; stdout: string; error?: Error }): string {
  const why = r.error ? r.error.message : firstLine(r.stderr) || firstLine(r.stdout) || (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
  return `${argv.join(' ')}: ${why}`;
}

/** Runs argv synchronously; returns stdout/stderr. Throws BenchError unless allowFail. */
export function sh(argv: readonly string[], opts: ShOptions = {}): ShResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: opts.env ?? process.env, timeout: opts.timeout ?? 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const res = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!opts.allowFail && (r.error || r.status !== 0)) throw new BenchError(describe(argv, { ...res, signal: r.signal, ...(r.error ? { error: r.error } : {}) }));
  return res;
}

/** Runs argv asynchronously with a time limit (SIGKILL when exceeded). Throws BenchError unless allowFail. */
export function exec(argv: readonly string[], opts: ShOptions = {}): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    p.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeout ?? 60_000);
    p.once('error', (e) => { clearTimeout(timer); reject(new BenchError(`${argv.join(' ')}: ${e.message}`)); });
    p.once('close', (status, signal) => {
      clearTimeout(timer);
      const r = { status, stdout, stderr };
      if (!opts.allowFail && status !== 0) reject(new BenchError(describe(argv, { ...r, signal })));
      else resolve(r);
    });
  });
}

/** argv that runs `cmd` inside network namespace `ns`. */
export function inNs(ns: string, cmd: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...cmd];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- cleanup registry ----

const steps: { name: string; fn: () => void }[] = [];
let hooked = false;

/** Registers a synchronous cleanup step; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(name: string, fn: () => void): () => void {
  hook();
  const step = { name, fn };
  steps.push(step);
  return () => {
    const i = steps.indexOf(step);
    if (i < 0) return;
    steps.splice(i, 1);
    runStep(step);
  };
}

function runStep(step: { name: string; fn: () => void }): void {
  try {
    step.fn();
  } catch (e) {
    process.stderr.write(`vs-ovs: cleanup ${step.name}: ${(e as Error).message}\n`);
  }
}

/** Runs every registered step, newest first. Never throws. */
export function cleanup(): void {
  while (steps.length > 0) runStep(steps.pop()!);
}

function onSignal(sig: NodeJS.Signals): void {
  process.stderr.write(`vs-ovs: ${sig}: cleaning up\n`);
  cleanup();
  process.removeListener(sig, onSignal);
  process.kill(process.pid, sig);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanup);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
}
