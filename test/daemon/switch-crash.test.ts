/**
 * Crash test: under traffic on memory ports, a PMD, a handler and a revalidator thread are made to
 * die (an uncaught exception in the thread, and Worker.terminate()). Forwarding must resume within
 * 1 s (the longest time p2's tx counter does not grow, sampled every 20 ms), the daemon keeps
 * running, `tsvs show` counts each restart, and no received packet is lost on the way (every frame
 * queued on p1 comes out of p2), but for what a terminated thread held at that instant.
 *
 * The traffic needs all three kinds: every frame has a new source MAC and a rule matches dl_src,
 * so every frame misses the datapath (PMD), is translated and forwarded by a handler, and the
 * revalidators work through a growing flow table.
 */
import { expect } from 'chai';
import { RpcClient, type ShowResult } from '@tsvs/control';
import { cleanup, cli, sandbox, sleep, startForeground, until, type Foreground, type Sandbox } from './helpers.js';
import { Traffic, longestStall, sample, txOf, watchTx } from './traffic.js';

describe('switch e2e: threads that die under traffic are restarted and forwarding resumes', function () {
  this.timeout(60000);
  let sb: Sandbox;
  let fg: Foreground;

  const ok = async (args: string[]): Promise<string> => {
    const r = await cli(sb, args);
    expect(r.code, `tsvs ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async () => {
    sb = sandbox();
    fg = await startForeground(sb, ['--pmd-threads', '1', '--handler-threads', '1', '--revalidator-threads', '1']);
    await ok(['add-port', 'p1', '--type', 'memory']);
    await ok(['add-port', 'p2', '--type', 'memory']);
    await ok(['del-flows']);
    await ok(['add-flow', 'priority=20,in_port=1,dl_src=00:00:00:00:00:01,actions=drop']);
    await ok(['add-flow', 'priority=10,in_port=1,actions=output:2']);
  });
  after(() => cleanup(sb));

  const cases = [
    ['pmd', 'throw'], ['pmd', 'terminate'], ['handler', 'throw'], ['handler', 'terminate'], ['revalidator', 'throw'], ['revalidator', 'terminate'],
  ] as const;
  let expectedRestarts = { pmd: 0, handler: 0, revalidator: 0 };

  for (const [kind, how] of cases) {
    it(`${kind} thread killed by ${how}: restarted, forwarding stalls < 1 s, nothing lost, counted in show`, async () => {
      const before = JSON.parse(await ok(['show', '--json'])) as ShowResult;
      const victim = before.threads[kind].threads[0]!.threadId;
      const tx0 = txOf(await sample(sb.socket), 'p2');
      const traffic = await Traffic.start(sb.socket, 'p1', { newFlows: true, burst: 16, periodMs: 5 });
      let done = false;
      const growth = watchTx(sb.socket, 'p2', 20, () => done);
      await sleep(500);
      const c = await RpcClient.connect(sb.socket);
      const crashedAt = Date.now();
      try {
        expect((await c.call('thread/crash', { kind, slot: 0, how })).threadId).to.equal(victim);
      } finally {
        c.close();
      }
      await sleep(1500);
      done = true;
      const g = await growth;
      await traffic.stop();
      const stall = longestStall(g, crashedAt - 200, crashedAt + 1400);
      expect(stall, `longest forwarding stall around the crash (ms); growth samples ${g.length}`).to.be.below(1000);
      // Conservation: every frame the port accepted went through a PMD and a handler to p2, except
      // (terminate only, which can stop a thread anywhere) the burst a PMD held (<= 32 frames) or
      // the batch a handler held (<= 64 upcalls). An exception is thrown between bursts/batches.
      const tolerance = how === 'terminate' ? (kind === 'pmd' ? 32 : kind === 'handler' ? 64 : 0) : 0;
      let out = 0;
      await until(async () => {
        out = txOf(await sample(sb.socket), 'p2') - tx0;
        return traffic.queued - out <= tolerance;
      }, 5000, `the ${traffic.queued} frames out of p2`);
      await sleep(200);
      out = txOf(await sample(sb.socket), 'p2') - tx0;
      expect(traffic.queued - out, `frames lost of ${traffic.queued}`).to.be.within(0, tolerance);
      expect(traffic.errors).to.equal(0);
      expectedRestarts = { ...expectedRestarts, [kind]: expectedRestarts[kind] + 1 };
      const after = JSON.parse(await ok(['show', '--json'])) as ShowResult;
      for (const k of ['pmd', 'handler', 'revalidator'] as const) {
        expect(after.threads[k].restarts, k).to.equal(expectedRestarts[k]);
        expect(after.threads[k].alive, k).to.equal(1);
      }
      const t = after.threads[kind].threads[0]!;
      expect(t.threadId).to.not.equal(victim);
      expect(t.lastDowntimeMs, 'death to replacement').to.be.a('number').below(1000);
      expect(await ok(['show'])).to.match(new RegExp(`^ {4}${kind} +1 +alive 1 +restarts ${expectedRestarts[kind]}$`, 'm'));
      expect(fg.proc.exitCode).to.equal(null);
    });
  }

  it('the daemon log has one line per death and per restart', async () => {
    await ok(['set', 'log-level', 'info']);
    const log = fg.stderr();
    expect(log.match(/"msg":"(pmd|handler|revalidator) thread 0 died; restarting"/g)).to.have.length(cases.length);
    expect(log.match(/"msg":"thread restarted"/g)).to.have.length(cases.length);
  });
});
