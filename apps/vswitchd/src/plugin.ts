/**
 * Plug-in points of the daemon, for the subsystems wired in later (datapath, ports, OpenFlow):
 *
 *   const plugin: DaemonPlugin = {
 *     name: 'dpif',
 *     register(d) {                       // before the config is loaded
 *       d.config.registerSection('datapath', schema.default({...}));
 *       d.rpc.register('dpctl/dump-flows', paramsSchema, (p) => ...);
 *       d.supervisor.defineKind('pmd', { url: new URL('./workers/pmd.js', import.meta.url), onStart, onExit });
 *     },
 *     async start(d) { ... open ports from d.config.get().ports ...; d.setPortsView(() => ...) },
 *     async stop(d) { ... flush flows, close ports ... },
 *     show() { return { flows: 12 } },    // appears under show().extensions.dpif
 *   };
 *
 * register() runs in plug-in order, start() after the config is loaded and the threads run, stop() in
 * reverse order before the threads stop. A throwing register/start aborts the start (exit 1).
 */
import type { Daemon } from './daemon.js';

export interface DaemonPlugin {
  name: string;
  register?(daemon: Daemon): void | Promise<void>;
  start?(daemon: Daemon): void | Promise<void>;
  stop?(daemon: Daemon): void | Promise<void>;
  /** JSON-serializable data for `tsvs show` (under extensions[name]). */
  show?(): unknown;
}
