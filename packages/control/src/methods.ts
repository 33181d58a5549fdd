/**
 * The method table of the control protocol: method name -> params -> result.
 *
 * `MethodTable` is an interface so later packages add their methods by declaration merging, and get typed
 * `client.call()` and `server.register()` for them:
 *
 *   declare module '@tsvs/control' {
 *     interface MethodTable { 'dpctl/dump-flows': { params: { verbose?: boolean }; result: { text: string } } }
 *   }
 *
 * Every request is validated against a zod schema on the server (`coreParamSchemas` for the methods here;
 * a registering package passes its own schema). Params may be omitted when the schema accepts `{}`.
 */
import { z } from 'zod';
import { MAX_THREADS_PER_KIND, type ThreadKind } from './threads.js';
import { tunablesPatchSchema, type Tunables, type TunablesPatch } from './tunables.js';
import type { SwitchMethods } from './switch-methods.js';
import type { OfprotoMethods } from './ofproto-methods.js';

/** Levels of the daemon's logger (pino's names). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One port as `show` reports it. Fields a subsystem does not know yet are null / empty. */
export interface ShowPort {
  name: string;
  /** Provider: memory | pcap-file | system (packages/netdev). */
  type: string;
  /** OpenFlow port number; null until the port is attached. */
  ofport: number | null;
  /** Datapath (odp) port number; null until the port is attached. */
  odpPort: number | null;
  options: Record<string, string>;
  /** Receive queues and the PMD slot polling each (null: unassigned). */
  rxqs: { rxq: number; pmd: number | null }[];
  /** "up", "error" (could not be opened: see `error`), or "configured" (no datapath runs). */
  state: string;
  /** Why the port could not be opened (state "error"), one line. */
  error?: string;
  /** VLAN settings (OVS Port tag, trunks, vlan_mode), when set. */
  tag?: number;
  trunks?: number[];
  vlan_mode?: string;
}

/** The datapath behind the bridge (OVS `dpctl/show`: lookups and flows). */
export interface ShowDatapath {
  name: string;
  /** Packets that matched a datapath flow. */
  hit: number;
  /** Packets that matched none and were queued as upcalls. */
  missed: number;
  /** Packets that matched none and could not be queued. */
  lost: number;
  flows: number;
}

/** One thread slot of the supervisor. */
export interface ShowThread {
  slot: number;
  /** Node's worker threadId of the running incarnation; null while it is being restarted. */
  threadId: number | null;
  restarts: number;
  /** ms since the current incarnation became ready; null while down. */
  uptimeMs: number | null;
  /** ms from the last death to the replacement being ready; null if it never died. */
  lastDowntimeMs: number | null;
}

export interface ShowThreadKind {
  /** Threads of this kind that should run. */
  count: number;
  /** True when the count comes from the CPU count (not set in the config). */
  auto: boolean;
  /** Threads currently running. */
  alive: number;
  /** Restarts after a thread died, summed over the kind's slots since the daemon started. */
  restarts: number;
  threads: ShowThread[];
}

export interface ShowResult {
  pid: number;
  version: string;
  /** ISO 8601. */
  startedAt: string;
  uptimeMs: number;
  logLevel: LogLevel;
  socket: string;
  configPath: string;
  bridge: { name: string; ports: ShowPort[] };
  threads: Record<ThreadKind, ShowThreadKind> & Record<string, ShowThreadKind>;
  /**
   * Locks in shared memory (count, since start) that a thread took over because the thread holding
   * each had died in its critical section (@tsvs/shm thread-registry); nonzero only after crashes.
   */
  locksRecovered: number;
  tunables: Tunables;
  openflow: { rules: number };
  /** The running datapath; absent when the daemon runs without one. */
  datapath?: ShowDatapath;
  /** Sections contributed by subsystems (datapath, ofproto ...), keyed by subsystem name. */
  extensions: Record<string, unknown>;
}

/** The methods the daemon itself serves. */
export interface CoreMethods {
  /** Liveness probe: answers as soon as the daemon's socket is up. */
  ping: { params: Record<string, never>; result: { pid: number; version: string } };
  /** Everything `tsvs show` prints. */
  show: { params: Record<string, never>; result: ShowResult };
  /** Graceful stop; the reply is sent before the daemon shuts down. */
  stop: { params: Record<string, never>; result: { stopping: true } };
  /** Lists every registered method (like ovs-appctl list-commands). */
  'list-commands': { params: Record<string, never>; result: { methods: { name: string; description: string }[] } };
  'log/set-level': { params: { level: LogLevel }; result: { level: LogLevel; previous: LogLevel } };
  'log/get-level': { params: Record<string, never>; result: { level: LogLevel } };
  /** Sets tunables atomically: all keys valid and saved, or nothing changed. */
  'config/set': { params: { settings: TunablesPatch }; result: { tunables: Tunables; changed: string[] } };
  'config/get': { params: Record<string, never>; result: { tunables: Tunables } };
  /** Changes thread counts at runtime and persists them; an omitted kind keeps its count. */
  'threads/set': {
    params: { pmd?: number; handler?: number; revalidator?: number };
    result: { threads: Record<ThreadKind, number> };
  };
  /**
   * Fault injection for tests: makes one thread die (`throw`: uncaught exception in the thread; `exit`:
   * process.exit(0) in the thread; `terminate`: Worker.terminate() from the main thread). The supervisor
   * restarts it and counts the restart.
   */
  'thread/crash': {
    params: { kind: string; slot: number; how: 'throw' | 'exit' | 'terminate' };
    result: { kind: string; slot: number; threadId: number };
  };
}

/** Every method known to the type system: the core ones plus those other packages merge in. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MethodTable extends CoreMethods, SwitchMethods, OfprotoMethods {}

export type CoreMethodName = keyof CoreMethods;
export type MethodName = keyof MethodTable;
export type ParamsOf<M extends MethodName> = MethodTable[M]['params'];
export type ResultOf<M extends MethodName> = MethodTable[M]['result'];

const none = z.strictObject({});
const threadCount = z.number().int().min(1).max(MAX_THREADS_PER_KIND);

/** Params schemas of the methods above. */
export const coreParamSchemas = {
  ping: none,
  show: none,
  stop: none,
  'list-commands': none,
  'log/set-level': z.strictObject({ level: z.enum(LOG_LEVELS) }),
  'log/get-level': none,
  'config/set': z.strictObject({
    settings: tunablesPatchSchema.refine((s) => Object.keys(s).length > 0, 'at least one setting is needed'),
  }),
  'config/get': none,
  'threads/set': z
    .strictObject({ pmd: threadCount.optional(), handler: threadCount.optional(), revalidator: threadCount.optional() })
    .refine((p) => p.pmd !== undefined || p.handler !== undefined || p.revalidator !== undefined, 'give at least one of pmd, handler, revalidator'),
  'thread/crash': z.strictObject({
    kind: z.string().min(1).max(64),
    slot: z.number().int().min(0).max(MAX_THREADS_PER_KIND),
    how: z.enum(['throw', 'exit', 'terminate']),
  }),
} satisfies { [M in CoreMethodName]: z.ZodType<ParamsOf<M>> };
