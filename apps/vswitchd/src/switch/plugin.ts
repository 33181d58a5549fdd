/**
 * The switch plug-in of the daemon: the userspace datapath (@tsvs/dpif Datapath) named after the
 * bridge, its PMD threads (adopted by the supervisor, pmd-group.ts), the bridge's ports
 * (ports.ts), and the control methods for ports, injection, datapath flows and PMD statistics
 * (@tsvs/control switch-methods.ts).
 *
 * Start: open the datapath with the configured PMD count (its local port, odp port 0, is named
 * after the bridge: a TAP interface with CAP_NET_ADMIN, else a memory port, local-port.ts; if the
 * TAP cannot be made, a memory port, logged) → the supervisor adopts the PMD kind → the OpenFlow layer (openflow.ts:
 * @tsvs/ofproto Ofproto with its handler and revalidator threads, adopted too) → configured ports
 * opened as bridge ports → saved rules added. Tunables follow config changes live
 * (emc-insert-inv-prob goes to the flow table, pmd-rx-usecs and pmd-idle-nap-usecs to the PMDs, the others to the Ofproto).
 * Stop: PMD restarts off → rules saved, handlers and revalidators stopped → every datapath flow
 * deleted → ports closed and PMD threads stopped (Datapath.close). The daemon saves the config.
 */
import { RpcError, RpcErrorCode, switchParamSchemas, type StatsSample } from '@tsvs/control';
import { Datapath, DpifError, type DatapathOptions, type PmdCounterName } from '@tsvs/dpif';
import type { Daemon } from '../daemon.js';
import type { DaemonPlugin } from '../plugin.js';
import { Dpctl } from './dpctl.js';
import { hexFrames, injectFrames } from './inject.js';
import { OpenFlowLayer } from './openflow.js';
import { PmdGroup } from './pmd-group.js';
import { chooseLocalPort, type LocalPortChoice, type LocalPortType } from './local-port.js';
import { SwitchPorts, datapathBackend } from './ports.js';

/** Most PMD threads (the flow table keeps a stats slot per PMD and flow: 32 bytes each). */
/**
 * Nice value of the PMD threads (each sets its own; the other threads keep the process's). A PMD
 * sleeps in poll(2) between packets and must run the moment the kernel wakes it, not after this
 * daemon's V8 helper threads (compiler, GC: milliseconds at a time). Measured (vs-ovs ping, 2
 * vCPUs, warm): p99 RTT 0.14-0.20 ms at 0, 0.09-0.12 ms at -20. OVS's ovs-ctl starts all of
 * ovs-vswitchd at -10. Without CAP_SYS_NICE it stays at the process's (logged).
 * Nice ranks a thread only among the threads of its task group (sched(7)). With autogroup
 * (kernel.sched_autogroup_enabled=1, as in Debian's kernels) `tsvs start --detach` makes the
 * daemon a session and a group of its own, so this value does not rank a PMD above the processes
 * of other sessions (the hosts of the vs-ovs bench): what lets a woken PMD preempt them is its
 * short slice (PMD_WAKE_SLICE_US). The group's own weight is the session's autogroup nice
 * (/proc/PID/autogroup), best left at 0: at -10 the hosts were starved (new TCP connections
 * 8.3k/s against 11.0k/s, 6 alternating runs each); +5 to +19 changed nothing.
 * While it naps between partial bursts of a stream (pmd-rx-usecs) a PMD goes back to the
 * process's nice and takes -20 again before it sleeps or idles (PmdLoop.setSchedLevels). At -20
 * throughout it starved the stream's receiver before the system ports had RX rings (iperf3 UDP
 * 64 B delivered 110-112 kpps, 120-130 with the switch). It no longer does: the daemon started
 * under `nice -n -20` (so -20 throughout) delivered 158-167 kpps against 154-166 (4 runs each; in
 * the flood the PMD took an rx nap and an idle nap each in about 1 iteration of 10).
 */
export const PMD_NICE = -20;

/**
 * EEVDF slice of a sleeping PMD (µs; Linux >= 6.12, ignored before): the shortest the kernel
 * takes. At nice -20 with the default slice (1.4 ms on 2 CPUs) a woken PMD still waited for the
 * running thread's slice to end: perf sched showed wake-up delays up to 1 ms, ping RTT outliers of
 * 1-4 ms. With a shorter slice than the running thread's, its wake-up preempts at once
 * (PREEMPT_SHORT). Measured (2000 pings at 2 ms, 2 rounds): RTTs over 0.3 ms 6 and 7 -> 3 and 1,
 * 99.9th percentile 1.35 and 1.15 -> 0.46 and 0.26 ms. In a stream the PMD takes the default slice
 * back with the process's nice (PmdLoop.setSchedLevels).
 */
