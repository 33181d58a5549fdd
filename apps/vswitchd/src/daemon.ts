/**
 * The daemon's main-thread control plane: config store, RPC server, logger, thread supervisor and the
 * plug-ins that bring the datapath, ports and OpenFlow tables (plugin.ts).
 *
 * Start: plug-ins register -> refuse if a daemon answers on the socket -> load config (ConfigError:
 * refuse, exit 2, file untouched) -> apply command-line overrides (saved) -> pidfile -> threads ->
 * plug-ins start -> listen on the socket (so a client that can connect sees a fully started daemon).
 * Stop (SIGTERM, SIGINT, `stop` RPC; idempotent): close the socket -> plug-ins stop in reverse (close
 * ports, flush flows) -> stop threads -> save config -> remove pidfile.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { threadRegistryStats } from '@tsvs/shm';
import {
  RpcServer,
  THREAD_KINDS,
  type LogLevel,
  type ShowDatapath,
  type ShowPort,
  type ShowResult,
  type ShowThreadKind,
  type ThreadCounts,
  type ThreadKind,
} from '@tsvs/control';
import { ConfigError } from './config/parse.js';
import { nameSchema } from './config/schema.js';
import { ConfigStore } from './config/store.js';
import type { DaemonLogger } from './log.js';
import { removePidfile, writePidfile } from './pidfile.js';
import type { DaemonPlugin } from './plugin.js';
import { registerCoreMethods } from './rpc-core.js';
import { Supervisor } from './supervisor.js';
import { machineShape, resolveThreadCounts, type ConfiguredThreads, type MachineShape } from './thread-defaults.js';

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface DaemonOptions {
  configPath: string;
  socketPath: string;
  pidfile?: string;
  /** Applied to the config at start and saved (like ovs-vsctl settings given at startup). */
  overrides?: { bridge?: string; threads?: Partial<Record<ThreadKind, number>> };
  plugins?: DaemonPlugin[];
  /** CPU cores and NUMA nodes for the default thread counts (tests pass their own). */
  machine?: MachineShape;
}

