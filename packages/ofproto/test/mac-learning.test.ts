/**
 * MAC learning (src/mac-learning) against OVS 3.1 lib/mac-learning.c semantics: learning and
 * lookups per (VLAN, MAC), multicast never learned, moves and their events, aging in whole seconds
 * through run(), refresh only after a second, fair eviction, static entries, port flushes, the
 * idle-time change, and the `fdb/show` / `fdb/stats-show` texts. (The conformance test replays a
 * learning sequence against OVS itself: test/conformance/xlate.test.ts.)
 */
import { expect } from 'chai';
import {
  MacLearning, formatFdbShow, formatFdbStats, normalizeIdleTime, normalizeMaxEntries, MAC_ENTRY_AGE_STATIC,
  type MacEvent,
} from '@tsvs/ofproto';

function clock(): { now: () => number; add: (s: number) => void } {
  let t = 1_000_000;
  return { now: () => t, add: (s) => { t += s * 1000; } };
}

describe('MacLearning', () => {
  it('learns (VLAN, MAC) -> port; lookups are per VLAN; group MACs are never learned or found', () => {
    const ml = new MacLearning({ now: clock().now });
    expect(ml.update(10, 0x0000, 0x0000000a, 3)).to.equal(true);
    expect(ml.lookup(10, 0, 0x0a)).to.equal(3);
    expect(ml.lookup(20, 0, 0x0a)).to.equal(-1);
    expect(ml.update(10, 0x0100, 0x5e000001, 3)).to.equal(false);
    expect(ml.lookup(10, 0x0100, 0x5e000001)).to.equal(-1);
    expect(ml.size).to.equal(1);
  });

  it('a MAC seen on another port moves, is reported with its old port, and asks for revalidation', () => {
    const events: MacEvent[] = [];
    const c = clock();
    const ml = new MacLearning({ now: c.now, onEvent: (e) => events.push(e) });
    ml.update(0, 0, 1, 1);
    expect(ml.takeNeedRevalidate()).to.equal(true);
    expect(ml.update(0, 0, 1, 1)).to.equal(false); // same port, same second: nothing
    expect(ml.takeNeedRevalidate()).to.equal(false);
    expect(ml.update(0, 0, 1, 2)).to.equal(true);
    expect(events).to.deep.equal([
      { type: 'learned', vlan: 0, macHi: 0, macLo: 1, port: 1, oldPort: -1 },
      { type: 'moved', vlan: 0, macHi: 0, macLo: 1, port: 2, oldPort: 1 },
    ]);
    expect(ml.stats()).to.include({ learned: 1, moved: 1, entries: 1 });
    expect(ml.run()).to.equal(true);
  });

  it('ages entries in whole seconds: run() removes them idleTime s after their last refresh', () => {
    const c = clock();
    const ml = new MacLearning({ now: c.now, idleTime: 20 });
    ml.update(0, 0, 1, 1);
    ml.update(0, 0, 2, 1);
    c.add(10);
    expect(ml.age(ml.entry(0, 0, 1)!)).to.equal(10);
    ml.update(0, 0, 1, 1); // age > 0: refreshed
    expect(ml.age(ml.entry(0, 0, 1)!)).to.equal(0);
    c.add(10);
    ml.run();
    expect(ml.lookup(0, 0, 2)).to.equal(-1); // 20 s old
    expect(ml.lookup(0, 0, 1)).to.equal(1);
    expect(ml.nextExpiry()).to.equal(10);
    c.add(10);
    ml.run();
    expect(ml.size).to.equal(0);
    expect(ml.stats().expired).to.equal(2);
  });

  it('a lookup still finds an expired entry until run() (as OVS)', () => {
    const c = clock();
    const ml = new MacLearning({ now: c.now, idleTime: 15 });
    ml.update(0, 0, 1, 1);
    c.add(100);
    expect(ml.lookup(0, 0, 1)).to.equal(1);
    ml.run();
    expect(ml.lookup(0, 0, 1)).to.equal(-1);
  });

  it('a full table evicts the least recently used entry of the port with the most entries', () => {
    const c = clock();
    const ml = new MacLearning({ now: c.now, maxEntries: 10 });
    for (let i = 1; i <= 6; i++) ml.update(0, 0, i, 1); // port 1: 6 entries
    for (let i = 7; i <= 10; i++) ml.update(0, 0, i, 2); // port 2: 4 entries
    c.add(1);
    ml.update(0, 0, 1, 1); // refresh MAC 1: MAC 2 is now port 1's LRU
    ml.update(0, 0, 11, 2); // the 11th: evicts from port 1
    expect(ml.size).to.equal(10);
    expect(ml.lookup(0, 0, 2)).to.equal(-1);
    expect(ml.lookup(0, 0, 1)).to.equal(1);
    expect(ml.lookup(0, 0, 7)).to.equal(2);
    expect(ml.stats().evicted).to.equal(1);
  });

  it('shrinks to a lowered size limit at run(), least recently used first', () => {
    const ml = new MacLearning({ now: clock().now, maxEntries: 20 });
    for (let i = 1; i <= 15; i++) ml.update(0, 0, i, 1 + (i % 3));
    ml.setMaxEntries(10);
    ml.run();
    expect(ml.size).to.equal(10);
    expect([...ml.entries()].map((e) => e.macLo)).to.deep.equal([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('static entries never age, are not moved by learning, and leave only by delStatic or a port flush', () => {
    const c = clock();
    const ml = new MacLearning({ now: c.now });
    ml.addStatic(5, 0, 9, 4);
    expect(ml.update(5, 0, 9, 1)).to.equal(false);
    expect(ml.lookup(5, 0, 9)).to.equal(4);
    c.add(10_000);
    ml.run();
    expect(ml.age(ml.entry(5, 0, 9)!)).to.equal(MAC_ENTRY_AGE_STATIC);
    expect(ml.stats().staticEntries).to.equal(1);
    ml.flush();
    expect(ml.lookup(5, 0, 9)).to.equal(4);
    expect(ml.delStatic(5, 0, 9)).to.equal(true);
    expect(ml.delStatic(5, 0, 9)).to.equal(false);
    expect(ml.stats().staticEntries).to.equal(0);
    ml.addStatic(5, 0, 9, 4);
    ml.update(5, 0, 8, 4);
    ml.update(5, 0, 7, 3);
    ml.flushPort(4);
    expect([...ml.entries()].map((e) => e.macLo)).to.deep.equal([7]);
    expect(ml.stats().staticEntries).to.equal(0);
  });

  it('changing mac-aging-time shifts the remaining life of every entry; values are clamped as OVS does', () => {
    const c = clock();
    const ml = new MacLearning({ now: c.now, idleTime: 100 });
    ml.update(0, 0, 1, 1);
    c.add(30);
    ml.setIdleTime(40);
    expect(ml.age(ml.entry(0, 0, 1)!)).to.equal(30);
    c.add(10);
    ml.run();
    expect(ml.size).to.equal(0);
    expect([normalizeIdleTime(1), normalizeIdleTime(300), normalizeIdleTime(99999)]).to.deep.equal([15, 300, 3600]);
    expect([normalizeMaxEntries(0), normalizeMaxEntries(2048), normalizeMaxEntries(1e9)]).to.deep.equal([10, 2048, 1000000]);
  });

  it('prints fdb/show and fdb/stats-show as OVS does', () => {
    const c = clock();
    const ml = new MacLearning({ now: c.now });
    ml.update(0, 0x0060, 0x979482df, 1);
    c.add(3);
    ml.update(10, 0x0000, 0x0000000a, 0xfffe);
    ml.addStatic(4095, 0x5054, 0x00000001, 12);
    expect(formatFdbShow(ml)).to.equal(
      ' port  VLAN  MAC                Age\n' +
      '    1     0  00:60:97:94:82:df    3\n' +
      'LOCAL    10  00:00:00:00:00:0a    0\n' +
      '   12  4095  50:54:00:00:00:01  static\n',
    );
    expect(formatFdbStats(ml, 'br0')).to.equal(
      'Statistics for bridge "br0":\n' +
      '  Current/maximum MAC entries in the table: 3/2048\n' +
      '  Current static MAC entries in the table : 1\n' +
      '  Total number of learned MAC entries     : 2\n' +
      '  Total number of expired MAC entries     : 0\n' +
      '  Total number of evicted MAC entries     : 0\n' +
      '  Total number of port moved MAC entries  : 0\n',
    );
  });
});
