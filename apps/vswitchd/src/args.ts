/**
 * Command-line arguments of tsvs-vswitchd (main.ts). The socket defaults to $TSVS_SOCKET, then the
 * default of @tsvs/control paths.ts; the config to defaultConfigPath().
 */
import { parseArgs } from 'node:util';
import { LOG_LEVELS, MAX_THREADS_PER_KIND, defaultConfigPath, resolveSocketPath, type LogLevel, type ThreadKind } from '@tsvs/control';
import type { RunOptions } from './run.js';

export type ParsedArgs = { ok: true; options: RunOptions } | { ok: false; error: string };

function count(flag: string, raw: string | undefined): number | string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) return `--${flag} ${raw}: expected an integer from 1 to ${MAX_THREADS_PER_KIND}`;
  const n = Number(raw);
  if (n < 1 || n > MAX_THREADS_PER_KIND) return `--${flag} ${raw}: expected an integer from 1 to ${MAX_THREADS_PER_KIND}`;
  return n;
}

export function parseDaemonArgs(argv: string[], env: Record<string, string | undefined> = process.env): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        socket: { type: 'string' },
        pidfile: { type: 'string' },
        'log-file': { type: 'string' },
        'log-level': { type: 'string' },
        bridge: { type: 'string' },
        'pmd-threads': { type: 'string' },
        'handler-threads': { type: 'string' },
        'revalidator-threads': { type: 'string' },
        'ready-fd': { type: 'string' },
      },
    }));
  } catch (err) {
    return { ok: false, error: (err as Error).message.split('\n')[0] ?? 'bad arguments' };
  }
  const level = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    return { ok: false, error: `--log-level ${level}: expected one of ${LOG_LEVELS.join(', ')}` };
  }
  const threads: Partial<Record<ThreadKind, number>> = {};
  for (const [flag, kind] of [['pmd-threads', 'pmd'], ['handler-threads', 'handler'], ['revalidator-threads', 'revalidator']] as const) {
    const n = count(flag, values[flag]);
    if (typeof n === 'string') return { ok: false, error: n };
    if (n !== undefined) threads[kind] = n;
  }
  let readyFd: number | undefined;
  if (values['ready-fd'] !== undefined) {
    if (!/^\d+$/.test(values['ready-fd'])) return { ok: false, error: `--ready-fd ${values['ready-fd']}: expected a file descriptor number` };
    readyFd = Number(values['ready-fd']);
  }
  const options: RunOptions = {
    configPath: values.config ?? defaultConfigPath(env),
    socketPath: resolveSocketPath(values.socket, env),
    logLevel: level as LogLevel,
    overrides: { threads, ...(values.bridge !== undefined ? { bridge: values.bridge } : {}) },
    ...(values.pidfile !== undefined ? { pidfile: values.pidfile } : {}),
    ...(values['log-file'] !== undefined ? { logFile: values['log-file'] } : {}),
    ...(readyFd !== undefined ? { readyFd } : {}),
  };
  return { ok: true, options };
}
