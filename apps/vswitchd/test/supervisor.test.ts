import { expect } from 'chai';
import { Supervisor, type RunningWorker } from '@tsvs/vswitchd';

const SKELETON = new URL('../dist/workers/skeleton.js', import.meta.url);

function quietLogger() {
  const lines: { msg: string; obj: object }[] = [];
  const push = (obj: object, msg: string): void => void lines.push({ obj, msg });
  return { lines, logger: { info: push, warn: push, error: push } };
}

/** Waits until `cond` holds, polling every 10 ms; fails after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('vswitchd/Supervisor with real worker threads', function () {
  this.timeout(20000);
  let sup: Supervisor;
  let started: RunningWorker[];
  let exits: { slot: number; intended: boolean; code: number; error?: Error }[];

  beforeEach(() => {
    started = [];
    exits = [];
    sup = new Supervisor({ logger: quietLogger().logger });
    sup.defineKind('handler', {
      url: SKELETON,
      onStart: (w) => started.push(w),
      onExit: (w, e) => exits.push({ slot: w.slot, intended: e.intended, code: e.code, ...(e.error ? { error: e.error } : {}) }),
    });
  });

  afterEach(async () => {
    await sup.stopAll();
  });

  it('starts N workers, each ready with its own threadId, and counts no restarts', async () => {
    await sup.setCount('handler', 3);
    const snap = sup.snapshot('handler');
    expect(snap.count).to.equal(3);
    expect(snap.alive).to.equal(3);
    expect(snap.restarts).to.equal(0);
    expect(new Set(snap.threads.map((t) => t.threadId)).size).to.equal(3);
    expect(started.map((w) => [w.slot, w.generation]).sort((a, b) => a[0]! - b[0]!)).to.deep.equal([[0, 0], [1, 0], [2, 0]]);
  });

  for (const how of ['throw', 'exit', 'terminate'] as const) {
    it(`restarts a worker that dies by ${how} within 1 s, in the same slot, and counts it`, async () => {
      await sup.setCount('handler', 2);
      const victim = sup.snapshot('handler').threads[1]!.threadId!;
      const t0 = Date.now();
      sup.crash('handler', 1, how);
      await until(() => sup.snapshot('handler').threads[1]!.generation === 1 && sup.snapshot('handler').alive === 2, 5000, 'the restart');
      const elapsed = Date.now() - t0;
      const snap = sup.snapshot('handler');
      expect(elapsed, 'crash to replacement ready').to.be.below(1000);
      expect(snap.restarts).to.equal(1);
      expect(snap.threads[1]!.restarts).to.equal(1);
      expect(snap.threads[1]!.threadId).to.not.equal(victim);
      expect(snap.threads[1]!.lastDowntimeMs).to.be.a('number').below(1000);
      expect(snap.threads[0]!.restarts, 'the other slot is untouched').to.equal(0);
      const death = exits.find((e) => !e.intended)!;
      expect(death.slot).to.equal(1);
      if (how === 'throw') expect(death.error?.message).to.match(/injected crash in handler thread 1/);
      if (how === 'exit') expect(death.code, 'a clean exit nobody asked for is still a death').to.equal(0);
      // onStart ran again for the replacement: where a real kind hands queues to the new thread.
      expect(started.filter((w) => w.slot === 1).map((w) => w.generation)).to.deep.equal([0, 1]);
    });
  }

  it('keeps restarting a worker that keeps dying, and counts every death', async () => {
    await sup.setCount('handler', 1);
    for (let i = 1; i <= 4; i++) {
      sup.crash('handler', 0, 'throw');
      await until(() => sup.snapshot('handler').threads[0]!.generation === i && sup.snapshot('handler').alive === 1, 5000, `restart ${i}`);
      // Crash-loop backoff still restarts within 1 s.
      expect(sup.snapshot('handler').threads[0]!.lastDowntimeMs, `restart ${i}`).to.be.below(1000);
    }
    expect(sup.restarts('handler')).to.equal(4);
  });

  it('grows and shrinks at runtime; a stopped worker is not a death', async () => {
    await sup.setCount('handler', 1);
    await sup.setCount('handler', 4);
    expect(sup.snapshot('handler').alive).to.equal(4);
    await sup.setCount('handler', 2);
    expect(sup.snapshot('handler').count).to.equal(2);
    expect(sup.restarts('handler')).to.equal(0);
    expect(exits.map((e) => [e.slot, e.intended]).sort((a, b) => Number(a[0]) - Number(b[0]))).to.deep.equal([[2, true], [3, true]]);
    await new Promise((r) => setTimeout(r, 150));
    expect(sup.snapshot('handler').alive, 'no restart of removed slots').to.equal(2);
  });

  it('stopAll stops every worker and restarts none', async () => {
    await sup.setCount('handler', 2);
    await sup.stopAll();
    expect(exits.every((e) => e.intended)).to.equal(true);
    expect(exits).to.have.length(2);
    expect(() => sup.crash('handler', 0, 'throw')).to.throw(/not running/);
  });
});
