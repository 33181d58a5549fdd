/**
 * Helpers for end-to-end tests: the real CLI (apps/cli/bin/run.js) and the real daemon as separate
 * processes, each test in its own temp directory (socket, config, pidfile, log).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpcClient, isProcessAlive } from '@tsvs/control';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'apps/cli/bin/run.js');

export interface Sandbox {
  dir: string;
  socket: string;
  config: string;
  pidfile: string;
  log: string;
  /** Processes to kill at cleanup if still alive. */
  pids: Set<number>;
}

export function sandbox(): Sandbox {
  // Short paths: unix socket paths are limited to 107 bytes.
  const dir = mkdtempSync('/tmp/tsvs-e2e-');
  return { dir, socket: join(dir, 'tsvs.sock'), config: join(dir, 'config.json'), pidfile: join(dir, 'tsvs.pid'), log: join(dir, 'tsvs.log'), pids: new Set() };
}

export async function cleanup(sb: Sandbox): Promise<void> {
  const pidInFile = Number.parseInt(safeRead(sb.pidfile), 10);
  if (Number.isInteger(pidInFile)) sb.pids.add(pidInFile);
  for (const pid of sb.pids) {
    if (pid !== process.pid && isProcessAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  rmSync(sb.dir, { recursive: true, force: true });
}

export function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tsvs ARGS` with TSVS_SOCKET set to the sandbox socket (unless env overrides it). */
export function cli(sb: Sandbox, args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TSVS_SOCKET: sb.socket, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid) sb.pids.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface Foreground {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `tsvs start` in the foreground; resolves once the socket answers (or rejects if it exits first). */
export async function startForeground(sb: Sandbox, args: string[] = []): Promise<Foreground> {
  const proc = spawn(process.execPath, [CLI, 'start', '--config', sb.config, '--socket', sb.socket, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid) sb.pids.add(proc.pid);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  proc.stdout!.on('data', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  const end = Date.now() + 15000;
  while (!(await answers(sb.socket))) {
    if (done) throw new Error(`tsvs start exited early: ${stderr}`);
    if (Date.now() > end) throw new Error('tsvs start: no answer on the socket within 15 s');
    await sleep(50);
  }
  return { proc, stderr: () => stderr, exited };
}

export async function answers(socket: string): Promise<boolean> {
  try {
    const c = await RpcClient.connect(socket, { connectTimeoutMs: 500 });
    try {
      await c.call('ping', {}, { timeoutMs: 2000 });
      return true;
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
