import { dirname, join } from 'node:path';
import { Flags } from '@oclif/core';
import { LOG_LEVELS, MAX_THREADS_PER_KIND, RpcClient, defaultConfigPath, defaultLogFilePath, defaultSocketPath, type LogLevel } from '@tsvs/control';
import type { RunOptions } from '@tsvs/vswitchd';
import { TsvsCommand } from '../base-command.js';
import { runForeground, startDetached } from '../daemon-launch.js';

export default class Start extends TsvsCommand {
  static override description = `Start the tsvs daemon.

Runs in the foreground with logs on stderr until SIGTERM, SIGINT (Ctrl-C) or \`tsvs stop\`. With --detach it runs in the background with a pidfile and a log file, and this command returns once the daemon answers on its socket.

The config file is read at start (a corrupt or invalid one is refused, exit 2, and left untouched) and written on every change. --bridge and the thread counts given here are saved into it. Thread counts not set anywhere follow Open vSwitch: one PMD thread per NUMA node; revalidators = cores/4 + 1 and handlers = the remaining cores (at least 1 each).

Defaults: config ${defaultConfigPath({}, 0)} as root, else $XDG_STATE_HOME/tsvs/config.json (~/.local/state/tsvs/config.json); pidfile: tsvs.pid next to the socket; log file with --detach: ${defaultLogFilePath({}, 0)} as root with the default socket, else tsvs.log next to the socket.`;

  static override examples = [
    { description: 'Run in the foreground (Ctrl-C stops it)', command: '<%= config.bin %> start' },
    { description: 'Run in the background with 2 PMD threads', command: '<%= config.bin %> start --detach --pmd-threads 2' },
    {
      description: 'A private instance with its own socket and config',
      command: '<%= config.bin %> start --detach --socket /tmp/sw1/tsvs.sock --config /tmp/sw1/config.json --bridge br1',
    },
  ];

  static override flags = {
    detach: Flags.boolean({ description: 'run in the background (pidfile and log file)' }),
    config: Flags.string({ description: 'config file', helpValue: 'FILE' }),
    bridge: Flags.string({ description: 'bridge name (saved in the config)', helpValue: 'NAME' }),
    'pmd-threads': Flags.integer({ description: 'PMD threads (saved in the config)', min: 1, max: MAX_THREADS_PER_KIND, helpValue: 'N' }),
    'handler-threads': Flags.integer({ description: 'handler threads (saved in the config)', min: 1, max: MAX_THREADS_PER_KIND, helpValue: 'N' }),
    'revalidator-threads': Flags.integer({ description: 'revalidator threads (saved in the config)', min: 1, max: MAX_THREADS_PER_KIND, helpValue: 'N' }),
    'log-file': Flags.string({ description: 'log to this file instead of stderr (default with --detach: see above)', helpValue: 'FILE' }),
    'log-level': Flags.option({ options: LOG_LEVELS, default: 'info' as LogLevel, description: 'initial log level' })(),
    pidfile: Flags.string({ description: 'pidfile (default with --detach: tsvs.pid next to the socket)', helpValue: 'FILE' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Start);
    const socketPath = this.socketPath(flags.socket);
    const threads: NonNullable<RunOptions['overrides']>['threads'] = {};
    if (flags['pmd-threads'] !== undefined) threads.pmd = flags['pmd-threads'];
    if (flags['handler-threads'] !== undefined) threads.handler = flags['handler-threads'];
    if (flags['revalidator-threads'] !== undefined) threads.revalidator = flags['revalidator-threads'];
    const options: RunOptions = {
      configPath: flags.config ?? defaultConfigPath(),
      socketPath,
      logLevel: flags['log-level'],
      overrides: { threads, ...(flags.bridge !== undefined ? { bridge: flags.bridge } : {}) },
    };
    const pidfile = flags.pidfile ?? (flags.detach ? join(dirname(socketPath), 'tsvs.pid') : undefined);
    if (pidfile) options.pidfile = pidfile;

    if (!flags.detach) {
      if (flags['log-file']) options.logFile = flags['log-file'];
      const code = await runForeground(options);
      this.exit(code);
    }

    const logFile =
      flags['log-file'] ?? (socketPath === defaultSocketPath() && process.getuid?.() === 0 ? defaultLogFilePath() : join(dirname(socketPath), 'tsvs.log'));
    const pid = await startDetached({ ...options, logFile });
    // The daemon listens last, so "ready" already means the socket answers; check it as a client would.
    const client = await RpcClient.connect(socketPath);
    try {
      await client.call('ping');
    } finally {
      client.close();
    }
    this.log(`tsvs daemon started: pid ${pid}, socket ${socketPath}, log ${logFile}${pidfile ? `, pidfile ${pidfile}` : ''}`);
  }
}
