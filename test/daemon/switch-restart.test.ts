/**
 * Restart test: ports (with options and VLAN settings), OpenFlow rules, thread counts and tunables
 * configured through the CLI come back after `tsvs stop` + start, and after kill -9 + start; the
 * switch forwards again by the restored rules.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ShowResult } from '@tsvs/control';
import { cleanup, cli, sandbox, startForeground, until, type Sandbox } from './helpers.js';
import { sample, txOf, udpFrame, macOf } from './traffic.js';

describe('switch e2e: configuration survives stop and kill -9', function () {
  this.timeout(90000);
  let sb: Sandbox;

  const ok = async (args: string[]): Promise<string> => {
    const r = await cli(sb, args);
    expect(r.code, `tsvs ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const state = async (): Promise<unknown> => {
    const s = JSON.parse(await ok(['show', '--json'])) as ShowResult;
    return {
      bridge: s.bridge.name,
      ports: s.bridge.ports.map((p) => ({ ...p, rxqs: p.rxqs.length })),
      threads: Object.fromEntries(Object.entries(s.threads).map(([k, t]) => [k, { count: t.count, auto: t.auto, alive: t.alive }])),
      tunables: s.tunables,
      rules: await ok(['dump-flows', '--no-stats']),
    };
  };
  const forwards = async (): Promise<void> => {
    const before = txOf(await sample(sb.socket), 'p2');
    await ok(['inject', 'p1', '--packet', udpFrame(macOf(7)), '--count', '10']);
    await until(async () => txOf(await sample(sb.socket), 'p2') === before + 10, 5000, '10 frames forwarded p1 -> p2');
  };

  before(() => (sb = sandbox()));
  after(() => cleanup(sb));

  it('restores ports, rules, threads and tunables after a graceful stop and after kill -9', async () => {
    let fg = await startForeground(sb, ['--bridge', 'brR', '--pidfile', sb.pidfile]);
    await ok(['add-port', 'p1', '--type', 'memory', '--option', 'n_rxq=2']);
    await ok(['add-port', 'p2', '--type', 'memory', '--ofport', '20']);
    await ok(['add-port', 'p3', '--type', 'memory', '--trunks', '10,20', '--vlan-mode', 'native-untagged', '--tag', '10']);
    await ok(['del-flows']);
    await ok(['add-flow', 'priority=100,in_port=1,udp,actions=output:20']);
    await ok(['add-flow', 'table=1,cookie=0x7,priority=5,idle_timeout=300,tcp,tp_dst=80,actions=mod_vlan_vid:10,resubmit(,2)']);
    await ok(['add-flow', 'priority=0,actions=NORMAL']);
    await ok(['set', 'threads', '--pmd', '2', '--handlers', '2', '--revalidators', '1']);
    await ok(['set', 'config', 'max-idle=30000', 'emc-insert-inv-prob=10', 'mac-aging-time=120', 'flow-limit=150000']);
    await forwards();
    const configured = await state();
    expect(configured).to.deep.include({ bridge: 'brR' });

    // Graceful stop: everything saved; flows flushed.
    expect((await ok(['stop']))).to.match(/stopped/);
    expect(await fg.exited).to.deep.equal({ code: 0, signal: null });
    fg = await startForeground(sb, ['--pidfile', sb.pidfile]);
    expect(await state(), 'after stop + start').to.deep.equal(configured);
    expect(JSON.parse(await ok(['dpctl', 'dump-flows', '--json'])), 'no datapath flow survives a restart').to.deep.equal([]);
    await forwards();

    // kill -9: no chance to save anything at exit; every change was already on disk.
    await ok(['add-flow', 'priority=50,arp,actions=FLOOD']);
    const withArp = await state();
    fg.proc.kill('SIGKILL');
    await fg.exited;
    fg = await startForeground(sb, ['--pidfile', sb.pidfile]);
    expect(await state(), 'after kill -9 + start').to.deep.equal(withArp);
    await forwards();
    const cfg = JSON.parse(readFileSync(sb.config, 'utf8')) as { threads: unknown; ports: unknown[] };
    expect(cfg.threads).to.deep.equal({ pmd: 2, handler: 2, revalidator: 1 });
    expect(cfg.ports[2]).to.deep.equal({ name: 'p3', type: 'memory', ofport: 2, options: {}, tag: 10, trunks: [10, 20], vlan_mode: 'native-untagged' });
    await ok(['stop']);
    await fg.exited;
  });

  it('a configured port that cannot be opened at start stays configured with its error; the rest comes up', async () => {
    const cfg = JSON.parse(readFileSync(sb.config, 'utf8')) as { ports: unknown[] };
    cfg.ports.push({ name: 'nosuchif0', type: 'system', ofport: 40, options: {} });
    writeFileSync(sb.config, JSON.stringify(cfg, null, 2));
    const fg = await startForeground(sb, ['--pidfile', sb.pidfile]);
    const s = JSON.parse(await ok(['show', '--json'])) as ShowResult;
    const bad = s.bridge.ports.find((p) => p.name === 'nosuchif0')!;
    expect(bad).to.include({ state: 'error', ofport: 40, odpPort: null });
    expect(bad.error).to.match(/^cannot open system port nosuchif0: /);
    expect(s.bridge.ports.filter((p) => p.state === 'up').map((p) => p.name)).to.deep.equal(['brR', 'p1', 'p2', 'p3']);
    expect(await ok(['show'])).to.match(/^ {4}Port nosuchif0: type system, ofport 40, odp port -, error "cannot open system port nosuchif0: .*"$/m);
    await forwards();
    expect(await ok(['del-port', 'nosuchif0'])).to.equal('deleted port nosuchif0 (ofport 40)\n');
    await ok(['stop']);
    await fg.exited;
  });
});
