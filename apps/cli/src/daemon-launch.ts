/**
 * Running the daemon for `tsvs start`: in this process (foreground) or as a detached process that reports
 * readiness on a pipe (fd 3, see @tsvs/vswitchd run.ts), like `ovs-vswitchd --detach`.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '@tsvs/control';
import type { RunOptions } from '@tsvs/vswitchd';
import { CommandFailure } from './base-command.js';

/** Runs the daemon here until it stops; rejects with CommandFailure (exit 2 or 1) if it cannot start. */
export async function runForeground(options: RunOptions): Promise<number> {
  const { runDaemon, StartupError } = await import('@tsvs/vswitchd');
  try {
    return await runDaemon(options);
  } catch (err) {
    if (err instanceof StartupError) throw new CommandFailure(err.message, err.exitCode);
    throw err;
  }
}

/** Command-line arguments of tsvs-vswitchd (apps/vswitchd/src/args.ts) for these options. */
export function daemonArgs(o: RunOptions): string[] {
  const args = ['--config', o.configPath, '--socket', o.socketPath];
  if (o.pidfile) args.push('--pidfile', o.pidfile);
  if (o.logFile) args.push('--log-file', o.logFile);
  if (o.logLevel) args.push('--log-level', o.logLevel);
  if (o.overrides?.bridge !== undefined) args.push('--bridge', o.overrides.bridge);
  const t = o.overrides?.threads ?? {};
  if (t.pmd !== undefined) args.push('--pmd-threads', String(t.pmd));
  if (t.handler !== undefined) args.push('--handler-threads', String(t.handler));
  if (t.revalidator !== undefined) args.push('--revalidator-threads', String(t.revalidator));
  return args;
}

/**
 * Spawns tsvs-vswitchd in its own session with stdout/stderr appended to `logFile`, waits for its
 * readiness line, and returns its pid. Rejects with CommandFailure carrying the daemon's own error and
 * exit status when it fails to start.
 */
export async function startDetached(options: RunOptions & { logFile: string }, readyTimeoutMs = 30_000): Promise<number> {
  const main = fileURLToPath(import.meta.resolve('@tsvs/vswitchd/main'));
  mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
  const logFd = openSync(options.logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(process.execPath, [main, ...daemonArgs(options), '--ready-fd', '3'], {
      detached: true,
      stdio: ['ignore', logFd, logFd, 'pipe'],
    });
  } finally {
    closeSync(logFd);
  }
  const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  const line = await new Promise<string | { exit: number | null; signal: string | null }>((resolve) => {
    let buf = '';
    const timer = setTimeout(() => resolve(buf || 'timeout'), readyTimeoutMs);
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    pipe.on('error', () => undefined);
    child.once('exit', (exit, signal) => {
      clearTimeout(timer);
      resolve(buf.includes('\n') ? buf.slice(0, buf.indexOf('\n')) : { exit, signal });
    });
  });
  pipe.destroy();
  if (typeof line === 'string' && line.startsWith('ready ')) {
    child.unref();
    return Number(line.slice(6));
  }
  if (typeof line === 'string' && line.startsWith('error ')) {
    const m = /^error (\d+) (.*)$/.exec(line);
    throw new CommandFailure(m ? m[2]! : line, m ? Number(m[1]) : ExitCode.Failure);
  }
  if (line === 'timeout') {
    child.kill('SIGTERM');
    throw new CommandFailure(`the daemon did not become ready within ${readyTimeoutMs} ms (see ${options.logFile})`, ExitCode.Failure);
  }
  const how = typeof line === 'object' ? (line.signal ? `signal ${line.signal}` : `exit status ${line.exit}`) : line;
  throw new CommandFailure(`the daemon ended before it was ready (${how}); see ${options.logFile}`, ExitCode.Failure);
}
