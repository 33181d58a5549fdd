/**
 * The daemon's own RPC methods (their params/result types: @tsvs/control methods.ts).
 */
import { RpcError, RpcErrorCode, THREAD_KINDS, TUNABLE_NAMES, coreParamSchemas } from '@tsvs/control';
import { ConfigError } from './config/parse.js';
import { VERSION, type Daemon } from './daemon.js';

export function registerCoreMethods(d: Daemon): void {
  const rpc = d.rpc;
  rpc.register('ping', coreParamSchemas.ping, () => ({ pid: process.pid, version: VERSION }), 'liveness probe');
  rpc.register('show', coreParamSchemas.show, () => d.show(), 'bridge, ports, threads, tunables, pid, uptime');
  rpc.register(
    'stop',
    coreParamSchemas.stop,
    () => {
      // After the reply is written: the reply goes out in this turn's microtasks, the stop in a later turn.
      setImmediate(() => void d.stop('stop requested over the control socket'));
      return { stopping: true as const };
    },
    'stop the daemon gracefully',
  );
  rpc.register('list-commands', coreParamSchemas['list-commands'], () => ({ methods: rpc.methods() }), 'list the RPC methods');
  rpc.register(
    'log/set-level',
    coreParamSchemas['log/set-level'],
    ({ level }) => {
      const previous = d.logLevel;
      d.logLevel = level;
      d.log.info({ newLevel: level, previous }, 'log level changed');
      return { level, previous };
    },
    'set the log level',
  );
  rpc.register('log/get-level', coreParamSchemas['log/get-level'], () => ({ level: d.logLevel }), 'show the log level');
  rpc.register('config/get', coreParamSchemas['config/get'], () => ({ tunables: { ...d.config.get().tunables } }), 'show the tunables');
  rpc.register(
    'config/set',
    coreParamSchemas['config/set'],
    async ({ settings }) => {
      const before = d.config.get().tunables;
      const changed = TUNABLE_NAMES.filter((n) => settings[n] !== undefined && settings[n] !== before[n]);
      const cfg = changed.length === 0 ? d.config.get() : await updateOrBadInput(d, 'config/set', (draft) => Object.assign(draft.tunables, settings));
      if (changed.length > 0) d.log.info({ settings, changed }, 'tunables changed');
      return { tunables: { ...cfg.tunables }, changed };
    },
    'set tunables: max-idle, flow-limit, max-revalidator, min-revalidate-pps, emc-insert-inv-prob, mac-aging-time, mac-table-size, pmd-rx-usecs, pmd-idle-nap-usecs',
  );
  rpc.register(
    'threads/set',
    coreParamSchemas['threads/set'],
    async (params) => {
      if (d.isStopping) throw new RpcError(RpcErrorCode.Unavailable, 'the daemon is stopping');
      for (const k of THREAD_KINDS) {
        const n = params[k];
        if (n !== undefined && d.supervisor.hasKind(k) && n > d.supervisor.maxCount(k)) {
          throw new RpcError(RpcErrorCode.BadInput, `${k}: at most ${d.supervisor.maxCount(k)} threads`);
        }
      }
      const before = { ...d.config.get().threads };
      await updateOrBadInput(d, 'threads/set', (draft) => {
        for (const k of THREAD_KINDS) if (params[k] !== undefined) draft.threads[k] = params[k];
      });
      try {
        await d.applyThreadCounts();
      } catch (err) {
        // Put the saved counts back to what runs, so a restart does not retry a count that fails.
        d.log.error({ err, threads: params }, 'changing thread counts failed');
        await d.config.update('threads/set failed', (draft) => Object.assign(draft.threads, before)).catch(() => undefined);
        await d.applyThreadCounts().catch(() => undefined);
        throw new RpcError(RpcErrorCode.Unavailable, `changing thread counts failed: ${(err as Error).message}`);
      }
      return { threads: d.threadCounts() };
    },
    'set the number of pmd, handler and revalidator threads',
  );
  rpc.register(
    'thread/crash',
    coreParamSchemas['thread/crash'],
    ({ kind, slot, how }) => {
      if (!d.supervisor.hasKind(kind)) throw new RpcError(RpcErrorCode.NotFound, `no thread kind ${kind} (known: ${d.supervisor.kindNames().join(', ')})`);
      if (!d.supervisor.isRunning(kind, slot)) throw new RpcError(RpcErrorCode.NotFound, `${kind} thread ${slot} is not running`);
      d.log.warn({ kind, slot, how }, 'fault injection: crashing a thread');
      let threadId: number;
      try {
        threadId = d.supervisor.crash(kind, slot, how);
      } catch (err) {
        throw new RpcError(RpcErrorCode.BadInput, (err as Error).message);
      }
      return { kind, slot, threadId };
    },
    'fault injection: make a thread die (throw, exit or terminate); it is restarted',
  );
}

async function updateOrBadInput(d: Daemon, reason: string, mutate: Parameters<Daemon['config']['update']>[1]) {
  try {
    return await d.config.update(reason, mutate);
  } catch (err) {
    if (err instanceof ConfigError) throw new RpcError(RpcErrorCode.BadInput, err.message.replace(/^config file \S+: /, ''));
    throw err;
  }
}
