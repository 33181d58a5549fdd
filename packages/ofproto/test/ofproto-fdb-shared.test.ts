/**
 * The shared MAC table (src/fdb-shared) against the in-process MacLearning, which is the reference
 * port of OVS lib/mac-learning.c: random operation sequences (learning, moves, gratuitous ARPs,
 * lookups, time steps, aging runs, flushes, static entries, size and aging changes) must give the
 * same answers, the same entries in the same LRU order with the same ages, the same events, stats
 * and need-revalidate flags. Then real threads: learning from several threads at once loses
 * nothing, and lock-free readers never see a torn state while a writer flaps a MAC between ports.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { MacLearning, type MacEvent } from '@tsvs/ofproto';
import { SharedMacTable, formatSharedFdbShow, formatSharedFdbStats } from '@tsvs/ofproto/fdb-shared/index';

const WORKER = new URL('./workers/ofproto-fdb-writer.mjs', import.meta.url);

type Op =
  | { op: 'update'; vlan: number; mac: number; port: number; grat: boolean }
  | { op: 'lookup'; vlan: number; mac: number }
  | { op: 'tick'; s: number }
  | { op: 'run' }
  | { op: 'flush' }
  | { op: 'flushPort'; port: number }
  | { op: 'addStatic'; vlan: number; mac: number; port: number }
  | { op: 'delStatic'; vlan: number; mac: number }
  | { op: 'idle'; s: number }
  | { op: 'max'; n: number };

const vlan = fc.constantFrom(0, 1, 10);
const mac = fc.oneof(fc.integer({ min: 1, max: 24 }), fc.constant(0x100)); // 0x100 in hi = multicast below
const port = fc.integer({ min: 1, max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('update' as const), vlan, mac, port, grat: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('lookup' as const), vlan, mac }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('tick' as const), s: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 10, max: 400 })) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'run' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flushPort' as const), port }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('addStatic' as const), vlan, mac, port }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delStatic' as const), vlan, mac }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('idle' as const), s: fc.integer({ min: 1, max: 500 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('max' as const), n: fc.integer({ min: 5, max: 30 }) }) },
);

// MAC 0x100 stands for a group address (I/G bit in the first byte): hi = 0x0100.
const hiOf = (m: number): number => (m === 0x100 ? 0x0100 : 0);
const loOf = (m: number): number => (m === 0x100 ? 0x5e000001 : m);

describe('shared MAC table (fdb-shared)', () => {
  it('behaves exactly as the in-process MacLearning on random operation sequences', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 200 }), fc.integer({ min: 10, max: 12 }), (ops, max) => {
      let t = 1_000_000;
      const now = (): number => t;
      const evA: MacEvent[] = [], evB: MacEvent[] = [];
      const ref = new MacLearning({ now, maxEntries: max, idleTime: 20, onEvent: (e) => evA.push(e) });
      const sh = SharedMacTable.create({ maxEntries: max, idleTime: 20, capacity: 64, portSlots: 8 }, { now, onEvent: (e) => evB.push(e) });
      for (const o of ops) {
        let a: unknown, b: unknown;
        switch (o.op) {
          case 'update': a = ref.update(o.vlan, hiOf(o.mac), loOf(o.mac), o.port, o.grat); b = sh.update(o.vlan, hiOf(o.mac), loOf(o.mac), o.port, o.grat); break;
          case 'lookup': a = ref.lookup(o.vlan, hiOf(o.mac), loOf(o.mac)); b = sh.lookup(o.vlan, hiOf(o.mac), loOf(o.mac)); break;
          case 'tick': t += o.s * 1000; break;
          case 'run': a = ref.run(); b = sh.run(); break;
          case 'flush': ref.flush(); sh.flush(); break;
          case 'flushPort': ref.flushPort(o.port); sh.flushPort(o.port); break;
          case 'addStatic': ref.addStatic(o.vlan, hiOf(o.mac), loOf(o.mac), o.port); sh.addStatic(o.vlan, hiOf(o.mac), loOf(o.mac), o.port); break;
          case 'delStatic': a = ref.delStatic(o.vlan, hiOf(o.mac), loOf(o.mac)); b = sh.delStatic(o.vlan, hiOf(o.mac), loOf(o.mac)); break;
          case 'idle': ref.setIdleTime(o.s); sh.setIdleTime(o.s); break;
          case 'max': ref.setMaxEntries(o.n); sh.setMaxEntries(o.n); break;
        }
        expect(b, JSON.stringify(o)).to.deep.equal(a);
        expect(sh.takeNeedRevalidate(), `need-revalidate after ${JSON.stringify(o)}`).to.equal(ref.takeNeedRevalidate());
        expect(sh.entries()).to.deep.equal([...ref.entries()].map((e) => ({ vlan: e.vlan, macHi: e.macHi, macLo: e.macLo, port: e.port, age: ref.age(e) })));
        expect(sh.stats()).to.deep.equal(ref.stats());
        expect(sh.nextExpiry()).to.equal(ref.nextExpiry());
      }
      expect(evB).to.deep.equal(evA);
    }), { numRuns: 300 });
  });

  it('fair eviction: ties in entries per port go to the port whose LRU entry is older (as the reference)', () => {
    for (const first of [1, 2]) {
      const t = 1_000_000;
      const ref = new MacLearning({ now: () => t, maxEntries: 10 });
      const sh = SharedMacTable.create({ maxEntries: 10, capacity: 16 }, { now: () => t });
      const second = 3 - first;
      for (const x of [ref, sh]) {
        for (let i = 1; i <= 5; i++) x.update(0, 0, first * 100 + i, first);
        for (let i = 1; i <= 5; i++) x.update(0, 0, second * 100 + i, second);
        x.update(0, 0, 999, 3);
      }
      expect(sh.lookup(0, 0, first * 100 + 1)).to.equal(-1);
      expect(sh.lookup(0, 0, second * 100 + 1)).to.equal(second);
      expect(sh.entries().map((e) => e.macLo)).to.deep.equal([...ref.entries()].map((e) => e.macLo));
    }
  });

  it('prints fdb/show and fdb/stats-show like the in-process table', () => {
    let t = 5_000_000;
    const now = (): number => t;
    const ref = new MacLearning({ now });
    const sh = SharedMacTable.create({}, { now });
    for (const x of [ref, sh]) x.update(0, 0x0060, 0x979482df, 1);
    t += 3000;
    for (const x of [ref, sh]) {
      x.update(10, 0, 10, 0xfffe);
      x.addStatic(4095, 0x5054, 1, 12);
    }
    expect(formatSharedFdbShow(sh)).to.equal(
      ' port  VLAN  MAC                Age\n' +
      '    1     0  00:60:97:94:82:df    3\n' +
      'LOCAL    10  00:00:00:00:00:0a    0\n' +
      '   12  4095  50:54:00:00:00:01  static\n',
    );
    expect(formatSharedFdbStats(sh, 'br0')).to.contain('Current/maximum MAC entries in the table: 3/2048');
  });

  it('an attached view in this thread sees what the creator learned (same buffer)', () => {
    const a = SharedMacTable.create();
    const b = SharedMacTable.attach(a.sab);
    a.update(3, 0, 0xabc, 7);
    expect(b.lookup(3, 0, 0xabc)).to.equal(7);
    expect(() => SharedMacTable.attach(new SharedArrayBuffer(4096))).to.throw(TypeError);
  });

  const runWorker = (data: Record<string, unknown>, started?: () => void): Promise<void> => new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: data });
    w.on('message', (m) => (m === 'started' ? started?.() : resolve()));
    w.once('error', reject);
  });

  it('learning from 3 threads at once loses nothing (writers serialized by the lock in the buffer)', async () => {
    const t = SharedMacTable.create({ maxEntries: 30000 });
    await Promise.all([0, 1, 2].map((i) => runWorker({ sab: t.sab, mode: 'learn', base: 1 + i * 5000, n: 5000, port: 10 + i, rounds: 3 })));
    expect(t.size).to.equal(15000);
    for (let i = 0; i < 3; i++) for (const m of [1, 2500, 5000]) expect(t.lookup(0, 0, i * 5000 + m)).to.equal(10 + i);
    const st = t.stats();
    expect(st.learned).to.equal(15000);
    expect(t.entries().length).to.equal(15000);
  });

  it('a lock-free reader never sees a torn state while another thread flaps a MAC between two ports', async () => {
    const t = SharedMacTable.create();
    t.update(0, 0, 1, 4);
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    let go!: () => void;
    const started = new Promise<void>((r) => { go = r; });
    const done = runWorker({ sab: t.sab, mode: 'flap', a: 4, b: 9, ctlSab: ctl.buffer }, go);
    await started;
    const seen = new Map<number, number>();
    const until = performance.now() + 300;
    let reads = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 1000; i++) {
        const p = t.lookup(0, 0, 1);
        seen.set(p, (seen.get(p) ?? 0) + 1);
      }
      reads += 1000;
    }
    Atomics.store(ctl, 0, 1);
    await done;
    const moves = Atomics.load(ctl, 1);
    expect(moves).to.be.greaterThan(100);
    expect([...seen.keys()].sort((a, b) => a - b)).to.deep.equal([4, 9]);
    expect(reads).to.be.greaterThan(1000);
    // The first update names the port the MAC is already on: every later one is a move.
    expect(t.stats().moved).to.equal(moves - 1);
  });
});
