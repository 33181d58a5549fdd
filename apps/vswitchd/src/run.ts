/**
 * runDaemon(): the whole life of a daemon process: logger, start, signals, stop. Used by the `tsvs-vswitchd`
 * entry (main.ts) and by `tsvs start` in the foreground (same process).
 *
 * Readiness pipe (as OVS's --detach: lib/daemon-unix.c daemonize_start/daemonize_complete): when `readyFd`
 * is given, one line is written to it and it is closed: `ready <pid>` once the socket answers, or
 * `error <exit code> <message>` if the start failed. `tsvs start --detach` waits on it.
 */
import { closeSync, writeSync } from 'node:fs';
import type { LogLevel } from '@tsvs/control';
import { Daemon, StartupError, type DaemonOptions } from './daemon.js';
import { createLogger } from './log.js';
import { SwitchPlugin } from './switch/plugin.js';

export interface RunOptions extends DaemonOptions {
  logLevel?: LogLevel;
  /** Log to this file (append) instead of stderr. */
  logFile?: string;
  /** File descriptor of the readiness pipe. */
  readyFd?: number;
}

function report(fd: number | undefined, line: string): void {
  if (fd === undefined) return;
  try {
    writeSync(fd, line + '\n');
    closeSync(fd);
  } catch {
    // The starter went away; nothing to tell.
  }
}

/**
 * Starts the daemon and resolves with the exit code once it has stopped (0). A failed start rejects with
 * StartupError (exitCode 2: bad config or option; 1: anything else) after logging it.
 */
export async function runDaemon(options: RunOptions): Promise<number> {
  const logs = createLogger({ level: options.logLevel ?? 'info', ...(options.logFile ? { file: options.logFile } : {}) });
  const log = logs.logger;
  // The switch itself (datapath, ports, ...) unless the caller brings its own plug-ins.
  const daemon = new Daemon({ ...options, plugins: options.plugins ?? [new SwitchPlugin()] }, log);
  try {
    await daemon.start();
  } catch (err) {
    const failure = err instanceof StartupError ? err : new StartupError((err as Error).message, 1);
    log.fatal({ err: err instanceof StartupError ? undefined : err }, `cannot start: ${failure.message}`);
    logs.flush();
    report(options.readyFd, `error ${failure.exitCode} ${failure.message.replace(/\n/g, ' ')}`);
    throw failure;
  }
  report(options.readyFd, `ready ${process.pid}`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without a graceful stop');
      logs.flush();
      process.exit(1);
    }
    void daemon.stop(`signal ${signal}`);
  };
  const onFatal = (err: unknown): void => {
    // A bug in the control plane. Threads are supervised; the main thread is not: stop as cleanly as we can.
    log.fatal({ err }, 'uncaught error in the main thread');
    logs.flush();
    void daemon.stop('uncaught error').finally(() => {
      logs.flush();
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  await daemon.stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('uncaughtException', onFatal);
  process.off('unhandledRejection', onFatal);
  logs.flush();
  return 0;
}
