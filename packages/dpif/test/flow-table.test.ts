import { expect } from 'chai';
import fc from 'fast-check';
import {
  DPIF_FP_CREATE, DPIF_FP_MODIFY, DPIF_FP_PROBE, DPIF_FP_ZERO_STATS, FlowTable, LOOKUP_EMC, LOOKUP_MEGAFLOW,
  LOOKUP_MISS, formatUfid, parseUfid, type FlowErrno, type FlowInfo, type FlowTerse,
} from '@tsvs/dpif';
import {
  FLOW_WORDS, W_DL_SRC_LO, W_DL_TYPE, W_IN_PORT, W_NW, W_NW_DST, W_NW_SRC, W_TP, hashKeyFast, keyMatches,
} from '@tsvs/packet';

const CREATE = DPIF_FP_CREATE, MODIFY = DPIF_FP_MODIFY;

/** A key: in_port, dl_type IPv4, nw_src, nw_dst, tp; other words 0. */
function key(inPort: number, nwSrc: number, nwDst = 0x0a000002, tp = (1234 << 16) | 80): Uint32Array {
  const k = new Uint32Array(FLOW_WORDS);
  k[W_IN_PORT] = inPort;
  k[W_DL_TYPE] = 0x0800;
  k[W_NW_SRC] = nwSrc >>> 0;
  k[W_NW_DST] = nwDst >>> 0;
  k[W_NW] = 0x06004000;
  k[W_TP] = tp >>> 0;
  k[W_DL_SRC_LO] = 0x11223344;
  return k;
}

/** A mask with in_port exact plus the given (word, bits) pairs. */
function mask(...fields: Array<[number, number]>): Uint32Array {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_IN_PORT] = 0xffffffff;
  for (const [w, bits] of fields) m[w] = bits >>> 0;
  return m;
}

const M_SRC = mask([W_DL_TYPE, 0xffff], [W_NW_SRC, 0xffffffff]);
const M_DST24 = mask([W_DL_TYPE, 0xffff], [W_NW_DST, 0xffffff00]);
const M_TP = mask([W_DL_TYPE, 0xffff], [W_TP, 0xffffffff]);
const acts = (...b: number[]): Uint8Array => Uint8Array.from(b);

function entryKeyOf(t: FlowTable, entry: number): Uint32Array {
  const k = new Uint32Array(FLOW_WORDS);
  t.entryKey(entry, k);
  return k;
}

function actionsOf(t: FlowTable, entry: number): number[] {
  const slot = t.flowActions(entry);
  const off = t.actionsOffset(slot);
  return Array.from(t.bytes.subarray(off, off + t.actionsLength(slot)));
}

