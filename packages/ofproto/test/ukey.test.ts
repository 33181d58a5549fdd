import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { FLOW_WORDS, W_IN_PORT, W_NW_DST, W_NW_SRC, W_DL_TYPE } from '@tsvs/packet';
import { encodeOdpActions } from '@tsvs/dpif';
import {
  UkeyTable, N_UMAPS, MAX_UKEY_RULES, ukeyTransitionOk, ukeyHash,
  UKEY_CREATED, UKEY_VISIBLE, UKEY_OPERATIONAL, UKEY_INCONSISTENT, UKEY_EVICTING, UKEY_EVICTED, UKEY_DELETED,
  type UkeyInstall,
} from '@tsvs/ofproto/revalidator/index';

function mask(words: number[]): Uint32Array {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_IN_PORT] = 0xffffffff;
  for (const w of words) m[w] = 0xffffffff;
  return m;
}

function inst(i: number, over: Partial<UkeyInstall> = {}): UkeyInstall {
  const key = new Uint32Array(FLOW_WORDS);
  key[W_IN_PORT] = 1;
  key[W_DL_TYPE] = 0x0800;
  key[W_NW_SRC] = 0x0a000000 + i;
  key[W_NW_DST] = 0x0a0000ff; // masked out below unless the mask has it
  return {
    ufid: Uint32Array.of(0x1000 + i, 0x4000, 0x80000000, i),
    key, mask: mask([W_DL_TYPE, W_NW_SRC]), actions: encodeOdpActions([{ type: 'output', port: 2 }]),
    rules: [7], version: 3, revalSeq: 1, nowMs: 1000 + i, ...over,
  };
}

describe('ofproto/revalidator: ukey states', () => {
  it('allows exactly the transitions OVS transition_ukey_at allows', () => {
    // The list in ofproto-dpif-upcall.c, plus OPERATIONAL -> OPERATIONAL as a no-op.
    const legal = new Set([
      '0>1', '1>2', '1>3', '1>4', '1>5', '2>3', '2>4', '3>4', '4>5', '5>6', '2>2',
    ]);
    const states = [UKEY_CREATED, UKEY_VISIBLE, UKEY_OPERATIONAL, UKEY_INCONSISTENT, UKEY_EVICTING, UKEY_EVICTED, UKEY_DELETED];
    for (const a of states) for (const b of states) {
      expect(ukeyTransitionOk(a, b), `${a} -> ${b}`).to.equal(legal.has(`${a}>${b}`));
    }
  });
});

