import { expect } from 'chai';
import { CounterSet } from '@tsvs/shm';
import { runWorker } from './helpers.js';

describe('shm/CounterSet', () => {
  it('keeps each block on its own cache lines and sums blocks written by several workers', async () => {
    const cs = CounterSet.create(['packets', 'bytes', 'drops'], 3);
    expect(cs.stride).to.equal(8);
    const n = 1_000_000;
    await Promise.all([0, 1, 2].map((b) => runWorker({ role: 'counters', counters: cs.descriptor(), block: b, n: n + b })));
    expect(cs.read()).to.deep.equal({ packets: 3 * n + 3, bytes: 64 * (3 * n + 3), drops: 0 });
    expect(cs.readBlock(2)['packets']).to.equal(n + 2);
  });

  it('rejects unknown names, duplicate names and missing blocks with a one-line error', () => {
    const cs = CounterSet.create(['a'], 1);
    expect(() => cs.id('b')).to.throw(RangeError, /'b'/);
    expect(() => cs.block(1)).to.throw(RangeError);
    expect(() => CounterSet.create(['a', 'a'], 1)).to.throw(RangeError, /duplicate/);
  });
});