describe('dpif/flow table: put, get, del semantics (OVS dpif_flow_put/del/get)', () => {
  it('CREATE adds a flow; CREATE again fails with EEXIST and changes nothing', () => {
    const t = FlowTable.create({ capacity: 64 });
    const r = t.put({ flags: CREATE, key: key(1, 0x0a000001), mask: M_SRC, actions: acts(1, 2, 3) });
    expect(r.error).to.equal(0);
    expect(r.created).to.equal(true);
    expect(t.flowCount).to.equal(1);
    const again = t.put({ flags: CREATE, key: key(1, 0x0a000001), mask: M_SRC, actions: acts(9) });
    expect(again.error).to.equal('EEXIST');
    expect(actionsOf(t, r.entry)).to.deep.equal([1, 2, 3]);
    expect(t.flowCount).to.equal(1);
  });

  it('MODIFY of a missing flow fails with ENOENT; flags without CREATE/MODIFY on an existing flow give EINVAL', () => {
    const t = FlowTable.create({ capacity: 64 });
    expect(t.put({ flags: MODIFY, key: key(1, 5), mask: M_SRC, actions: acts(1) }).error).to.equal('ENOENT');
    expect(t.put({ flags: MODIFY | DPIF_FP_ZERO_STATS, key: key(1, 5), mask: M_SRC, actions: acts(1) }).error).to.equal('ENOENT');
    expect(t.flowCount).to.equal(0);
    expect(t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) }).error).to.equal(0);
    expect(t.put({ flags: DPIF_FP_ZERO_STATS, key: key(1, 5), mask: M_SRC, actions: acts(1) }).error).to.equal('EINVAL');
  });

  it('CREATE|MODIFY creates a missing flow and modifies an existing one', () => {
    const t = FlowTable.create({ capacity: 64 });
    const a = t.put({ flags: CREATE | MODIFY, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    expect([a.error, a.created]).to.deep.equal([0, true]);
    const b = t.put({ flags: CREATE | MODIFY, key: key(1, 5), mask: M_SRC, actions: acts(2, 2) });
    expect([b.error, b.created, b.entry]).to.deep.equal([0, false, a.entry]);
    expect(actionsOf(t, a.entry)).to.deep.equal([2, 2]);
  });

  it('MODIFY replaces the actions in place and keeps the stats; the put returns the stats before it', () => {
    const t = FlowTable.create({ capacity: 64, maxPmds: 2 });
    const r = t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    t.statsAdd(r.entry, 0, 3, 180, 0x02, 1000);
    t.statsAdd(r.entry, 1, 2, 120, 0x10, 1500);
    const m = t.put({ flags: MODIFY, key: key(1, 5), mask: M_SRC, actions: acts(7, 7, 7) });
    expect(m.error).to.equal(0);
    expect(m.entry).to.equal(r.entry);
    expect(m.stats).to.deep.equal({ packets: 5, bytes: 300, used: 1500, tcpFlags: 0x12 });
    expect(actionsOf(t, r.entry)).to.deep.equal([7, 7, 7]);
    expect(t.readStats(r.entry)).to.deep.equal({ packets: 5, bytes: 300, used: 1500, tcpFlags: 0x12 });
  });

  it('MODIFY|ZERO_STATS zeroes packets, bytes, used and tcp_flags; later stats count from zero', () => {
    const t = FlowTable.create({ capacity: 64, maxPmds: 2 });
    const r = t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    t.statsAdd(r.entry, 0, 3, 180, 0x02, 1000);
    t.statsAdd(r.entry, 1, 1, 60, 0x01, 1100);
    const m = t.put({ flags: MODIFY | DPIF_FP_ZERO_STATS, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    expect(m.stats.packets).to.equal(4);
    expect(t.readStats(r.entry)).to.deep.equal({ packets: 0, bytes: 0, used: 0, tcpFlags: 0 });
    t.statsAdd(r.entry, 1, 1, 64, 0x10, 2000);
    expect(t.readStats(r.entry)).to.deep.equal({ packets: 1, bytes: 64, used: 2000, tcpFlags: 0x10 });
    expect(t.get(m.ufid).flow!.stats.packets).to.equal(1);
  });

  it('del returns the final stats in the same operation, then the UFID is gone (ENOENT)', () => {
    const t = FlowTable.create({ capacity: 64 });
    const r = t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    t.statsAdd(r.entry, 0, 10, 640, 0x18, 77);
    const d = t.del(r.ufid);
    expect(d).to.deep.equal({ error: 0, stats: { packets: 10, bytes: 640, used: 77, tcpFlags: 0x18 } });
    expect(t.del(r.ufid).error).to.equal('ENOENT');
    expect(t.get(r.ufid)).to.deep.equal({ error: 'ENOENT', flow: null });
    expect(t.flowCount).to.equal(0);
    expect(t.subtableCount).to.equal(0);
  });

  it('get returns the masked key, the mask, the actions and the stats', () => {
    const t = FlowTable.create({ capacity: 64 });
    const k = key(3, 0x0a000001, 0xc0a80177);
    const r = t.put({ flags: CREATE, key: k, mask: M_DST24, actions: acts(4, 5) });
    const g = t.get(r.ufid);
    expect(g.error).to.equal(0);
    const f = g.flow!;
    expect(formatUfid(f.ufid)).to.equal(formatUfid(r.ufid));
    expect(Array.from(f.mask)).to.deep.equal(Array.from(M_DST24));
    const want = new Uint32Array(FLOW_WORDS);
    want[W_IN_PORT] = 3; want[W_DL_TYPE] = 0x0800; want[W_NW_DST] = 0xc0a80100;
    expect(Array.from(f.key)).to.deep.equal(Array.from(want));
    expect(Array.from(f.actions)).to.deep.equal([4, 5]);
  });

  it('a put whose key already matches another flow (other UFID) fails with EEXIST', () => {
    const t = FlowTable.create({ capacity: 64 });
    const a = t.put({ flags: CREATE, key: key(1, 5, 0x0a000102), mask: M_DST24, actions: acts(1), ufid: parseUfid('ufid:00000001-0000-4000-8000-000000000001') });
    expect(a.error).to.equal(0);
    // Another packet of the same megaflow, with a UFID of its own (two handlers racing).
    const b = t.put({ flags: CREATE, key: key(1, 6, 0x0a0001ff), mask: M_SRC, actions: acts(2), ufid: parseUfid('ufid:00000002-0000-4000-8000-000000000002') });
    expect(b.error).to.equal('EEXIST');
    expect(t.flowCount).to.equal(1);
  });

  it('a UFID that names a flow with another match gives EINVAL', () => {
    const t = FlowTable.create({ capacity: 64 });
    const u = parseUfid('ufid:00000001-0000-4000-8000-000000000001');
    expect(t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1), ufid: u }).error).to.equal(0);
    expect(t.put({ flags: CREATE | MODIFY, key: key(1, 6), mask: M_SRC, actions: acts(1), ufid: u }).error).to.equal('EINVAL');
    expect(t.put({ flags: CREATE | MODIFY, key: key(1, 5), mask: M_TP, actions: acts(1), ufid: u }).error).to.equal('EINVAL');
  });

  it('rejects bad input with an error, never an exception', () => {
    const t = FlowTable.create({ capacity: 64, actionsBytes: 16 });
    const wild = mask([W_NW_SRC, 0xffffffff]);
    wild[W_IN_PORT] = 0xffff0000;
    expect(t.put({ flags: CREATE, key: key(1, 5), mask: wild, actions: acts(1) }).error).to.equal('EINVAL');
    expect(t.put({ flags: CREATE, key: new Uint32Array(3), mask: M_SRC, actions: acts(1) }).error).to.equal('EINVAL');
    expect(t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: new Uint8Array(17) }).error).to.equal('E2BIG');
    expect(t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: new Uint8Array(16) }).error).to.equal(0);
    expect(t.put({ flags: CREATE, key: key(1, 6), mask: M_SRC, actions: acts(1), ufid: new Uint32Array(2) }).error).to.equal('EINVAL');
    expect(t.put({ flags: CREATE, key: key(1, 6), mask: M_SRC, actions: [1, 2] as unknown as Uint8Array }).error).to.equal('EINVAL');
    expect(t.del(new Uint32Array(1)).error).to.equal('ENOENT');
    expect(t.flowCount).to.equal(1);
  });

  it('logs a failed put unless DPIF_FP_PROBE is set', () => {
    const lines: string[] = [];
    const t = FlowTable.create({ capacity: 64 }, { log: (l) => lines.push(l) });
    t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    expect(t.put({ flags: CREATE | DPIF_FP_PROBE, key: key(1, 5), mask: M_SRC, actions: acts(1) }).error).to.equal('EEXIST');
    expect(lines).to.deep.equal([]);
    expect(t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) }).error).to.equal('EEXIST');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^failed to put\[create\] flow: EEXIST: ufid:[0-9a-f-]{36} exists$/);
    // A successful probe behaves like any put.
    expect(t.put({ flags: CREATE | DPIF_FP_PROBE, key: key(1, 9), mask: M_SRC, actions: acts(1) }).error).to.equal(0);
  });

  it('fails with ENOSPC when the table is full, and has room again after a delete', () => {
    const t = FlowTable.create({ capacity: 8 });
    const ufids: Uint32Array[] = [];
    for (let i = 0; i < 8; i++) ufids.push(t.put({ flags: CREATE, key: key(1, i), mask: M_SRC, actions: acts(i) }).ufid);
    expect(t.put({ flags: CREATE, key: key(1, 100), mask: M_SRC, actions: acts(1) }).error).to.equal('ENOSPC');
    expect(t.del(ufids[3]!).error).to.equal(0);
    expect(t.put({ flags: CREATE, key: key(1, 100), mask: M_SRC, actions: acts(1) }).error).to.equal(0);
  });

  it('fails with ENOSPC beyond maxSubtables distinct masks; an emptied subtable is freed', () => {
    const t = FlowTable.create({ capacity: 64, maxSubtables: 2 });
    const a = t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    t.put({ flags: CREATE, key: key(2, 5), mask: M_DST24, actions: acts(1) });
    expect(t.subtableCount).to.equal(2);
    expect(t.put({ flags: CREATE, key: key(3, 5), mask: M_TP, actions: acts(1) }).error).to.equal('ENOSPC');
    t.del(a.ufid);
    expect(t.subtableCount).to.equal(1);
    expect(t.put({ flags: CREATE, key: key(3, 5), mask: M_TP, actions: acts(1) }).error).to.equal(0);
  });

  it('flush deletes every flow and leaves a usable table', () => {
    const t = FlowTable.create({ capacity: 64 });
    const pmd = t.openPmd(0);
    const M_SRC_TP = mask([W_DL_TYPE, 0xffff], [W_NW_SRC, 0xffffffff], [W_TP, 0xffffffff]);
    for (let i = 0; i < 20; i++) expect(t.put({ flags: CREATE, key: key(1 + (i % 3), i), mask: i % 2 ? M_SRC : M_SRC_TP, actions: acts(i) }).error).to.equal(0);
    expect([t.flowCount, t.subtableCount]).to.deep.equal([20, 2]);
    expect(t.flush()).to.equal(20);
    expect([t.flowCount, t.subtableCount]).to.deep.equal([0, 0]);
    expect(pmd.lookup(key(1, 0), 0)).to.equal(-1);
    expect(t.put({ flags: CREATE, key: key(1, 0), mask: M_SRC, actions: acts(1) }).error).to.equal(0);
    expect(pmd.lookup(key(1, 0), 0)).to.be.greaterThanOrEqual(0);
    pmd.close();
  });

  it('operate runs a batch in order, one result per op', () => {
    const t = FlowTable.create({ capacity: 64 });
    const u = parseUfid('ufid:0000000a-0000-4000-8000-00000000000a');
    t.statsAdd(t.put({ flags: CREATE, key: key(1, 1), mask: M_SRC, actions: acts(1), ufid: u }).entry, 0, 4, 256, 0, 5);
    const res = t.operate([
      { type: 'get', ufid: u },
      { type: 'del', ufid: u },
      { type: 'get', ufid: u },
      { type: 'put', flags: CREATE, key: key(1, 1), mask: M_SRC, actions: acts(2), ufid: u },
      { type: 'put', flags: CREATE, key: key(1, 1), mask: M_SRC, actions: acts(3), ufid: u },
      { type: 'del', ufid: parseUfid('ufid:0000000b-0000-4000-8000-00000000000b') },
    ]);
    expect(res.map((r) => [r.type, r.error])).to.deep.equal([
      ['get', 0], ['del', 0], ['get', 'ENOENT'], ['put', 0], ['put', 'EEXIST'], ['del', 'ENOENT'],
    ]);
    expect((res[1] as { stats: { packets: number } }).stats.packets).to.equal(4);
    const g = t.get(u);
    expect(Array.from(g.flow!.actions)).to.deep.equal([2]);
    expect(g.flow!.stats.packets).to.equal(0);
  });

  it('operateErrors gives every op the error operate gives and leaves the same table', () => {
    const u = (i: number): Uint32Array => parseUfid(`ufid:000000${(0x10 + i).toString(16)}-0000-4000-8000-0000000000${(0x10 + i).toString(16)}`);
    const make = (): FlowTable => {
      const t = FlowTable.create({ capacity: 6, actionsReserve: 0, secret: 7 });
      t.put({ flags: CREATE, key: key(1, 1), mask: M_SRC, actions: acts(1), ufid: u(1) });
      t.put({ flags: CREATE, key: key(1, 2), mask: M_SRC, actions: acts(2), ufid: u(2) });
      return t;
    };
    const badMask = mask([W_NW_SRC, 0xffffffff]);
    badMask[W_IN_PORT] = 0xff;
    const batch = [
      // Duplicates first: the action slots taken for them before the lock must serve the later creates.
      { type: 'put' as const, flags: CREATE, key: key(1, 1), mask: M_SRC, actions: acts(9), ufid: u(1) },
      { type: 'put' as const, flags: CREATE, key: key(1, 2), mask: M_SRC, actions: acts(9), ufid: u(9) },
      { type: 'put' as const, flags: CREATE, key: key(1, 3), mask: M_SRC, actions: acts(3), ufid: u(3) },
      { type: 'put' as const, flags: CREATE, key: key(1, 4), mask: M_SRC, actions: acts(4) },
      { type: 'put' as const, flags: CREATE | MODIFY, key: key(1, 2), mask: M_SRC, actions: acts(22), ufid: u(2) },
      { type: 'put' as const, flags: MODIFY, key: key(1, 5), mask: M_SRC, actions: acts(5), ufid: u(5) },
      { type: 'put' as const, flags: 0, key: key(1, 1), mask: M_SRC, actions: acts(5), ufid: u(1) },
      { type: 'put' as const, flags: CREATE, key: key(1, 6), mask: badMask, actions: acts(6) },
      { type: 'put' as const, flags: CREATE, key: key(1, 7), mask: M_SRC, actions: new Uint8Array(300) },
      { type: 'put' as const, flags: CREATE, key: key(1, 8), mask: M_DST24, actions: acts(8), ufid: u(1) },
      { type: 'del' as const, ufid: u(3) },
      { type: 'del' as const, ufid: u(7) },
      { type: 'get' as const, ufid: u(2) },
      { type: 'put' as const, flags: CREATE, key: key(1, 10), mask: M_SRC, actions: acts(10) },
      { type: 'put' as const, flags: CREATE, key: key(1, 11), mask: M_SRC, actions: acts(11) },
      { type: 'put' as const, flags: CREATE, key: key(1, 12), mask: M_SRC, actions: acts(12) },
      { type: 'put' as const, flags: CREATE, key: key(1, 13), mask: M_SRC, actions: acts(13) },
    ];
    const a = make(), b = make();
    const want = a.operate(batch).map((r) => r.error);
    expect(want).to.deep.equal([
      // Six action slots: u1, u2, u3, key 4, u2's new list (its old one waits for a grace period), key 10.
      'EEXIST', 'EEXIST', 0, 0, 0, 'ENOENT', 'EINVAL', 'EINVAL', 'E2BIG', 'EINVAL', 0, 'ENOENT', 0, 0, 'ENOSPC', 'ENOSPC', 'ENOSPC',
    ]);
    const errors: Array<0 | FlowErrno> = [];
    b.operateErrors(batch, errors);
    expect(errors).to.deep.equal(want);
    const flows = (t: FlowTable): string[] => (t.dump().next(100) as FlowInfo[])
      .map((f) => `${formatUfid(f.ufid)} ${Array.from(f.key).join('.')} ${Array.from(f.actions).join('.')}`).sort();
    expect(flows(b)).to.deep.equal(flows(a));
    expect(b.flowCount).to.equal(4);
  });
});

