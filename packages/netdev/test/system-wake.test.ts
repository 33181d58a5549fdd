/**
 * Doorbells for consumers that sleep in poll(2) (packages/shm DoorbellBank with a wake eventfd, as
 * a PMD with socket rxqs sleeps: packages/dpif src/pmd/fd-sleep.ts), with the addon's eventfd and
 * poll in real worker threads. No root needed.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { nativeNetdev } from '@tsvs/netdev';
import { BELL_AWAKE, BELL_SLEEPING, BELL_SLEEPING_FD, DoorbellBank, SpscRing } from '@tsvs/shm';
import { runWorker as runHelperWorker } from './helpers.js';

const workerPath = fileURLToPath(new URL('./system-wake-worker.mjs', import.meta.url));

/** This file's worker script (`runWorker` from ./helpers.js runs it). */
function runWorker(data: Record<string, unknown>, onMessage?: (m: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
  return runHelperWorker(data, onMessage, workerPath);
}

describe('netdev/system: doorbells for consumers asleep in poll(2) (wake eventfd)', function () {
  this.timeout(120000);

  it('a consumer asleep in poll(2) on its wake fd is always woken: 300000 items with producer pauses', async () => {
    const bank = DoorbellBank.create(2);
    const ring = SpscRing.create(64, bank);
    const n = 300_000;
    const stop = new SharedArrayBuffer(4);
    const [p, c] = await Promise.all([
      runWorker({ role: 'produce', ring: ring.descriptor(), n, seed: 3, pauseEvery: 300, stop }),
      runWorker({ role: 'consume', ring: ring.descriptor(), bank: bank.sab, n, stop }),
    ]);
    expect(c['timeouts']).to.equal(0); // a 10 s poll timeout would be a lost wake-up
    expect(p['pushed']).to.equal(n);
    expect(c['errors']).to.equal(0);
    expect(c['popped']).to.equal(n);
    expect(c['sleeps']).to.be.greaterThan(0); // it really slept in poll(2) and was woken
    bank.closeWakeFds();
  });

  it('ring and kick write the wake fd only while the owner sleeps in poll(2)', () => {
    const a = nativeNetdev();
    const bank = DoorbellBank.create(2);
    const slot = bank.allocSlot();
    expect(bank.wakeFd(slot)).to.equal(-1);
    const fd = a.eventfd();
    bank.setWakeFd(slot, fd);
    expect(bank.wakeFd(slot)).to.equal(fd);
    expect(bank.sleeping(slot)).to.equal(BELL_AWAKE);
    bank.ring(slot);
    bank.kick(slot);
    expect(a.eventfdRead(fd)).to.equal(0); // awake: nothing written
    bank.prepareSleep(slot);
    expect(bank.sleeping(slot)).to.equal(BELL_SLEEPING);
    bank.ring(slot);
    expect(a.eventfdRead(fd)).to.equal(0); // asleep on the futex: woken there, no write(2)
    bank.endSleep(slot);
    bank.prepareSleep(slot, true);
    expect(bank.sleeping(slot)).to.equal(BELL_SLEEPING_FD);
    bank.ring(slot);
    bank.kick(slot);
    expect(a.eventfdRead(fd)).to.equal(2);
    bank.endSleep(slot);
    expect(bank.sleeping(slot)).to.equal(BELL_AWAKE);
    expect(() => bank.setWakeFd(slot, -1)).to.throw(RangeError);
    // The fd belongs to the slot: it survives the slot's release, and closeWakeFds closes it.
    bank.freeSlot(slot);
    expect(bank.wakeFd(bank.allocSlot())).to.equal(fd);
    bank.closeWakeFds();
    expect(bank.wakeFd(slot)).to.equal(-1);
    expect(() => a.eventfdRead(fd)).to.throw(/EBADF|Bad file descriptor/);
  });

  it('a worker asleep in poll(2) is woken by kick (a control message) with nothing in its rings', async () => {
    const bank = DoorbellBank.create(2);
    const ring = SpscRing.create(8, bank);
    let slot = -1;
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    // Sleeps the consumer entered (about to poll, ring empty, BELL_SLEEPING_FD announced).
    const entered = new SharedArrayBuffer(4);
    const sleepsEntered = (): number => Atomics.load(new Int32Array(entered), 0);
    // The consumer wants 1 item; it gets it only after the kick proves it was woken and went back to sleep.
    const res = runWorker({ role: 'consume', ring: ring.descriptor(), bank: bank.sab, n: 1, entered }, (m) => {
      if (m['ready']) {
        slot = m['slot'] as number;
        ready();
      }
    });
    await isReady;
    // The deadlines only bound a hang (a lost kick would show as a 10 s poll timeout in the result).
    const asleep = async (n: number): Promise<void> => {
      const end = Date.now() + 20000;
      while (sleepsEntered() < n) {
        if (Date.now() > end) throw new Error(`the consumer never entered sleep ${n}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await asleep(1);
    bank.kick(slot);
    await asleep(2);
    expect(ring.pushOne(0)).to.equal(true);
    const c = await res;
    expect(c['sleeps']).to.equal(2);
    expect(c['timeouts']).to.equal(0);
    expect(c['popped']).to.equal(1);
    bank.closeWakeFds();
  });
});
