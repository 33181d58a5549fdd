/**
 * The bridge's local port (odp port 0) as a real host interface (root): with CAP_NET_ADMIN the
 * daemon makes it a TAP device named after the bridge (@tsvs/netdev `internal`, as OVS's internal
 * port on the netdev datapath). Checked: the interface exists while the daemon runs (a TAP), `show`
 * lists it as `internal` with the reason, frames the host transmits on it arrive as packets on odp
 * port 0 (the port's rx counter and a datapath flow with in_port(0) and the frames' source MAC,
 * whose stats count the later ones), and the interface is gone after `tsvs stop` and after kill -9.
 *
 * Frames are sent from this process with a packet socket bound to the TAP (the netdev addon's
 * `openTx`/`send`): nothing is routed, no address is added; IPv6 is disabled on the TAP before it
 * is brought up, so the host adds no traffic of its own.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import type { DpctlFlow, ShowResult } from '@tsvs/control';
import { nativeNetdev } from '@tsvs/netdev';
import { cleanup, cli, sandbox, startForeground, until, type Sandbox } from './helpers.js';
import { sample, udpFrame } from './traffic.js';

const isRoot = process.getuid?.() === 0;
const SRC = '024c00000001';
const SRC_TEXT = '02:4c:00:00:00:01';

function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', name]).status === 0;
}

/** Sends `n` copies of `hex` on interface `ifname` from the host side (a packet socket). */
function sendFromHost(ifname: string, hex: string, n: number): void {
  const frame = Uint8Array.from(Buffer.from(hex, 'hex'));
  const a = nativeNetdev();
  const fd = a.openTx(ifname);
  try {
    const data = new Uint8Array(2048 * n);
    const offs = new Int32Array(n), lens = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      data.set(frame, i * 2048);
      offs[i] = i * 2048;
      lens[i] = frame.length;
    }
    expect(a.send(fd, data, offs, lens, n, new Int32Array(2 * n))).to.equal(n);
  } finally {
    a.close(fd);
  }
}

describe('switch e2e: the local port is a TAP interface named after the bridge (root)', function () {
  this.timeout(60000);
  let sb: Sandbox;
  const bridge = `tsvsL${process.pid}`.slice(0, 15);

  const ok = async (args: string[]): Promise<string> => {
    const r = await cli(sb, args);
    expect(r.code, `tsvs ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(function () {
    if (!isRoot) {
      console.log('    skipped: the local port is a host interface only with CAP_NET_ADMIN (run as root)');
      this.skip();
    }
    sb = sandbox();
  });
  after(async () => {
    if (sb) await cleanup(sb);
  });

  it('exists while the daemon runs, is shown as internal, receives the host frames on odp port 0, and is gone after stop', async () => {
    expect(linkExists(bridge), `no interface ${bridge} before the start`).to.equal(false);
    const fg = await startForeground(sb, ['--bridge', bridge, '--pmd-threads', '1']);
    expect(linkExists(bridge)).to.equal(true);
    expect(spawnSync('ip', ['-d', 'link', 'show', bridge]).stdout.toString()).to.match(/\btun type tap\b/);

    const show = JSON.parse(await ok(['show', '--json'])) as ShowResult;
    expect(show.bridge.ports[0]).to.deep.include({ name: bridge, type: 'internal', odpPort: 0, state: 'up' });
    expect((show.extensions['switch'] as { local_port: unknown }).local_port).to.deep.include({ name: bridge, type: 'internal' });
    expect(await ok(['show'])).to.match(new RegExp(`^ {4}Port ${bridge}: type internal, ofport LOCAL, odp port 0, up$`, 'm'));
    expect(fg.stderr()).to.match(/"type":"internal"[^\n]*"msg":"local port/);

    expect(spawnSync('sysctl', ['-qw', `net.ipv6.conf.${bridge}.disable_ipv6=1`]).status).to.equal(0);
    expect(spawnSync('ip', ['link', 'set', bridge, 'up']).status).to.equal(0);
    const rx = async (): Promise<number> => (await sample(sb.socket)).ports.find((p) => p.odpPort === 0)!.rxPackets;
    const rx0 = await rx();
    sendFromHost(bridge, udpFrame(SRC), 5);
    await until(async () => (await rx()) >= rx0 + 5, 5000, 'the 5 host frames received on the local port');
    const mine = async (): Promise<DpctlFlow | undefined> =>
      (JSON.parse(await ok(['dpctl', 'dump-flows', '--json'])) as DpctlFlow[]).find((f) => /\bin_port\(0\)/.test(f.match ?? '') && (f.match ?? '').includes(`src=${SRC_TEXT}`));
    await until(async () => (await mine()) !== undefined, 5000, 'a datapath flow for the host frames, in_port(0)');
    sendFromHost(bridge, udpFrame(SRC), 5);
    await until(async () => ((await mine())?.packets ?? 0) >= 1, 5000, 'later host frames hit that flow');

    await ok(['stop']);
    expect(await fg.exited).to.deep.equal({ code: 0, signal: null });
    expect(linkExists(bridge), 'the TAP is deleted by tsvs stop').to.equal(false);
  });

  it('is gone after kill -9', async () => {
    const fg = await startForeground(sb, ['--bridge', bridge]);
    expect(linkExists(bridge)).to.equal(true);
    fg.proc.kill('SIGKILL');
    expect((await fg.exited).signal).to.equal('SIGKILL');
    await until(() => !linkExists(bridge), 2000, `${bridge} to disappear with the process`);
  });
});
