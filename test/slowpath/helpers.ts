/** Shared pieces of the slow-path tests: a bridge over a real datapath, frames, a MISS storm thread. */
import { Worker } from 'node:worker_threads';
import { Datapath, type DatapathOptions } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { DEFAULT_HANDLER_CONFIG, Ofproto, SharedMacTable, UkeyTable, parseFlowMod, type BridgeConfig, type OfprotoOptions } from '@tsvs/ofproto';
import { HandlerCore, HandlerStats } from '@tsvs/ofproto/handler/index';
import { ipFrame } from '../../packages/dpif/test/datapath-helpers.js';

export { ipFrame, sleep, waitFor } from '../../packages/dpif/test/datapath-helpers.js';

export interface Bridge {
  dp: Datapath;
  ofp: Ofproto;
  /** odp (= OpenFlow) port numbers by name. */
  port: Record<string, number>;
  close(): Promise<void>;
}

/** A datapath with `names` memory ports (tx_ring so tests can drain) and a started bridge. */
export async function openBridge(names: string[], dpOpts: DatapathOptions = {}, ofOpts: OfprotoOptions = {}, portOpts: Record<string, string> = {}): Promise<Bridge> {
  const dp = await Datapath.open({ name: 'br0', nPmds: 1, maxPmds: 2, maxSleepMs: 20, ...dpOpts });
  let ofp: Ofproto | null = null;
  try {
    ofp = await Ofproto.open(dp, ofOpts);
    const port: Record<string, number> = {};
    for (const n of names) port[n] = (await ofp.addPort({ name: n, type: 'memory', options: { tx_ring: 'true', ...portOpts } })).odpPort;
    const o = ofp;
    return { dp, ofp: o, port, close: async () => { await o.close(); await dp.close(); } };
  } catch (e) {
    await ofp?.close();
    await dp.close();
    throw e;
  }
}

/**
 * For a handler core run in the test's thread: a 1-PMD datapath br0 with memory ports P (input) and
 * X (tx ring), and the bridge naming them (LOCAL, P, X; OpenFlow = odp numbers).
 */
export async function coreDatapath(): Promise<{ dp: Datapath; p: number; x: number; bridge: BridgeConfig }> {
  const dp = await Datapath.open({ name: 'br0', nPmds: 1, maxPmds: 1, maxSleepMs: 20, flowTable: { capacity: 1024 } });
  const p = await dp.portAdd({ name: 'P', type: 'memory' });
  const x = await dp.portAdd({ name: 'X', type: 'memory', options: { tx_ring: 'true' } });
  const bridge: BridgeConfig = { name: 'br0', ports: [{ name: 'br0', ofport: 0xfffe, odpPort: 0 }, { name: 'P', ofport: p, odpPort: p }, { name: 'X', ofport: x, odpPort: x }] };
  return { dp, p, x, bridge };
}

/**
 * A handler core in this thread over `coreDatapath()`'s ports P and X (the test decides when it
 * takes upcalls: `round()`), translating with its own replica of the rules `flows` (ovs-ofctl
 * syntax, one batch), attached to P's upcall queue. `ukeys` and `stats` default to new ones.
 */
export function coreHandler(
  c: { dp: Datapath; p: number; x: number; bridge: BridgeConfig },
  flows: string[],
  shm: { ukeys?: UkeyTable; stats?: HandlerStats } = {},
): HandlerCore {
  const { dp, p, x, bridge } = c;
  const h = new HandlerCore({
    handlerId: 0, bank: null, bellSlot: -1, pool: dp.pool.descriptor(), upcallArea: dp.upcallArea.sab, flowTable: dp.table.sab,
    ukeys: (shm.ukeys ?? UkeyTable.create({ capacity: 1024 })).sab, stats: (shm.stats ?? HandlerStats.create()).sab,
    replica: { nTables: 255, bridge, fdb: SharedMacTable.create().sab, history: [flows.map((l) => parseFlowMod(l, 'add'))] },
    txq: 2, cfg: DEFAULT_HANDLER_CONFIG,
    netdevs: [p, x].map((portNo) => ({ portNo, netdev: dp.netdev(portNo).descriptor() })),
  });
  h.attach(dp.upcallQueue(p));
  return h;
}

export function memPort(dp: Datapath, portNo: number): MemoryNetdev {
  return dp.netdev(portNo) as MemoryNetdev;
}

/** A frame with source MAC 06:<tag>:<i as 4 bytes> and source IP 11.x.x.x (a new flow per i). */
export function uniqueFrame(tag: number, i: number, opts: { dport?: number; dstMac?: number[] } = {}): Uint8Array {
  return ipFrame({
    srcMac: [0x06, tag, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255],
    dstMac: opts.dstMac ?? [0x02, 0, 0, 0, 0, 0x02], src: 0x0b000000 + i, dport: opts.dport ?? 53,
  });
}

export interface Storm {
  /** Frames offered and accepted by the port so far. */
  offered(): number;
  accepted(): number;
  stop(): Promise<void>;
}

/** Starts a MISS storm thread injecting unique frames into `portNo`'s rxq `rxq`. */
export async function startStorm(dp: Datapath, portNo: number, opts: { rxq?: number; dport?: number; macBase?: number } = {}): Promise<Storm> {
  const ctl = new SharedArrayBuffer(32);
  const w = new Worker(new URL('./storm-worker.mjs', import.meta.url), {
    workerData: {
      netdev: dp.netdev(portNo).descriptor(), pool: dp.pool.descriptor(), rxq: opts.rxq ?? 0, ctlSab: ctl,
      dstMac: [0x02, 0, 0, 0, 0, 0x02], dport: opts.dport ?? 53, macBase: opts.macBase ?? 1,
    },
  });
  const f = new Float64Array(ctl);
  let started!: () => void, done!: () => void;
  const pStarted = new Promise<void>((r) => { started = r; });
  const pDone = new Promise<void>((r) => { done = r; });
  w.on('message', (m) => (m === 'started' ? started() : done()));
  w.on('error', (e) => { done(); throw e; });
  await pStarted;
  return {
    offered: () => f[1]!,
    accepted: () => f[2]!,
    stop: async () => {
      Atomics.store(new Int32Array(ctl), 0, 1);
      await pDone;
      await w.terminate();
    },
  };
}

/** Percentile of a sorted-on-demand list. */
export function pct(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