describe('dpif/flow table: UFIDs', () => {
  it('formats and parses as OVS (odp_format_ufid / UUID_FMT); a bad string names itself', () => {
    const u = Uint32Array.of(0x01234567, 0x89abcdef, 0x0badf00d, 0xdeadbeef);
    expect(formatUfid(u)).to.equal('ufid:01234567-89ab-cdef-0bad-f00ddeadbeef');
    expect(Array.from(parseUfid('ufid:01234567-89ab-cdef-0bad-f00ddeadbeef'))).to.deep.equal(Array.from(u));
    expect(Array.from(parseUfid('01234567-89AB-cdef-0bad-f00ddeadbeef'))).to.deep.equal(Array.from(u));
    expect(() => parseUfid('ufid:0123')).to.throw(SyntaxError, /ufid:0123/);
  });

  it('a put without a UFID derives one from the masked key and mask: deterministic, v4 bits, keyed by the secret', () => {
    const a = FlowTable.create({ capacity: 64, secret: 42 });
    const b = FlowTable.create({ capacity: 64, secret: 42 });
    const c = FlowTable.create({ capacity: 64, secret: 43 });
    const k1 = key(1, 0x0a000001, 0x0a000102), k2 = key(1, 0x0a000001, 0x0a0001fe); // differ only in wildcarded bits
    const ua = a.put({ flags: CREATE, key: k1, mask: M_DST24, actions: acts(1) }).ufid;
    const ub = b.put({ flags: CREATE, key: k2, mask: M_DST24, actions: acts(1) }).ufid;
    const uc = c.put({ flags: CREATE, key: k1, mask: M_DST24, actions: acts(1) }).ufid;
    expect(formatUfid(ub)).to.equal(formatUfid(ua));
    expect(formatUfid(uc)).to.not.equal(formatUfid(ua));
    expect((ua[1]! >>> 12) & 0xf).to.equal(4);
    expect(ua[2]! >>> 30).to.equal(2);
    // Same key, another mask: another megaflow, another UFID.
    const ud = b.put({ flags: CREATE, key: k1, mask: M_TP, actions: acts(1) });
    expect(ud.error).to.equal('EEXIST'); // the key already matches the /24 flow
    const fresh = FlowTable.create({ capacity: 64, secret: 42 });
    expect(formatUfid(fresh.put({ flags: CREATE, key: k1, mask: M_TP, actions: acts(1) }).ufid)).to.not.equal(formatUfid(ua));
    // A second put of the same megaflow without UFID finds it by the derived UFID.
    expect(a.put({ flags: MODIFY, key: k2, mask: M_DST24, actions: acts(5) }).error).to.equal(0);
  });

  it('an attached view in the same thread sees the same flows and the same secret', () => {
    const t = FlowTable.create({ capacity: 64 });
    const r = t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    const v = FlowTable.attach(t.sab);
    expect(v.secret).to.equal(t.secret);
    expect(v.get(r.ufid).error).to.equal(0);
    expect(v.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) }).error).to.equal('EEXIST');
    expect(() => FlowTable.attach(new SharedArrayBuffer(4096))).to.throw(TypeError);
  });
});

