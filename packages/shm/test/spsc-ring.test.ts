import { expect } from 'chai';
import { DoorbellBank, SpscRing } from '@tsvs/shm';
import { runWorker } from './helpers.js';

describe('shm/SpscRing', () => {
  it('rejects capacities that are not powers of two', () => {
    expect(() => SpscRing.create(1000)).to.throw(RangeError, /power of two/);
    expect(() => SpscRing.create(1)).to.throw(RangeError);
  });

  it('fills to capacity, refuses more, empties, in FIFO order', () => {
    const r = SpscRing.create(8);
    const src = Uint32Array.from({ length: 12 }, (_, i) => 100 + i);
    expect(r.push(src, 0, 5)).to.equal(5);
    expect(r.push(src, 5, 7)).to.equal(3); // only 3 slots left
    expect(r.count()).to.equal(8);
    expect(r.push(src, 8, 1)).to.equal(0);
    expect(r.pushOne(1)).to.equal(false);
    const dst = new Uint32Array(16);
    expect(r.pop(dst, 2, 3)).to.equal(3);
    expect(Array.from(dst.subarray(2, 5))).to.deep.equal([100, 101, 102]);
    expect(r.pop(dst, 0, 32)).to.equal(5);
    expect(Array.from(dst.subarray(0, 5))).to.deep.equal([103, 104, 105, 106, 107]);
    expect(r.pop(dst, 0, 32)).to.equal(0);
    expect(r.popOne()).to.equal(-1);
    expect(r.isEmpty()).to.equal(true);
  });

  it('keeps order across slot wraparound and the 2^31 / 2^32 index wraparound', () => {
    const r = SpscRing.create(16);
    // Start the free-running indices just below the int32 sign flip (header layout: head word 0, tail word 16).
    const h = new Int32Array(r.sab, 0, 64);
    h[0] = 0x7ffffff9; h[16] = 0x7ffffff9;
    const p = SpscRing.attach(r.descriptor()); // fresh side objects see the moved indices
    const src = new Uint32Array(32), dst = new Uint32Array(32);
    let next = 0, expect_ = 0;
    for (let round = 0; round < 200; round++) {
      const n = 1 + (round * 7) % 13;
      for (let i = 0; i < n; i++) src[i] = next + i;
      const k = p.push(src, 0, n);
      next += k;
      const m = p.pop(dst, 0, 1 + (round % 11));
      for (let i = 0; i < m; i++) expect(dst[i]).to.equal(expect_++);
    }
    let m: number;
    while ((m = p.pop(dst, 0, 32)) > 0) for (let i = 0; i < m; i++) expect(dst[i]).to.equal(expect_++);
    expect(expect_).to.equal(next);
    expect(h[16]).to.be.lessThan(0); // the tail did cross into negative int32 values
    // And across 2^32: indices just below -1 -> 0.
    h[0] = -5; h[16] = -5;
    const q = SpscRing.attach(r.descriptor());
    for (let i = 0; i < 10; i++) src[i] = 1000 + i;
    expect(q.push(src, 0, 10)).to.equal(10);
    expect(q.count()).to.equal(10);
    expect(q.pop(dst, 0, 32)).to.equal(10);
    expect(Array.from(dst.subarray(0, 10))).to.deep.equal(Array.from(src.subarray(0, 10)));
  });

  it('moves 5 million descriptors between two worker threads without loss, duplication or reordering', async () => {
    const ring = SpscRing.create(1024);
    // Start the indices 2.5 million below the int32 sign flip so that the run crosses it.
    const h = new Int32Array(ring.sab, 0, 64);
    h[0] = h[16] = 0x7fffffff - 2_500_000;
    const n = 5_000_000;
    const [p, c] = await Promise.all([
      runWorker({ role: 'produce', ring: ring.descriptor(), n, seed: 7 }),
      runWorker({ role: 'consume', ring: ring.descriptor(), n, seed: 11 }),
    ]);
    expect(p['pushed']).to.equal(n);
    expect(c['firstError']).to.equal(null);
    expect(c['errors']).to.equal(0);
    expect(c['popped']).to.equal(n);
    expect(c['leftover']).to.equal(0);
    expect(h[16]).to.be.lessThan(0);
  });

  it('a consumer sleeping on the doorbell is always woken: 2 million items with producer pauses', async () => {
    const bank = DoorbellBank.create(4);
    const ring = SpscRing.create(64, bank);
    const n = 2_000_000;
    const [p, c] = await Promise.all([
      runWorker({ role: 'produce', ring: ring.descriptor(), n, seed: 3, pauseEvery: 2000 }),
      runWorker({ role: 'consume', ring: ring.descriptor(), n, seed: 5, doorbell: true }),
    ]);
    expect(p['pushed']).to.equal(n);
    expect(c['errors']).to.equal(0); // neither a wrong item nor a 5 s timeout (lost wake-up)
    expect(c['popped']).to.equal(n);
    expect(c['sleeps']).to.be.greaterThan(0); // the consumer really slept and was woken
  });

  it('doorbell wakes a sleeping worker on the first push', async () => {
    const bank = DoorbellBank.create(2);
    const ring = SpscRing.create(8, bank);
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const res = runWorker({ role: 'waitOne', ring: ring.descriptor(), timeoutMs: 15000 }, (m) => { if (m['ready']) ready(); });
    await isReady;
    await new Promise((r) => setTimeout(r, 50)); // let it fall asleep
    expect(ring.pushOne(4242)).to.equal(true);
    const r = await res;
    expect(r['result']).to.be.oneOf(['ok', 'not-equal']);
    expect(r['value']).to.equal(4242);
  });

  it('bindDoorbell without a bank throws TypeError', () => {
    expect(() => SpscRing.create(4).bindDoorbell(0)).to.throw(TypeError);
  });

  it('pushLocked serializes several producers into one ring', () => {
    const r = SpscRing.create(16);
    const a = SpscRing.attach(r.descriptor()), b = SpscRing.attach(r.descriptor());
    expect(a.pushLocked(Uint32Array.of(1, 2), 0, 2)).to.equal(2);
    expect(b.pushLocked(Uint32Array.of(3), 0, 1)).to.equal(1);
    const d = new Uint32Array(4);
    expect(r.pop(d, 0, 4)).to.equal(3);
    expect(Array.from(d.subarray(0, 3))).to.deep.equal([1, 2, 3]);
  });
});