describe('ofproto/revalidator: ukey table', () => {
  it('install makes a VISIBLE ukey holding the masked key, mask, actions, rules, version and seqs; finish makes it OPERATIONAL', () => {
    const t = UkeyTable.create({ capacity: 64 });
    const u = inst(5, { rules: [7, 9, 7, 11] });
    const r = t.install(u);
    expect(r).to.include({ status: 'installed', ok: true });
    expect(t.count).to.equal(1);
    expect(t.lookupLock(u.ufid)).to.equal(r.ukey);
    expect(t.state(r.ukey)).to.equal(UKEY_VISIBLE);
    const key = new Uint32Array(FLOW_WORDS), m = new Uint32Array(FLOW_WORDS);
    t.keyInto(r.ukey, key);
    t.maskInto(r.ukey, m);
    expect([...m]).to.deep.equal([...u.mask]);
    const want = u.key.map((w, i) => w & u.mask[i]!);
    expect([...key]).to.deep.equal([...want]);
    expect(key[W_NW_DST]).to.equal(0);
    expect([...t.actions(r.ukey)]).to.deep.equal([...u.actions]);
    expect(t.actionsEqual(r.ukey, u.actions)).to.equal(true);
    expect(t.actionsEqual(r.ukey, encodeOdpActions([{ type: 'output', port: 3 }]))).to.equal(false);
    expect(t.rules(r.ukey)).to.deep.equal([7, 9, 11]); // deduplicated, in order
    expect(t.versionOf(r.ukey)).to.equal(3);
    expect(t.revalSeqOf(r.ukey)).to.equal(1);
    expect(t.createdOf(r.ukey)).to.equal(1005);
    expect(t.statsOf(r.ukey)).to.deep.equal({ packets: 0, bytes: 0, used: 0, tcpFlags: 0 });
    t.unlock(r.ukey);
    expect(t.installFinish(r.ukey, r.gen, true)).to.equal(true);
    expect(t.state(r.ukey)).to.equal(UKEY_OPERATIONAL);
  });

  it('a second install of the same flow is refused (exists) unless the first is EVICTED (replaced); another key under the same UFID is a conflict', () => {
    const t = UkeyTable.create({ capacity: 64 });
    const a = t.install(inst(1));
    t.installFinish(a.ukey, a.gen, true);
    expect(t.install(inst(1)).status).to.equal('exists');
    const other = inst(2, { ufid: inst(1).ufid });
    expect(t.install(other).status).to.equal('conflict');
    // A ukey held by another thread: contention reads as exists.
    expect(t.tryLock(a.ukey)).to.equal(true);
    expect(t.install(inst(1)).status).to.equal('exists');
    // Evict it (as a revalidator's delete does): a new install replaces it at once.
    t.transition(a.ukey, UKEY_EVICTING);
    t.transition(a.ukey, UKEY_EVICTED);
    t.setDumpSeq(a.ukey, 42);
    t.unlock(a.ukey);
    const b = t.install(inst(1));
    expect(b.status).to.equal('replaced');
    expect(t.count).to.equal(1);
    expect(t.find(inst(1).ufid)).to.equal(b.ukey);
    expect(t.dumpSeqOf(b.ukey)).to.equal(42); // as OVS: the new ukey inherits the dump seq
    expect(b.ukey).to.not.equal(a.ukey);
    expect(t.state(b.ukey)).to.equal(UKEY_VISIBLE);
    expect(t.state(a.ukey)).to.equal(UKEY_DELETED);
    expect(t.installFinish(a.ukey, a.gen, true)).to.equal(false); // the old handle is dead
    // Refused installs leave nothing behind.
    expect(t.count).to.equal(1);
    expect(t.maskCount).to.equal(1);
  });

  it('a failed put evicts; remove frees the record (generation moves, finish on the old handle fails); memory is reused', () => {
    const t = UkeyTable.create({ capacity: 4, heapWords: 1024 });
    const rs = [1, 2, 3, 4].map((i) => t.install(inst(i)));
    expect(rs.every((r) => r.ok)).to.equal(true);
    expect(t.install(inst(5)).status).to.equal('ENOSPC');
    expect(t.enospc).to.equal(1);
    t.installFinish(rs[0]!.ukey, rs[0]!.gen, false);
    expect(t.state(rs[0]!.ukey)).to.equal(UKEY_EVICTED);
    expect(t.remove(rs[0]!.ukey, rs[0]!.gen)).to.equal(true);
    expect(t.remove(rs[0]!.ukey, rs[0]!.gen)).to.equal(false);
    expect(t.installFinish(rs[0]!.ukey, rs[0]!.gen, true)).to.equal(false);
    expect(t.count).to.equal(3);
    const r5 = t.install(inst(5));
    expect(r5.status).to.equal('installed');
    expect(r5.ukey).to.equal(rs[0]!.ukey);
    expect(r5.gen).to.not.equal(rs[0]!.gen);
    const used = t.heapUsedWords;
    for (const r of [r5, ...rs.slice(1)]) {
      t.lock(r.ukey);
      t.transition(r.ukey, UKEY_EVICTED);
      t.unlock(r.ukey);
      t.remove(r.ukey, r.gen);
    }
    expect(t.count).to.equal(0);
    expect(t.maskCount).to.equal(0);
    for (let i = 10; i < 14; i++) expect(t.install(inst(i)).ok).to.equal(true);
    expect(t.heapUsedWords).to.equal(used); // freed blobs reused, heap did not grow
  });

  it('refuses illegal transitions and counts them', () => {
    const t = UkeyTable.create({ capacity: 4 });
    const r = t.install(inst(1));
    t.lock(r.ukey);
    expect(t.transition(r.ukey, UKEY_OPERATIONAL)).to.equal(true);
    expect(t.transition(r.ukey, UKEY_VISIBLE)).to.equal(false);
    expect(t.transition(r.ukey, UKEY_EVICTED)).to.equal(false);
    expect(t.transition(r.ukey, UKEY_INCONSISTENT)).to.equal(true);
    expect(t.transition(r.ukey, UKEY_EVICTING)).to.equal(true);
    t.unlock(r.ukey);
    expect(t.badTransitions).to.equal(2);
  });

  it('setTranslation replaces actions and rules, moving the blob between size classes', () => {
    const t = UkeyTable.create({ capacity: 8 });
    const r = t.install(inst(1));
    const big = encodeOdpActions(Array.from({ length: 30 }, (_, i) => ({ type: 'output' as const, port: i })));
    const rules = Array.from({ length: 100 }, (_, i) => i);
    t.lock(r.ukey);
    expect(t.setTranslation(r.ukey, big, rules)).to.equal(true);
    expect([...t.actions(r.ukey)]).to.deep.equal([...big]);
    expect(t.rules(r.ukey)).to.deep.equal(rules.slice(0, MAX_UKEY_RULES));
    const key = new Uint32Array(FLOW_WORDS);
    t.keyInto(r.ukey, key);
    expect(key[W_NW_SRC]).to.equal(0x0a000001);
    const small = encodeOdpActions([]);
    expect(t.setTranslation(r.ukey, small, [])).to.equal(true);
    expect([...t.actions(r.ukey)]).to.deep.equal([...small]);
    expect(t.nRules(r.ukey)).to.equal(0);
    t.keyInto(r.ukey, key);
    expect(key[W_NW_SRC]).to.equal(0x0a000001);
    t.unlock(r.ukey);
  });

  it('spreads UFIDs over the 512 umaps; keys per revalidator slice sum to the count', () => {
    const t = UkeyTable.create({ capacity: 5000 });
    for (let i = 0; i < 4096; i++) expect(t.install(inst(i, { ufid: Uint32Array.of(i, 0, 0, 0) })).ok).to.equal(true);
    let empty = 0, max = 0;
    for (let u = 0; u < N_UMAPS; u++) {
      const c = t.umapCount(u);
      if (c === 0) empty++;
      max = Math.max(max, c);
    }
    expect(empty).to.be.lessThan(10); // sequential UFIDs still spread (the hash mixes all words)
    expect(max).to.be.lessThan(30);
    for (const n of [1, 2, 3]) {
      let s = 0;
      for (let r = 0; r < n; r++) s += t.keysOfRevalidator(r, n);
      expect(s).to.equal(4096);
    }
    expect(t.keysOfRevalidator(0, 2)).to.be.greaterThan(1500);
    expect(t.keysOfRevalidator(1, 2)).to.be.greaterThan(1500);
    expect(ukeyHash(Uint32Array.of(1, 2, 3, 4))).to.equal(ukeyHash(Uint32Array.of(1, 2, 3, 4)));
  });

  it('attach in a worker thread sees the same ukeys; concurrent installs of one UFID from 3 threads make exactly one ukey', async () => {
    const t = UkeyTable.create({ capacity: 4096 });
    const src = `
      import { workerData, parentPort } from 'node:worker_threads';
      const { UkeyTable } = await import(${JSON.stringify(new URL('../dist/revalidator/ukey-table.js', import.meta.url).href)});
      const t = UkeyTable.attach(workerData.sab);
      const key = new Uint32Array(36); key[0] = 1;
      const mask = new Uint32Array(36); mask[0] = 0xffffffff; mask[11] = 0xffffffff;
      let ok = 0;
      for (let i = 0; i < 2000; i++) {
        key[11] = i;
        const r = t.install({ ufid: Uint32Array.of(i, 0, 0, 7), key, mask, actions: new Uint8Array(6), rules: [i], version: 1, revalSeq: 1, nowMs: 0 });
        if (r.ok) { ok++; t.installFinish(r.ukey, r.gen, true); }
      }
      parentPort.postMessage(ok);`;
    const run = (): Promise<number> => new Promise((resolve, reject) => {
      const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`), { workerData: { sab: t.sab } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    const oks = await Promise.all([run(), run(), run()]);
    expect(oks.reduce((a, b) => a + b, 0)).to.equal(2000);
    expect(t.count).to.equal(2000);
    for (let i = 0; i < 2000; i += 97) {
      const u = t.find(Uint32Array.of(i, 0, 0, 7));
      expect(u).to.be.at.least(0);
      expect(t.state(u)).to.equal(UKEY_OPERATIONAL);
      expect(t.rules(u)).to.deep.equal([i]);
    }
  });

  it('a reserve serves a batch of installs without changing what they make; unreserve gives the rest back (nothing leaks)', () => {
    const plain = UkeyTable.create({ capacity: 64 });
    const res = UkeyTable.create({ capacity: 64 });
    const mA = mask([W_DL_TYPE, W_NW_SRC]), mB = mask([W_DL_TYPE, W_NW_SRC, W_NW_DST]);
    const big = encodeOdpActions(Array.from({ length: 12 }, (_, i) => ({ type: 'output' as const, port: i })));
    // Masks and blob size classes change within batches; some installs are duplicates ('exists').
    const seq = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
    const arg = (i: number): UkeyInstall => inst(i % 20, {
      mask: [3, 4, 7, 11, 12, 15, 18].includes(i % 20) ? mB : mA, actions: i % 20 === 9 || i % 20 === 10 ? big : inst(0).actions,
    });
    const handles: Array<{ ukey: number; gen: number }> = [];
    for (let b = 0; b < seq.length; b += 8) {
      res.reserve(8);
      expect(res.reserved.records).to.equal(8);
      for (const i of seq.slice(b, b + 8)) {
        const a = plain.install(arg(i)), r = res.install(arg(i));
        expect(r.status, `install ${i}`).to.equal(a.status);
        if (r.ok) handles.push(r);
      }
      res.unreserve();
      expect(res.reserved).to.deep.equal({ records: 0, blobs: 0, maskRefs: 0 });
    }
    expect(res.count).to.equal(plain.count);
    expect(res.maskCount).to.equal(plain.maskCount);
    const k1 = new Uint32Array(FLOW_WORDS), k2 = new Uint32Array(FLOW_WORDS);
    for (let i = 0; i < 20; i++) {
      const a = plain.find(arg(i).ufid), r = res.find(arg(i).ufid);
      plain.keyInto(a, k1);
      res.keyInto(r, k2);
      expect([...k2], `key ${i}`).to.deep.equal([...k1]);
      plain.maskInto(a, k1);
      res.maskInto(r, k2);
      expect([...k2], `mask ${i}`).to.deep.equal([...arg(i).mask]);
      expect([...res.actions(r)], `actions ${i}`).to.deep.equal([...plain.actions(a)]);
    }
    for (const h of handles) {
      res.lock(h.ukey);
      res.transition(h.ukey, UKEY_EVICTED);
      res.unlock(h.ukey);
      expect(res.remove(h.ukey, h.gen)).to.equal(true);
    }
    expect(res.count).to.equal(0);
    expect(res.maskCount).to.equal(0); // every reserved mask reference came back
    // Every record came back too: the table fills to capacity again, through reserves.
    let ok = 0;
    for (let b = 0; b < 70; b += 16) {
      res.reserve(16);
      for (let i = b; i < b + 16; i++) if (res.install(inst(100 + i)).ok) ok++;
      res.unreserve();
    }
    expect(ok).to.equal(64);
    expect(res.enospc).to.equal(80 - 64);
  });

  it('a reserve near capacity takes only what is free; installs beyond it fail with ENOSPC as without one', () => {
    const t = UkeyTable.create({ capacity: 6 });
    expect(t.install(inst(1)).ok).to.equal(true);
    expect(t.install(inst(2)).ok).to.equal(true);
    t.reserve(8);
    expect(t.reserved.records).to.equal(4);
    expect(t.reserved.maskRefs).to.equal(4);
    for (let i = 3; i <= 6; i++) expect(t.install(inst(i)).status).to.equal('installed');
    expect(t.install(inst(7)).status).to.equal('ENOSPC');
    t.unreserve();
    expect(t.reserved).to.deep.equal({ records: 0, blobs: 0, maskRefs: 0 });
    expect(t.count).to.equal(6);
  });

  it('throws RangeError on bad sizes; attach refuses foreign buffers; install refuses malformed input without throwing', () => {
    expect(() => UkeyTable.create({ capacity: 0 })).to.throw(RangeError);
    expect(() => UkeyTable.attach(new SharedArrayBuffer(4096))).to.throw(TypeError);
    const t = UkeyTable.create({ capacity: 4 });
    expect(t.install({ ...inst(1), ufid: new Uint32Array(3) }).status).to.equal('EINVAL');
    expect(t.install({ ...inst(1), key: new Uint32Array(3) }).status).to.equal('EINVAL');
    expect(t.install({ ...inst(1), actions: new Uint8Array(300) }).status).to.equal('EINVAL');
    expect(t.count).to.equal(0);
  });
});