/** A start that failed; `exitCode` 2 for bad configuration or arguments, 1 otherwise. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

const SKELETON_WORKER = new URL('./workers/skeleton.js', import.meta.url);

export class Daemon {
  readonly rpc: RpcServer;
  readonly config: ConfigStore;
  readonly supervisor: Supervisor;
  readonly startedAt = Date.now();
  private readonly plugins: DaemonPlugin[];
  private readonly machine: MachineShape;
  private portsView: (() => ShowPort[]) | undefined;
  /** Most threads per kind, as plug-ins declare them in register() (checked at start, before anything is saved). */
  readonly threadLimits: Partial<Record<ThreadKind, number>> = {};
  private datapathView: (() => ShowDatapath) | undefined;
  private stopPromise: Promise<void> | undefined;
  private resolveStopped!: () => void;
  /** Resolves once stop() has finished. */
  readonly stopped: Promise<void>;

  constructor(
    readonly options: DaemonOptions,
    readonly log: DaemonLogger,
  ) {
    this.plugins = options.plugins ?? [];
    this.machine = options.machine ?? machineShape();
    this.rpc = new RpcServer({ logger: log.child({ subsystem: 'rpc' }) });
    this.config = new ConfigStore(options.configPath);
    this.supervisor = new Supervisor({ logger: log.child({ subsystem: 'supervisor' }) });
    for (const kind of THREAD_KINDS) this.supervisor.defineKind(kind, { url: SKELETON_WORKER });
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    registerCoreMethods(this);
  }

  get logLevel(): LogLevel {
    return this.log.level as LogLevel;
  }

  set logLevel(level: LogLevel) {
    this.log.level = level;
  }

  get isStopping(): boolean {
    return this.stopPromise !== undefined;
  }

  /** Lets the port subsystem report live port state in `show` (default: the ports of the config). */
  setPortsView(view: () => ShowPort[]): void {
    this.portsView = view;
  }

  /** Lets the datapath report its lookups and flows in `show`. */
  setDatapathView(view: () => ShowDatapath): void {
    this.datapathView = view;
  }

  /** Thread counts as configured (null: automatic). */
  configuredThreads(): ConfiguredThreads {
    return { ...this.config.get().threads };
  }

  /** Effective thread counts (configured, or OVS's defaults from the CPU count). */
  threadCounts(): ThreadCounts {
    return resolveThreadCounts(this.configuredThreads(), this.machine);
  }

  /** Makes the supervisor run the effective thread counts. */
  async applyThreadCounts(): Promise<void> {
    const counts = this.threadCounts();
    for (const kind of THREAD_KINDS) {
      if (this.supervisor.count(kind) !== counts[kind]) {
        this.log.info({ kind, count: counts[kind] }, 'setting thread count');
        await this.supervisor.setCount(kind, counts[kind]);
      }
    }
  }

  async start(): Promise<void> {
    for (const plugin of this.plugins) await plugin.register?.(this);
    if (await socketAnswers(this.options.socketPath)) {
      throw new StartupError(`another daemon is listening on ${this.options.socketPath}`, 1);
    }
    // Check the overrides before the config is loaded: a bad one must not leave a new config file behind.
    for (const kind of THREAD_KINDS) {
      const n = this.options.overrides?.threads?.[kind];
      const max = this.threadLimits[kind];
      if (n !== undefined && max !== undefined && n > max) throw new StartupError(`bad option --${kind}-threads ${n}: at most ${max}`, 2);
    }
    if (this.options.overrides?.bridge !== undefined) {
      const ok = nameSchema.safeParse(this.options.overrides.bridge);
      if (!ok.success) throw new StartupError(`bad option --bridge ${this.options.overrides.bridge}: ${ok.error.issues[0]?.message ?? 'invalid'}`, 2);
    }
    try {
      const { created } = await this.config.load();
      this.log.info({ config: this.options.configPath, created }, created ? 'config created with defaults' : 'config loaded');
    } catch (err) {
      if (err instanceof ConfigError) throw new StartupError(err.message, 2);
      throw err;
    }
    for (const kind of THREAD_KINDS) {
      const n = this.config.get().threads[kind];
      const max = this.threadLimits[kind];
      if (n !== null && max !== undefined && n > max && this.options.overrides?.threads?.[kind] === undefined) {
        throw new StartupError(`config file ${this.options.configPath}: threads.${kind}: at most ${max} ${kind} threads (is ${n})`, 2);
      }
    }
    await this.applyOverrides();
    let pidfileWritten = false;
    try {
      if (this.options.pidfile) {
        try {
          await writePidfile(this.options.pidfile);
        } catch (err) {
          throw new StartupError((err as Error).message, 1);
        }
        pidfileWritten = true;
      }
      // Plug-ins first: they adopt the thread kinds they run (the datapath's PMDs, ...) with the
      // configured counts; the supervisor then runs the kinds nobody adopted.
      for (const plugin of this.plugins) await plugin.start?.(this);
      await this.applyThreadCounts();
      try {
        await this.rpc.listen(this.options.socketPath);
      } catch (err) {
        throw new StartupError(`cannot listen on ${this.options.socketPath}: ${(err as Error).message}`, 1);
      }
    } catch (err) {
      for (const plugin of [...this.plugins].reverse()) await Promise.resolve(plugin.stop?.(this)).catch(() => undefined);
      await this.supervisor.stopAll();
      if (pidfileWritten && this.options.pidfile) await removePidfile(this.options.pidfile);
      throw err;
    }
    this.log.info(
      { pid: process.pid, socket: this.options.socketPath, bridge: this.config.get().bridge.name, threads: this.threadCounts() },
      'tsvs daemon ready',
    );
  }

  private async applyOverrides(): Promise<void> {
    const o = this.options.overrides;
    if (!o) return;
    const cfg = this.config.get();
    const threads = o.threads ?? {};
    const changes = (o.bridge !== undefined && o.bridge !== cfg.bridge.name) || THREAD_KINDS.some((k) => threads[k] !== undefined && threads[k] !== cfg.threads[k]);
    if (!changes) return;
    try {
      await this.config.update('command line', (draft) => {
        if (o.bridge !== undefined) draft.bridge.name = o.bridge;
        for (const k of THREAD_KINDS) if (threads[k] !== undefined) draft.threads[k] = threads[k];
      });
    } catch (err) {
      if (err instanceof ConfigError) throw new StartupError(err.message.replace(/^config file \S+: /, 'bad option: '), 2);
      throw err;
    }
  }

  /** Graceful stop; see the file comment. Safe to call more than once. */
  stop(reason: string): Promise<void> {
    this.stopPromise ??= (async () => {
      this.log.info({ reason }, 'tsvs daemon stopping');
      await this.rpc.close().catch((err: unknown) => this.log.error({ err }, 'closing the control socket'));
      for (const plugin of [...this.plugins].reverse()) {
        try {
          await plugin.stop?.(this);
        } catch (err) {
          this.log.error({ err, plugin: plugin.name }, 'plug-in stop failed');
        }
      }
      await this.supervisor.stopAll();
      await this.config.save().catch((err: unknown) => this.log.error({ err }, 'saving the config'));
      if (this.options.pidfile) await removePidfile(this.options.pidfile);
      this.log.info({ reason }, 'tsvs daemon stopped');
      this.resolveStopped();
    })();
    return this.stopPromise;
  }

  show(): ShowResult {
    const cfg = this.config.get();
    const now = Date.now();
    const threads: Record<string, ShowThreadKind> = {};
    for (const kind of this.supervisor.kindNames()) {
      const snap = this.supervisor.snapshot(kind);
      const configured = (cfg.threads as Record<string, number | null>)[kind];
      threads[kind] = {
        count: snap.count,
        auto: configured === null || configured === undefined,
        alive: snap.alive,
        restarts: snap.restarts,
        threads: snap.threads.map((t) => ({
          slot: t.slot,
          threadId: t.threadId,
          restarts: t.restarts,
          uptimeMs: t.uptimeMs,
          lastDowntimeMs: t.lastDowntimeMs,
        })),
      };
    }
    const ports: ShowPort[] = this.portsView
      ? this.portsView()
      : cfg.ports.map((p) => ({ name: p.name, type: p.type, ofport: p.ofport, odpPort: null, options: { ...p.options }, rxqs: [], state: 'configured' }));
    const extensions: Record<string, unknown> = {};
    for (const plugin of this.plugins) {
      if (!plugin.show) continue;
      try {
        extensions[plugin.name] = plugin.show();
      } catch (err) {
        extensions[plugin.name] = { error: (err as Error).message };
      }
    }
    return {
      pid: process.pid,
      version: VERSION,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeMs: now - this.startedAt,
      logLevel: this.logLevel,
      socket: this.options.socketPath,
      configPath: this.options.configPath,
      bridge: { name: cfg.bridge.name, ports },
      threads: threads as ShowResult['threads'],
      locksRecovered: threadRegistryStats().locksRecovered,
      tunables: { ...cfg.tunables },
      openflow: { rules: cfg.openflow.rules.length },
      ...(this.datapathView ? { datapath: this.datapathView() } : {}),
      extensions,
    };
  }
}

/** True when something accepts connections on the unix socket `path`. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