describe('dpif/flow table: dumps', () => {
  it('full and terse dumps in batches give every flow once with its contents', () => {
    const t = FlowTable.create({ capacity: 256 });
    const want = new Map<string, number>();
    for (let i = 0; i < 120; i++) {
      const r = t.put({ flags: CREATE, key: key(1, i), mask: M_SRC, actions: acts(i & 0xff, 1) });
      t.statsAdd(r.entry, 0, i, i * 60, 0, 1);
      want.set(formatUfid(r.ufid), i);
    }
    for (const terse of [false, true]) {
      const d = t.dump({ terse });
      const seen = new Map<string, number>();
      let batches = 0;
      for (let b = d.next(50); b.length > 0; b = d.next(50)) {
        expect(b.length).to.be.at.most(50);
        batches++;
        for (const f of b) {
          const i = want.get(formatUfid(f.ufid))!;
          expect(f.stats.packets).to.equal(i);
          if (terse) expect(f).to.not.have.property('actions');
          else {
            expect(Array.from((f as FlowInfo).actions)).to.deep.equal([i & 0xff, 1]);
            expect((f as FlowInfo).key[W_NW_SRC]).to.equal(i);
          }
          seen.set(formatUfid(f.ufid), (seen.get(formatUfid(f.ufid)) ?? 0) + 1);
        }
      }
      expect(batches).to.equal(3);
      expect(d.done).to.equal(true);
      expect(seen.size).to.equal(120);
      expect([...seen.values()].every((n) => n === 1)).to.equal(true);
    }
  });

  it('stays consistent while flows change between batches: a flow present throughout appears exactly once', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(199), fc.nat(1000)), { maxLength: 60 }), fc.integer({ min: 1, max: 40 }), (changes, batch) => {
      const t = FlowTable.create({ capacity: 512 });
      const live = new Map<string, Uint32Array>();
      let next = 0;
      const add = (): void => {
        const r = t.put({ flags: CREATE, key: key(1, next++), mask: M_SRC, actions: acts(1) });
        if (r.error === 0) live.set(formatUfid(r.ufid), r.ufid);
      };
      for (let i = 0; i < 200; i++) add();
      const throughout = new Set(live.keys());
      const d = t.dump({ terse: true });
      const count = new Map<string, number>();
      let ci = 0;
      for (let b = d.next(batch); b.length > 0; b = d.next(batch)) {
        for (const f of b) count.set(formatUfid(f.ufid), (count.get(formatUfid(f.ufid)) ?? 0) + 1);
        // Between batches: a few random deletes, adds (which reuse freed entries) and modifies.
        for (let j = 0; j < 3 && ci < changes.length; j++, ci++) {
          const [kind, pick] = changes[ci]!;
          const names = [...live.keys()];
          if (names.length === 0 || kind === 0) { add(); continue; }
          const name = names[pick % names.length]!;
          if (kind === 1) {
            expect(t.del(live.get(name)!).error).to.equal(0);
            live.delete(name);
            throughout.delete(name);
          } else {
            const f = t.get(live.get(name)!).flow!;
            expect(t.put({ flags: MODIFY, key: f.key, mask: f.mask, actions: acts(kind, pick & 0xff), ufid: f.ufid }).error).to.equal(0);
          }
        }
      }
      for (const name of throughout) expect(count.get(name), name).to.equal(1);
      for (const [name, n] of count) {
        expect(n, name).to.equal(1);
      }
    }), { numRuns: 40 });
  });

  it('walks entries only up to the high-water mark, which freed entries reused first keep where it was', () => {
    const t = FlowTable.create({ capacity: 4096 });
    const ufids: Uint32Array[] = [];
    for (let i = 0; i < 40; i++) ufids.push(t.put({ flags: CREATE, key: key(1, i), mask: M_SRC, actions: acts(1) }).ufid);
    expect(t.entryHighWater).to.equal(40);
    for (const u of ufids.slice(0, 30)) expect(t.del(u).error).to.equal(0);
    const again: number[] = [];
    for (let i = 0; i < 25; i++) again.push(t.put({ flags: CREATE, key: key(2, i), mask: M_SRC, actions: acts(2) }).entry);
    expect(Math.max(...again)).to.be.below(40);
    expect(t.entryHighWater).to.equal(40);
    const d = t.dump({ terse: true });
    const b = d.next(1000);
    expect(b).to.have.length(35);
    expect(d.done).to.equal(true);
    expect(t.flush()).to.equal(35);
    expect(t.dump({ terse: true }).next(1000)).to.have.length(0);
  });

  it('several dumpers sharing one cursor (as revalidator threads share a dump) split the flows without overlap', () => {
    const t = FlowTable.create({ capacity: 256 });
    for (let i = 0; i < 200; i++) t.put({ flags: CREATE, key: key(1, i), mask: M_SRC, actions: acts(1) });
    const cursor = new Int32Array(new SharedArrayBuffer(8));
    const d1 = t.dump({ terse: true, cursor, cursorIndex: 1 });
    const d2 = FlowTable.attach(t.sab).dump({ terse: true, cursor, cursorIndex: 1 });
    const seen: FlowTerse[] = [];
    for (let i = 0; !d1.done; i++) seen.push(...(i % 2 ? d1 : d2).next(7));
    expect(d2.done).to.equal(true);
    expect(new Set(seen.map((f) => formatUfid(f.ufid))).size).to.equal(200);
    expect(seen).to.have.length(200);
  });
});