export const PMD_WAKE_SLICE_US = 100;

/**
 * Idle polling before a PMD sleeps (µs): none. A PMD whose rxqs are sockets sleeps in poll(2)
 * right after an empty poll, as OVS's main thread polls its non-DPDK ports and then blocks. Why:
 * with lone packets (handshakes, pings) every wake-up was followed by at least 16 empty polls
 * (~20 µs of system calls) that took the CPU from the hosts' own processes. Measured (vs-ovs,
 * 3 rounds, --only tsvs): new TCP connections 10.0-10.9k/s with the spin, 11.1-11.4k/s without;
 * ping, TCP and UDP unchanged within noise.
 */
export const PMD_IDLE_SPIN_US = 0;

export const MAX_PMDS = 8;

export interface SwitchPluginOptions {
  /** Flow table capacity (default: the datapath's, 200000 flows). Tests use small tables. */
  flowCapacity?: number;
  /** Packet buffers (default: the datapath's, 16384). */
  poolBuffers?: number;
  /** Run the OpenFlow layer (handlers, revalidators, rules). Default true. */
  openflow?: boolean;
  /** The local port's type. Default: `internal` with CAP_NET_ADMIN, else `memory` (local-port.ts). */
  localPortType?: LocalPortType;
}

export class SwitchPlugin implements DaemonPlugin {
  readonly name = 'switch';
  dp: Datapath | undefined;
  ports: SwitchPorts | undefined;
  pmds: PmdGroup | undefined;
  openflow: OpenFlowLayer | undefined;
  private dpctl: Dpctl | undefined;
  private onConfigChange: (() => void) | undefined;
  /** The local port's type and why (show: `switch.local_port`). */
  private localPort: (LocalPortChoice & { name: string }) | undefined;

  constructor(private readonly options: SwitchPluginOptions = {}) {}

  /** The running datapath; RpcError Unavailable before start or after stop. */
  private need(): { dp: Datapath; ports: SwitchPorts; dpctl: Dpctl } {
    if (!this.dp || !this.ports || !this.dpctl) throw new RpcError(RpcErrorCode.Unavailable, 'the datapath is not running');
    return { dp: this.dp, ports: this.ports, dpctl: this.dpctl };
  }

  private portOdp(name: string): number {
    const { ports } = this.need();
    const odp = ports.odpPort(name);
    if (odp === undefined) {
      const known = ports.show().some((p) => p.name === name);
      throw new RpcError(known ? RpcErrorCode.Unavailable : RpcErrorCode.NotFound, known ? `port ${name} is not open` : `no port ${name}`);
    }
    return odp;
  }

