/**
 * Thread-tuning test: under traffic on memory ports (a two-rxq input port; every frame a new
 * datapath flow, so PMDs, handlers and revalidators all work), `tsvs set threads` changes each
 * count up and down. After each change forwarding continues, `pmd rxq-show` lists the new PMDs
 * with every rxq assigned, `upcall show` the new revalidators and handlers, the datapath flows
 * are kept, and at most one burst per rxq is lost per change.
 */
import { expect } from 'chai';
import { callDaemon } from '@tsvs/control';
import { cleanup, cli, sandbox, sleep, startForeground, until, type Sandbox } from './helpers.js';
import { Traffic, sample, txOf } from './traffic.js';

describe('switch e2e: thread counts change under traffic', function () {
  this.timeout(120000);
  let sb: Sandbox;

  const ok = async (args: string[]): Promise<string> => {
    const r = await cli(sb, args);
    expect(r.code, `tsvs ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const json = async <T>(args: string[]): Promise<T> => JSON.parse(await ok([...args, '--json'])) as T;

  before(async () => {
    sb = sandbox();
    await startForeground(sb, ['--pmd-threads', '1', '--handler-threads', '1', '--revalidator-threads', '1']);
    await ok(['add-port', 'p1', '--type', 'memory', '--option', 'n_rxq=2']);
    await ok(['add-port', 'p2', '--type', 'memory']);
    await ok(['del-flows']);
    await ok(['add-flow', 'priority=20,in_port=1,dl_src=00:00:00:00:00:01,actions=drop']);
    await ok(['add-flow', 'priority=10,in_port=1,actions=output:2']);
    await ok(['set', 'config', 'max-idle=60000']); // keep the flows: the table must survive the changes
  });
  after(() => cleanup(sb));

  it('pmd, handler and revalidator counts go up and down; rxqs reassigned, flows kept, forwarding continues', async () => {
    const tx0 = txOf(await sample(sb.socket), 'p2');
    const traffic = await Traffic.start(sb.socket, 'p1', { newFlows: true, burst: 16, periodMs: 5, rxqs: 2 });
    const RXQS = 4; // br0, p1 (2), p2
    try {
      await sleep(500);
      const steps: [string, number][] = [['--pmd', 2], ['--handlers', 2], ['--revalidators', 2], ['--pmd', 1], ['--handlers', 1], ['--revalidators', 1]];
      const counts = { '--pmd': 1, '--handlers': 1, '--revalidators': 1 } as Record<string, number>;
      for (const [flag, n] of steps) {
        // The CLI for the change and the two reports; the control socket for the other checks (fewer
        // CLI processes competing with the traffic for the two CPUs).
        const flowsBefore = (await callDaemon(sb.socket, 'dpctl/dump-flows', { terse: true })).flows.length;
        const txBefore = txOf(await sample(sb.socket), 'p2');
        counts[flag] = n;
        const r = await json<{ threads: { pmd: number; handler: number; revalidator: number } }>(['set', 'threads', flag, String(n)]);
        expect(r.threads, `${flag} ${n}`).to.deep.equal({ pmd: counts['--pmd'], handler: counts['--handlers'], revalidator: counts['--revalidators'] });
        // The PMDs and the rxqs they poll.
        const rxq = (await callDaemon(sb.socket, 'pmd/rxq-show', {})).pmds;
        expect(rxq.map((p) => p.pmdId), `${flag} ${n}: pmd ids`).to.deep.equal([...Array(counts['--pmd']).keys()]);
        expect(rxq.flatMap((p) => p.rxqs.map((q) => `${q.port}/${q.rxq}`)).sort(), 'every rxq polled once').to.deep.equal(['br0/0', 'p1/0', 'p1/1', 'p2/0']);
        if (counts['--pmd'] > 1) expect(rxq.every((p) => p.rxqs.length > 0), 'rxqs spread over the PMDs').to.equal(true);
        const text = await ok(['pmd', 'rxq-show']);
        expect(text.match(/^pmd thread numa_id 0 core_id \d+:$/gm)).to.have.length(counts['--pmd']);
        // Revalidators and handlers.
        const up = (await callDaemon(sb.socket, 'upcall/show', {})).data as { revalidators: unknown[]; handlers: { handlers: unknown[] } };
        expect(up.revalidators, 'revalidators').to.have.length(counts['--revalidators']);
        expect(up.handlers.handlers, 'handlers').to.have.length(counts['--handlers']);
        expect((await ok(['upcall', 'show'])).match(/^ {2}\d+: \(keys \d+\)$/gm)).to.have.length(counts['--revalidators']);
        // The flow table was kept (only grown by the traffic; nothing idles out at max-idle 60 s).
        expect((await callDaemon(sb.socket, 'dpctl/dump-flows', { terse: true })).flows.length, 'flows kept').to.be.at.least(flowsBefore);
        // Forwarding continues.
        await until(async () => txOf(await sample(sb.socket), 'p2') > txBefore + 100, 5000, `forwarding after ${flag} ${n}`);
        const s = await callDaemon(sb.socket, 'show', {});
        expect(s.threads['pmd']).to.include({ count: counts['--pmd'], alive: counts['--pmd'], restarts: 0 });
        expect(s.threads['handler']).to.include({ count: counts['--handlers'], alive: counts['--handlers'], restarts: 0 });
        expect(s.threads['revalidator']).to.include({ count: counts['--revalidators'], alive: counts['--revalidators'], restarts: 0 });
      }
      await traffic.stop();
      // At most one burst (32 frames) per rxq lost per change.
      const bound = 32 * RXQS * steps.length;
      let out = 0;
      await until(async () => {
        out = txOf(await sample(sb.socket), 'p2') - tx0;
        return traffic.queued - out <= bound;
      }, 10000, 'the frames out of p2');
      await sleep(300);
      out = txOf(await sample(sb.socket), 'p2') - tx0;
      expect(traffic.queued - out, `lost of ${traffic.queued}`).to.be.within(0, bound);
      expect(traffic.errors).to.equal(0);
    } finally {
      await traffic.stop();
    }
  });
});