describe('dpif/flow table: PMD lookups (dpcls, EMC)', () => {
  it('dpcls finds the megaflow for any key it matches, whatever the wildcarded bits, and misses otherwise', () => {
    const t = FlowTable.create({ capacity: 1024, emcInsertInvProb: 0 });
    const pmd = t.openPmd(0);
    const masks = [M_SRC, M_DST24, M_TP, mask([W_DL_TYPE, 0xffff], [W_NW_SRC, 0xff000000], [W_TP, 0xffff])];
    const rules: Array<{ key: Uint32Array; mask: Uint32Array; entry: number }> = [];
    for (let i = 0; i < 300; i++) {
      const m = masks[i % masks.length]!;
      const k = key(1 + (i % 5), (0x0b000000 + i * 7919) >>> 0, (0xc0a80000 + i * 256) >>> 0, ((2000 + i) << 16) | (i * 3));
      const r = t.put({ flags: CREATE, key: k, mask: m, actions: acts(i & 0xff) });
      if (r.error === 0) rules.push({ key: k, mask: m, entry: r.entry });
    }
    expect(rules.length).to.be.greaterThan(250);
    expect(t.subtableCount).to.equal(4);
    fc.assert(fc.property(fc.nat(rules.length - 1), fc.uint32Array({ minLength: FLOW_WORDS, maxLength: FLOW_WORDS }), fc.boolean(), (ri, noise, flip) => {
      const r = rules[ri]!;
      const pk = new Uint32Array(FLOW_WORDS);
      for (let w = 0; w < FLOW_WORDS; w++) pk[w] = ((r.key[w]! & r.mask[w]!) | (noise[w]! & ~r.mask[w]!)) >>> 0;
      if (flip) pk[W_IN_PORT] = 99; // no rule has in_port 99
      const e = pmd.lookup(pk, 0);
      // Reference: any rule matching the packet (megaflows here do not overlap on in_port 1..5 keys).
      const matching = rules.filter((x) => keyMatches(pk, 0, entryKeyOf(t, x.entry), 0, x.mask, 0));
      if (flip) {
        expect(e).to.equal(-1);
        expect(pmd.lastPath).to.equal(LOOKUP_MISS);
      } else {
        expect(matching.map((x) => x.entry)).to.include(e);
        expect(pmd.lastPath).to.equal(LOOKUP_MEGAFLOW);
      }
    }), { numRuns: 2000 });
    pmd.close();
  });

  it('lookupBatch and dpclsLookupBatch give the same entries as key-by-key lookups', () => {
    const t = FlowTable.create({ capacity: 1024, emcInsertInvProb: 0 });
    const pmd = t.openPmd(0);
    const masks = [M_SRC, M_DST24, M_TP, mask([W_DL_TYPE, 0xffff], [W_NW_SRC, 0xffff0000], [W_TP, 0xffff])];
    for (let i = 0; i < 400; i++) {
      t.put({ flags: CREATE, key: key(1 + (i % 7), (0x0b000000 + i * 7919) >>> 0, (0xc0a80000 + i * 256) >>> 0, ((3000 + i) << 16) | i), mask: masks[i % 4]!, actions: acts(1) });
    }
    fc.assert(fc.property(fc.integer({ min: 1, max: 32 }), fc.array(fc.tuple(fc.nat(399), fc.boolean(), fc.nat()), { minLength: 32, maxLength: 32 }), fc.boolean(), fc.integer(), (n, picks, emc, keysMap) => {
      t.emcInsertInvProb = emc ? 2 : 0;
      pmd.quiesce();
      const keys = new Uint32Array(32 * FLOW_WORDS);
      picks.forEach(([i, miss, noise], j) => {
        keys.set(key(miss ? 99 : 1 + (i % 7), (0x0b000000 + i * 7919) >>> 0, (0xc0a80000 + i * 256 + (noise & 0xff)) >>> 0, ((3000 + i) << 16) | i), j * FLOW_WORDS);
      });
      const single: number[] = [];
      let sumPos = 0;
      for (let j = 0; j < n; j++) {
        single.push(pmd.dpclsLookup(keys, j * FLOW_WORDS));
        if (single[j]! >= 0) sumPos += pmd.lastSubtables;
      }
      const out = new Int32Array(32).fill(-7);
      const found = pmd.lookupBatch(keys, 0, n, out);
      expect(Array.from(out.subarray(0, n))).to.deep.equal(single);
      expect(out[n] ?? -7).to.equal(-7);
      expect(found).to.equal(single.filter((e) => e >= 0).length);
      expect(pmd.lastEmcHits + pmd.lastMegaflowHits).to.equal(found);
      if (!emc) expect(pmd.lastSubtables).to.equal(sumPos);
      // Only the keys in keysMap are looked up; the others keep their value.
      const part = new Int32Array(32).fill(-7);
      pmd.dpclsLookupBatch(keys, 0, n, part, 0, keysMap);
      for (let j = 0; j < n; j++) expect(part[j]).to.equal((keysMap >>> j) & 1 ? single[j] : -7);
    }), { numRuns: 300 });
    pmd.close();
  });

  it('EMC: insert probability 1/N (always for N=1, never for 0, about 1% for 100); hits take the EMC path', () => {
    const t = FlowTable.create({ capacity: 64, emcInsertInvProb: 1 });
    const pmd = t.openPmd(0);
    t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    const pk = key(1, 5, 0x01020304, 0x11112222);
    expect(pmd.lookup(pk, 0)).to.be.greaterThanOrEqual(0);
    expect(pmd.lastPath).to.equal(LOOKUP_MEGAFLOW);
    pmd.lookup(pk, 0);
    expect(pmd.lastPath).to.equal(LOOKUP_EMC);

    t.emcInsertInvProb = 0;
    pmd.quiesce(); // PMDs pick up emc-insert-inv-prob at their quiescent points
    pmd.lookup(pk, 0);
    expect(pmd.lastPath, 'EMC off: not consulted').to.equal(LOOKUP_MEGAFLOW);
    pmd.emcClear();
    for (let i = 0; i < 10; i++) pmd.lookup(pk, 0);
    t.emcInsertInvProb = 1;
    pmd.quiesce();
    pmd.lookup(pk, 0);
    expect(pmd.lastPath, 'nothing was inserted while off').to.equal(LOOKUP_MEGAFLOW);

    t.emcInsertInvProb = 100;
    pmd.quiesce();
    pmd.emcClear();
    let emcHits = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) pmd.lookup(key(1, 5, i, 7), 0);
    for (let i = 0; i < n; i++) {
      pmd.lookup(key(1, 5, i, 7), 0);
      if (pmd.lastPath === LOOKUP_EMC) emcHits++;
    }
    // Binomial(4000, 1/100): mean 40, sd 6.3. (A few inserted keys may be evicted by collisions.)
    expect(emcHits).to.be.within(12, 80);
    pmd.close();
  });

  it('EMC never returns a dead flow, nor a reused entry of another flow', () => {
    const t = FlowTable.create({ capacity: 4, emcInsertInvProb: 1 });
    const pmd = t.openPmd(0);
    const a = t.put({ flags: CREATE, key: key(1, 5), mask: M_TP, actions: acts(1) });
    const pk = key(1, 5);
    pmd.lookup(pk, 0);
    pmd.lookup(pk, 0);
    expect(pmd.lastPath).to.equal(LOOKUP_EMC);
    pmd.quiesce();
    t.del(a.ufid);
    expect(pmd.emcLookup(pk, 0, pmd.lastHash)).to.equal(-1);
    expect(pmd.lookup(pk, 0)).to.equal(-1);
    // The freed entry is reused by a flow with the same key bits but another mask and other actions.
    const b = t.put({ flags: CREATE, key: pk, mask: M_SRC, actions: acts(2) });
    expect(b.entry).to.equal(a.entry);
    expect(pmd.lookup(pk, 0)).to.equal(b.entry);
    expect(pmd.lastPath, 'the stale EMC entry must not hit').to.equal(LOOKUP_MEGAFLOW);
    expect(actionsOf(t, b.entry)).to.deep.equal([2]);
    pmd.close();
  });

  it('EMC does not record a flow deleted between its dpcls hit and the insert', () => {
    const t = FlowTable.create({ capacity: 4, emcInsertInvProb: 1 });
    const pmd = t.openPmd(0);
    const a = t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    const pk = key(1, 5);
    const e = pmd.dpclsLookup(pk, 0);
    expect(e).to.equal(a.entry);
    t.del(a.ufid); // another thread's delete, between the PMD's dpcls hit and its EMC insert
    const h = hashKeyFast(pk, 0);
    pmd.emcInsert(pk, 0, h, e);
    expect(pmd.emcLookup(pk, 0, h)).to.equal(-1);
    // The entry's memory is reused by another flow: still no EMC hit for the old key.
    const b = t.put({ flags: CREATE, key: key(1, 6), mask: M_SRC, actions: acts(2) });
    expect(b.entry).to.equal(e);
    expect(pmd.emcLookup(pk, 0, h)).to.equal(-1);
    expect(pmd.lookup(pk, 0)).to.equal(-1);
    pmd.close();
  });

  it('ranks subtables by hits and re-sorts them on optimize', () => {
    const t = FlowTable.create({ capacity: 64, emcInsertInvProb: 0 });
    const pmd = t.openPmd(0);
    t.put({ flags: CREATE, key: key(1, 1), mask: M_SRC, actions: acts(1) });
    t.put({ flags: CREATE, key: key(2, 1), mask: M_DST24, actions: acts(2) });
    t.put({ flags: CREATE, key: key(3, 1), mask: M_TP, actions: acts(3) });
    const hot = key(3, 1);
    pmd.lookup(hot, 0);
    expect(pmd.lastSubtables).to.equal(3); // created last, ranked last
    for (let i = 0; i < 100; i++) pmd.lookup(hot, 0);
    pmd.lookup(key(2, 1), 0);
    pmd.optimize(0); // first call: interval elapsed (never optimized before)
    pmd.lookup(hot, 0);
    expect(pmd.lastSubtables).to.equal(1);
    pmd.lookup(key(2, 1), 0);
    expect(pmd.lastSubtables).to.equal(2);
    // Not re-sorted again before the interval.
    for (let i = 0; i < 500; i++) pmd.lookup(key(1, 1), 0);
    pmd.optimize(500);
    pmd.lookup(key(1, 1), 0);
    expect(pmd.lastSubtables).to.equal(3);
    pmd.optimize(1000);
    pmd.lookup(key(1, 1), 0);
    expect(pmd.lastSubtables).to.equal(1);
    pmd.close();
  });

  it('stats: per-PMD slots sum; a reused entry starts from zero', () => {
    const t = FlowTable.create({ capacity: 2, maxPmds: 3 });
    const a = t.put({ flags: CREATE, key: key(1, 1), mask: M_SRC, actions: acts(1) });
    t.statsAdd(a.entry, 0, 1, 100, 0x002, 10);
    t.statsAdd(a.entry, 2, 2, 200, 0x010, 30);
    t.statsAdd(a.entry, 0, 3, 300, 0x001, 20);
    expect(t.readStats(a.entry)).to.deep.equal({ packets: 6, bytes: 600, used: 30, tcpFlags: 0x013 });
    expect(t.del(a.ufid).stats.packets).to.equal(6);
    const b = t.put({ flags: CREATE, key: key(1, 2), mask: M_SRC, actions: acts(1) });
    expect(b.entry).to.equal(a.entry);
    expect(t.readStats(b.entry)).to.deep.equal({ packets: 0, bytes: 0, used: 0, tcpFlags: 0 });
    t.statsAdd(b.entry, 2, 1, 64, 0, 40);
    expect(t.readStats(b.entry)).to.deep.equal({ packets: 1, bytes: 64, used: 40, tcpFlags: 0 });
  });

  it('a PMD id can be held by one handle at a time; table.lookup goes through this thread\'s handle', () => {
    const t = FlowTable.create({ capacity: 8, maxPmds: 2 });
    const r = t.put({ flags: CREATE, key: key(1, 5), mask: M_SRC, actions: acts(1) });
    expect(() => t.lookup(key(1, 5), 0, 1)).to.throw(/not open/);
    const p = t.openPmd(1);
    expect(t.lookup(key(1, 5), 0, 1)).to.equal(r.entry);
    expect(t.lookup(key(1, 6), 0, 1)).to.equal(-1);
    expect(() => t.openPmd(1)).to.throw(/already in use/);
    expect(() => t.openPmd(2)).to.throw(RangeError);
    p.close();
    expect(() => t.lookup(key(1, 5), 0, 1)).to.throw(/not open/);
    t.openPmd(1).close();
  });
});
