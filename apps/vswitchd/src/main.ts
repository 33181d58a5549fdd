#!/usr/bin/env node
/**
 * tsvs-vswitchd: the daemon's process entry. `tsvs start` runs the daemon in its own process in the
 * foreground and spawns this file with --detach semantics (it never forks itself).
 *
 *   node dist/main.js [--config FILE] [--socket PATH] [--pidfile FILE] [--log-file FILE] [--log-level L]
 *                     [--bridge NAME] [--pmd-threads N] [--handler-threads N] [--revalidator-threads N]
 *                     [--ready-fd FD]
 * Exit status: 0 after a graceful stop, 2 for bad arguments or config, 1 for other start failures.
 */
import { parseDaemonArgs } from './args.js';
import { runDaemon } from './run.js';
import { StartupError } from './daemon.js';

const parsed = parseDaemonArgs(process.argv.slice(2));
if (!parsed.ok) {
  process.stderr.write(`tsvs-vswitchd: ${parsed.error}\n`);
  process.exit(2);
}
try {
  const code = await runDaemon(parsed.options);
  process.exit(code);
} catch (err) {
  process.stderr.write(`tsvs-vswitchd: ${(err as Error).message}\n`);
  process.exit(err instanceof StartupError ? err.exitCode : 1);
}
