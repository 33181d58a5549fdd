/**
 * Test harness for the revalidator tests: a real shared flow table, real OpenFlow tables in the
 * control plane (credited by the revalidators), real revalidator threads with the table-0
 * translator (a replica of the same tables per thread), and a handler stand-in in the test thread
 * that installs flows exactly as a handler must (reval seq read before translating, ukey install,
 * put CREATE, install finish) and a PMD stand-in that counts packets on flows (PMD id 0, offline
 * between calls so that deletes in other threads never wait for the test thread).
 */
import { Worker } from 'node:worker_threads';
import { DPIF_FP_CREATE, FlowTable, deriveUfid } from '@tsvs/dpif';
import { FLOW_WORDS, W_DL_TYPE, W_IN_PORT, W_NW, W_NW_DST, W_NW_SRC, W_TP } from '@tsvs/packet';
import { OfTables, parseFlowMod, type FlowMod, type FlowModCommand, type ApplyResult } from '@tsvs/ofproto';
import {
  Revalidators, SimpleTranslator, SIMPLE_TRANSLATOR_MODULE, dpNow, type RevalTunables, type StatsCredits,
  type UkeyInstallStatus,
} from '@tsvs/ofproto/revalidator/index';

export interface KeySpec { inPort?: number; src?: number; dst?: number; proto?: number; tpSrc?: number; tpDst?: number }

/** An IPv4 flow key; addresses as numbers (10.0.0.1 = 0x0a000001). */
export function mkKey(s: KeySpec = {}): Uint32Array {
  const k = new Uint32Array(FLOW_WORDS);
  k[W_IN_PORT] = s.inPort ?? 1;
  k[W_DL_TYPE] = 0x0800;
  k[W_NW_SRC] = (s.src ?? 0x0a000001) >>> 0;
  k[W_NW_DST] = (s.dst ?? 0x0a000002) >>> 0;
  k[W_NW] = ((s.proto ?? 6) << 24) | (64 << 8);
  k[W_TP] = (((s.tpSrc ?? 1234) << 16) | (s.tpDst ?? 80)) >>> 0;
  return k;
}

export const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

export interface HarnessOptions {
  nThreads?: number;
  tunables?: Partial<RevalTunables>;
  capacity?: number;
  /** Handler checks the flow limit before installing (OVS should_install_flow). Default true. */
  checkLimit?: boolean;
  dumpDelayMs?: number;
}

export class Harness {
  readonly flows: FlowTable;
  readonly tables = new OfTables();
  readonly handlerXl = new SimpleTranslator();
  readonly batches: FlowMod[][] = [];
  /** Raw credits received, by rule id. */
  readonly credited = new Map<number, number>();
  rv!: Revalidators;
  private readonly pmd;
  private readonly checkLimit: boolean;

  private constructor(o: HarnessOptions) {
    this.flows = FlowTable.create({ capacity: o.capacity ?? 4096, maxPmds: 2, emcInsertInvProb: 1 });
    this.pmd = this.flows.openPmd(0);
    this.pmd.offline();
    this.checkLimit = o.checkLimit ?? true;
  }

  static async start(o: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(o);
    h.rv = await Revalidators.start({
      flowTable: h.flows,
      nThreads: o.nThreads ?? 1,
      translator: { module: SIMPLE_TRANSLATOR_MODULE, init: () => ({ batches: h.batches }) },
      tunables: o.tunables ?? {},
      timer: false,
      dumpDelayMs: o.dumpDelayMs ?? 0,
      onCredits: (c: StatsCredits) => h.credit(c),
      log: (l) => { if (!/unreasonably long/.test(l)) console.error(l); },
    });
    return h;
  }

  private credit(c: StatsCredits): void {
    for (let i = 0; i < c.ids.length; i++) {
      this.tables.creditStats(c.ids[i]!, c.packets[i]!, c.bytes[i]!, c.used[i]!);
      this.credited.set(c.ids[i]!, (this.credited.get(c.ids[i]!) ?? 0) + c.packets[i]!);
    }
  }

