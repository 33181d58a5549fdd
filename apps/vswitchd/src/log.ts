/**
 * The daemon's structured logger: pino, one JSON object per line (pino's format: level as a number,
 * time in ms since the epoch, msg, bindings). Destination: stderr (foreground) or a log file opened in
 * append mode (detached). The level changes at runtime (`log/set-level`, `tsvs set log-level`).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import type { LogLevel } from '@tsvs/control';

export type DaemonLogger = Logger;

export interface LogSetup {
  logger: DaemonLogger;
  /** Writes out anything buffered (call before exit). */
  flush(): void;
}

/**
 * Creates the logger. `file` undefined -> stderr (synchronous writes: nothing lost on a crash).
 * A file is written asynchronously, line by line, and flushed by flush().
 */
export function createLogger(options: { level: LogLevel; file?: string; name?: string }): LogSetup {
  let dest;
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    dest = pino.destination({ dest: options.file, append: true, sync: false, minLength: 0 });
  } else {
    dest = pino.destination({ dest: 2, sync: true });
  }
  const logger = pino(
    {
      name: options.name ?? 'tsvs-vswitchd',
      level: options.level,
      serializers: { err: pino.stdSerializers.err },
    },
    dest,
  );
  return {
    logger,
    flush: () => {
      try {
        dest.flushSync();
      } catch {
        // flushSync throws if the stream is not ready yet (nothing written); nothing to flush then.
      }
    },
  };
}
