/**
 * The addon's threadName (prctl PR_SET_NAME) and nameThread, in real worker threads: the name
 * lands in /proc/thread-self/comm of that thread only, cut to 15 bytes. No root needed.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { inAddonWorker } from './helpers.js';

/** `body` in a new worker, with `comm()`: the thread's name. */
const inWorker = (body: string): Promise<unknown> =>
  inAddonWorker(body, `const comm = () => fs.readFileSync('/proc/thread-self/comm', 'utf8').trim();`);

describe('netdev/system: thread names (threadName, nameThread)', () => {
  it('names the calling thread only', async () => {
    const mainBefore = readFileSync('/proc/thread-self/comm', 'utf8');
    const r = await inWorker(`parentPort.postMessage({ before: comm(), rc: a.threadName('handler7'), after: comm() });`);
    expect(r).to.deep.equal({ before: 'node', rc: 0, after: 'handler7' });
    expect(readFileSync('/proc/thread-self/comm', 'utf8')).to.equal(mainBefore);
  });

  it('cuts a long name to 15 bytes, as the kernel keeps it', async () => {
    const r = await inWorker(`a.threadName('revalidator1234567'); parentPort.postMessage(comm());`);
    expect(r).to.equal('revalidator1234');
  });

  it('refuses a name that is not a string with a TypeError, and one over 62 bytes with a RangeError', async () => {
    const r = await inWorker(`const err = (f) => { try { f(); return 'none'; } catch (e) { return e.constructor.name; } };
      parentPort.postMessage([err(() => a.threadName(5)), err(() => a.threadName('x'.repeat(100))), comm()]);`);
    expect(r).to.deep.equal(['TypeError', 'RangeError', 'node']);
  });
});