  /** Applies flow mods (ovs-ofctl syntax) as one change everywhere: control plane, handler, revalidators (then kick). */
  apply(lines: string[], command: FlowModCommand = 'add'): ApplyResult {
    const mods = lines.map((l) => parseFlowMod(l, command));
    const r = this.tables.apply(mods);
    this.batches.push(mods);
    this.handlerXl.update({ type: 'flow-mods', mods });
    this.rv.update({ type: 'flow-mods', mods });
    return r;
  }

  /** Installs the flow of a packet with this key as a handler does. */
  install(key: Uint32Array): { status: UkeyInstallStatus | 'limit' | 'xlate'; ufid: Uint32Array; putError: string | 0 } {
    const ufid = new Uint32Array(4);
    if (this.checkLimit && this.flows.flowCount >= this.rv.ukeys.flowLimit) return { status: 'limit', ufid, putError: 0 };
    const revalSeq = this.rv.ukeys.revalSeq;
    const tr = this.handlerXl.translate(key, 0);
    if (tr.error) return { status: 'xlate', ufid, putError: 0 };
    deriveUfid(key, 0, tr.mask, 0, this.flows.secret, ufid);
    const r = this.rv.ukeys.install({
      ufid, key, mask: tr.mask, actions: tr.actions, rules: tr.rules, version: this.handlerXl.version, revalSeq, nowMs: dpNow(),
    });
    if (!r.ok) return { status: r.status, ufid, putError: 0 };
    const p = this.flows.put({ flags: DPIF_FP_CREATE, key, mask: tr.mask, actions: tr.actions, ufid });
    this.rv.ukeys.installFinish(r.ukey, r.gen, p.error === 0);
    return { status: r.status, ufid, putError: p.error };
  }

  /** `n` packets of `bytes` each on the flow matching `key`, as PMD 0 counts them. Returns false on a miss. */
  hit(key: Uint32Array, n: number, bytes = 64): boolean {
    this.pmd.online();
    try {
      const e = this.pmd.lookup(key, 0);
      if (e < 0) return false;
      this.flows.statsAdd(e, 0, n, n * bytes, 0, dpNow());
      return true;
    } finally {
      this.pmd.offline();
    }
  }

  /** One full round that starts now. */
  async round(): Promise<void> {
    await this.rv.wait({ kick: true });
  }

  rule(id: number) {
    return this.tables.getRule(id);
  }

  async stop(): Promise<void> {
    await this.rv.stop();
  }
}

/** A PMD thread (test/workers/revalidator-pmd.mjs) hitting `keys` until `stop()`. */
export function startPmdThread(flows: FlowTable, keys: Uint32Array[], pmdId = 1): {
  stop(): Promise<{ hits: Float64Array; misses: number; bursts: number }>;
  bursts(): number;
} {
  const nKeys = keys.length;
  const keysSab = new SharedArrayBuffer(nKeys * FLOW_WORDS * 4);
  const kv = new Uint32Array(keysSab);
  keys.forEach((k, i) => kv.set(k, i * FLOW_WORDS));
  const hitsSab = new SharedArrayBuffer((nKeys + 1) * 8);
  const ctlSab = new SharedArrayBuffer(16);
  const ctl = new Int32Array(ctlSab);
  const worker = new Worker(new URL('./workers/revalidator-pmd.mjs', import.meta.url), {
    workerData: { tableSab: flows.sab, keysSab, hitsSab, ctlSab, nKeys, pmdId },
  });
  const done = new Promise<{ bursts: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const exited = new Promise((res) => worker.once('exit', res));
  return {
    bursts: () => Atomics.load(ctl, 1),
    async stop() {
      Atomics.store(ctl, 0, 1);
      const r = await done;
      await exited;
      const hits = new Float64Array(hitsSab);
      return { hits: hits.slice(0, nKeys), misses: hits[nKeys]!, bursts: r.bursts };
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