  register(d: Daemon): void {
    d.threadLimits.pmd = MAX_PMDS;
    const s = switchParamSchemas;
    d.rpc.register('port/add', s['port/add'], (p) => this.need().ports.add(p), 'add a port (add-port)');
    d.rpc.register('port/del', s['port/del'], (p) => this.need().ports.del(p.name), 'delete a port (del-port)');
    d.rpc.register(
      'netdev/inject',
      s['netdev/inject'],
      async (p) => {
        const frames = hexFrames(p.frames);
        const odp = this.portOdp(p.port);
        const r = await injectFrames(this.need().dp, odp, p.port, frames, p.count ?? 1, p.rxq ?? 0);
        return { port: p.port, ...r };
      },
      'receive frames on a memory port as if from the wire (netdev-dummy/receive)',
    );
    d.rpc.register('dpctl/dump-flows', s['dpctl/dump-flows'], (p) => this.need().dpctl.dumpFlows(p), 'datapath flows (dpctl/dump-flows)');
    d.rpc.register('dpctl/get-flow', s['dpctl/get-flow'], (p) => this.need().dpctl.getFlow(p.ufid), 'one datapath flow by UFID');
    d.rpc.register('dpctl/add-flow', s['dpctl/add-flow'], (p) => this.need().dpctl.addFlow(p.flow, p.actions), 'add a datapath flow');
    d.rpc.register(
      'dpctl/mod-flow',
      s['dpctl/mod-flow'],
      (p) => this.need().dpctl.modFlow(p.flow, p.actions, p.create ?? false, p.zeroStats ?? false),
      'modify a datapath flow',
    );
    d.rpc.register('dpctl/del-flow', s['dpctl/del-flow'], (p) => this.need().dpctl.delFlow(p), 'delete a datapath flow by UFID or match');
    d.rpc.register('dpctl/del-flows', s['dpctl/del-flows'], () => this.need().dpctl.delFlows(), 'delete every datapath flow');
    d.rpc.register(
      'pmd/stats-show',
      s['pmd/stats-show'],
      (p) => {
        const { dp } = this.need();
        const text = dp.pmdStatsShow();
        const pmds = dp.pmdStats().filter((x) => x.pmdId >= 0).map((x) => ({ pmdId: x.pmdId, counters: { ...x.counters } }));
        if (p.clear) dp.pmdStatsClear();
        return { text, pmds };
      },
      'PMD statistics (dpif-netdev/pmd-stats-show)',
    );
    d.rpc.register(
      'pmd/stats-clear',
      s['pmd/stats-clear'],
      () => {
        const { dp } = this.need();
        dp.pmdStatsClear();
        return { cleared: dp.pmdCount };
      },
      'clear PMD statistics (dpif-netdev/pmd-stats-clear)',
    );
    d.rpc.register(
      'pmd/rxq-show',
      s['pmd/rxq-show'],
      (p) => {
        const { dp } = this.need();
        const text = dp.pmdRxqShow(p.secs);
        const byPmd = new Map<number, { port: string; rxq: number }[]>(dp.pmdIds().map((id) => [id, []]));
        for (const [k, pmd] of dp.rxqAssignment()) {
          const [portNo, rxq] = k.split('/').map(Number) as [number, number];
          const name = dp.portQueryByNumber(portNo)?.name ?? String(portNo);
          byPmd.get(pmd)?.push({ port: name, rxq });
        }
        const pmds = [...byPmd].map(([pmdId, rxqs]) => ({ pmdId, rxqs: rxqs.sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : a.rxq - b.rxq)) }));
        return { text, pmds };
      },
      'rxq to PMD assignment and usage (dpif-netdev/pmd-rxq-show)',
    );
    d.rpc.register('stats/sample', s['stats/sample'], () => this.sample(d), 'raw counters for tsvs watch');
  }

  async start(d: Daemon): Promise<void> {
    const cfg = d.config.get();
    const nPmds = d.threadCounts().pmd;
    if (nPmds > MAX_PMDS) throw new Error(`threads.pmd ${nPmds}: at most ${MAX_PMDS} PMD threads`);
    const dpLog = d.log.child({ subsystem: 'dpif' });
    const local = chooseLocalPort(this.options.localPortType);
    const dpOptions: DatapathOptions = {
      name: cfg.bridge.name,
      nPmds,
      maxPmds: MAX_PMDS,
      flowTable: {
        emcInsertInvProb: Math.min(cfg.tunables['emc-insert-inv-prob'], 0x7fffffff),
        ...(this.options.flowCapacity !== undefined ? { capacity: this.options.flowCapacity } : {}),
      },
      ...(this.options.poolBuffers !== undefined ? { pool: { nBufs: this.options.poolBuffers } } : {}),
      rxUsecs: cfg.tunables['pmd-rx-usecs'],
      idleNapUs: cfg.tunables['pmd-idle-nap-usecs'],
      pmdNice: PMD_NICE,
      pmdWakeSliceUs: PMD_WAKE_SLICE_US,
      idleSpinUs: PMD_IDLE_SPIN_US,
      log: (line) => dpLog.warn(line),
    };
    try {
      this.dp = await openRetryingTap(dpOptions, local.type);
    } catch (err) {
      // The TAP could not be made (name taken by another interface, no /dev/net/tun...): the bridge
      // still works with a memory local port; say why.
      if (local.type !== 'internal' || !(err instanceof DpifError)) throw err;
      d.log.warn({ err: err.message }, 'local port: no TAP interface, a memory port instead');
      local.type = 'memory';
      local.reason = `the TAP interface could not be created: ${err.message}`;
      this.dp = await Datapath.open({ ...dpOptions, localPortType: 'memory' });
    }
    this.localPort = { name: cfg.bridge.name, ...local };
    d.log.info(this.localPort, `local port ${cfg.bridge.name}: ${local.type}`);
    const dp = this.dp;
    d.log.info({ datapath: dp.name, pmds: nPmds }, 'datapath opened');
    const notNice = dp.pmdThreads().filter((t) => t.niceErrno !== null);
    if (notNice.length > 0) d.log.warn({ pmds: notNice.map((t) => t.pmdId), errno: notNice[0]!.niceErrno }, `PMD threads keep the process's nice value, not ${PMD_NICE} (needs CAP_SYS_NICE)`);
    this.pmds = new PmdGroup(dp, { log: d.log.child({ subsystem: 'pmd' }) });
    this.pmds.attach(await d.supervisor.adopt('pmd', this.pmds));
    this.dpctl = new Dpctl(dp);
    if (this.options.openflow ?? true) {
      this.openflow = await OpenFlowLayer.open(d, dp);
      this.openflow.register();
    }
    this.ports = new SwitchPorts(d, dp, this.openflow ? this.openflow.backend() : datapathBackend(dp));
    const ports = this.ports;
    d.setPortsView(() => ports.show());
    d.setDatapathView(() => {
      const st = dp.stats();
      return { name: dp.name, hit: st.hit, missed: st.missed, lost: st.lost, flows: st.flows };
    });
    this.onConfigChange = () => this.applyTunables(d);
    d.config.on('change', this.onConfigChange);
    await ports.restore();
    if (this.openflow) {
      this.openflow.restoreRules();
      this.openflow.startPersistence();
    }
  }

  private applyTunables(d: Daemon): void {
    if (!this.dp) return;
    const t = d.config.get().tunables;
    const inv = Math.min(t['emc-insert-inv-prob'], 0x7fffffff);
    if (this.dp.table.emcInsertInvProb !== inv) this.dp.table.emcInsertInvProb = inv;
    if (this.dp.pmdRxUsecs !== t['pmd-rx-usecs']) {
      this.dp.setPmdRxUsecs(t['pmd-rx-usecs']).catch((err: Error) => d.log.warn({ err: err.message }, 'pmd-rx-usecs not applied'));
    }
    if (this.dp.pmdIdleNapUs !== t['pmd-idle-nap-usecs']) {
      this.dp.setPmdIdleNapUs(t['pmd-idle-nap-usecs']).catch((err: Error) => d.log.warn({ err: err.message }, 'pmd-idle-nap-usecs not applied'));
    }
    this.openflow?.applyTunables(t);
  }

  /** `show` extension: the local port's type and why. */
  show(): unknown {
    return this.localPort ? { local_port: { ...this.localPort } } : {};
  }

  async stop(d: Daemon): Promise<void> {
    if (this.onConfigChange) d.config.off('change', this.onConfigChange);
    this.pmds?.close();
    const openflow = this.openflow;
    this.openflow = undefined;
    if (openflow) {
      // Save the rules as they are now (rules that timed out since the last check included).
      await openflow.persistRules('stop').catch(() => undefined);
      await openflow.close();
    }
    const dp = this.dp;
    this.dp = undefined;
    this.dpctl = undefined;
    if (!dp) return;
    const flushed = dp.flowFlush();
    await dp.close();
    d.log.info({ flowsFlushed: flushed }, 'datapath closed');
  }

  private sample(d: Daemon): StatsSample {
    const { dp } = this.need();
    const pick = (c: Record<PmdCounterName, number>) => ({
      recv: c.recv, emcHit: c.emc_hit, maskedHit: c.masked_hit, miss: c.miss, lost: c.lost,
      busyNs: c.busy_ns, idleNs: c.idle_ns, sleepNs: c.sleep_ns,
    });
    const reval = this.openflow?.ofproto.upcallShowData();
    const restarts: Record<string, number> = {};
    for (const k of d.supervisor.kindNames()) restarts[k] = d.supervisor.restarts(k);
    return {
      timeMs: Date.now(),
      flows: { current: dp.table.flowCount, limit: reval ? reval.flows.limit : null },
      pmds: dp.pmdStats().filter((x) => x.pmdId >= 0).map((x) => ({ pmdId: x.pmdId, ...pick(x.counters as Record<PmdCounterName, number>) })),
      ports: dp.portList().map((p) => {
        const st = dp.portStats(p.portNo);
        return {
          name: p.name, odpPort: p.portNo, rxPackets: st.rx_packets, txPackets: st.tx_packets,
          rxDropped: st.rx_dropped, txDropped: st.tx_dropped, rxErrors: st.rx_errors, txErrors: st.tx_errors,
        };
      }),
      revalidators: reval ? reval.revalidators.map((r) => ({ id: r.id, keys: r.keys, dumped: r.dumped, swept: r.swept })) : [],
      revalidation: reval
        ? {
            rounds: reval.rounds,
            deleted: reval.deleted.idle + reval.deleted.revalidation + reval.deleted.flow_limit + reval.deleted.purge,
            modified: reval.modified, lastRoundMs: reval.lastRoundMs, dumpDurationMs: reval.dumpDurationMs,
          }
        : null,
      restarts,
    };
  }
}

/**
 * Opens the datapath; with an `internal` local port, retries for up to TAP_RETRY_MS while the TAP
 * cannot be made: after a kill -9 the kernel removes the old daemon's TAP (same name) only once that
 * process is fully torn down, which can be just after the new daemon starts.
 */
async function openRetryingTap(opts: DatapathOptions, type: LocalPortType): Promise<Datapath> {
  const deadline = Date.now() + TAP_RETRY_MS;
  for (;;) {
    try {
      return await Datapath.open({ ...opts, localPortType: type });
    } catch (err) {
      if (type !== 'internal' || !(err instanceof DpifError) || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** How long (ms) start waits for a TAP name held by a dying process before using a memory port. */
const TAP_RETRY_MS = 3000;
