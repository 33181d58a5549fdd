import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostNames, leftovers, QUIET_IPV6, sweep, TopologyError, up } from '../../tools/netns/topology.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const isRoot = process.getuid?.() === 0;
const sh = (cmd: string[]): string => spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' }).stdout;
const P = `tt${process.pid}`; // this run's prefixes: P + a letter

function nothingLeft(prefix: string): void {
  expect(leftovers(prefix)).to.deep.equal({ namespaces: [], links: [] });
}

function offloads(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of sh(args).split('\n')) {
    const m = /^([a-z-]+): (on|off)/.exec(l);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Starts topology-child.ts; resolves once it printed "up". */
function child(prefix: string, mode = 'wait'): Promise<ReturnType<typeof spawn>> {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'topology-child.ts'), prefix, mode], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('up\n')) resolve(p);
    });
    p.once('exit', (c) => reject(new Error(`child exited ${c} before up`)));
  });
}

const exited = (p: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null }> =>
  new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r({ code: p.exitCode, signal: p.signalCode }) : p.once('exit', (code, signal) => r({ code, signal }))));

describe('tools/netns topology (root)', function () {
  this.timeout(30000);
  before(function () {
    if (!isRoot) {
      console.log('    skipped: the topology tool needs root (network namespaces, veth pairs)');
      this.skip();
    }
  });
  after(() => { if (isRoot) for (const s of 'abcdefghi') sweep(P + s); });

  it('creates N hosts: namespace, veth with the outer end up in the root namespace, addresses inside only, offloads off', () => {
    const t = up({ hosts: 3, prefix: P + 'a', subnet: '10.3.7' });
    try {
      expect(t.hosts.map((h) => [h.ns, h.outer, h.inner, h.ip4, h.ip6])).to.deep.equal([0, 1, 2].map((i) =>
        [`${P}a-h${i}`, `${P}a-${i}`, 'eth0', `10.3.7.${i + 1}`, `fd00::${i + 1}`]));
      expect(new Set(t.hosts.map((h) => h.mac)).size).to.equal(3);
      for (const h of t.hosts) {
        expect(Buffer.byteLength(h.outer)).to.be.at.most(15);
        expect(sh(['ip', 'netns', 'list'])).to.contain(h.ns);
        const outer = sh(['ip', '-o', 'link', 'show', h.outer]);
        expect(outer).to.match(/state UP/);
        expect(sh(['ip', '-o', 'addr', 'show', 'dev', h.outer]), 'outer end: no address at all').to.equal('');
        const inner = sh(['ip', '-n', h.ns, '-o', 'addr', 'show', 'dev', 'eth0']);
        expect(inner).to.contain(`inet ${h.ip4}/24`).and.to.contain(`inet6 ${h.ip6}/64`);
        expect(sh(['ip', '-n', h.ns, '-o', 'link', 'show', 'eth0'])).to.contain(`link/ether ${h.mac}`);
        expect(sh(['ip', '-n', h.ns, '-o', 'link', 'show', 'lo'])).to.match(/UP/);
        for (const o of [offloads(['ethtool', '-k', h.outer]), offloads(['ip', 'netns', 'exec', h.ns, 'ethtool', '-k', 'eth0'])]) {
          for (const k of ['rx-checksumming', 'tx-checksumming', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload']) {
            expect(o[k], k).to.equal('off');
          }
        }
      }
      expect(sh(['ip', '-o', 'addr', 'show'])).to.not.contain('10.3.7.');
      expect(leftovers(P + 'a')).to.deep.equal({ namespaces: [0, 1, 2].map((i) => `${P}a-h${i}`), links: [0, 1, 2].map((i) => `${P}a-${i}`) });
    } finally {
      t.down();
    }
    nothingLeft(P + 'a');
    t.down(); // idempotent
    nothingLeft(P + 'a');
  });

  it('a host sends nothing on its own: no router solicitations, no DAD probes, no repeated MLD reports', async () => {
    const t = up({ hosts: 1, prefix: P + 'i', subnet: '10.3.8' });
    try {
      const h = t.hosts[0]!;
      for (const [k, v] of Object.entries(QUIET_IPV6)) {
        expect(sh(['ip', 'netns', 'exec', h.ns, 'cat', `/proc/sys/net/ipv6/conf/eth0/${k}`]).trim(), k).to.equal(v);
      }
      // Linux's defaults send a DAD probe within ~1 s of link up, a router solicitation after it
      // and another 4 s later, and MLD report repeats for up to 1 s: a 6 s capture from just after
      // `up` sees some of each. The MLD reports at link up itself are allowed (they cannot be turned off).
      const cap = spawn('tcpdump', ['-i', h.outer, '-n', '-l', '-e'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      cap.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      cap.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
      const end = Date.now() + 10_000;
      while (!err.includes('listening on') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(err, 'tcpdump started').to.contain('listening on');
      await new Promise((r) => setTimeout(r, 6000));
      cap.kill('SIGINT');
      await exited(cap);
      const frames = out.split('\n').filter((l) => l.trim() !== '' && !l.includes('multicast listener report'));
      expect(frames, 'frames sent by an idle host').to.deep.equal([]);
    } finally {
      t.down();
    }
    nothingLeft(P + 'i');
  });

  it('two runs with different prefixes coexist; taking one down leaves the other', () => {
    const a = up({ hosts: 2, prefix: P + 'b' });
    const b = up({ hosts: 2, prefix: P + 'c' });
    a.down();
    nothingLeft(P + 'b');
    expect(leftovers(P + 'c').links).to.have.length(2);
    b.down();
    nothingLeft(P + 'c');
  });

  it('a failure half-way removes what it made and names the failing command', () => {
    // Host 2's outer name is taken by someone else (a link we make): up must fail there.
    const taken = hostNames(P + 'd', 2).outer;
    spawnSync('ip', ['link', 'add', taken, 'type', 'veth', 'peer', 'name', `${P}dx`]);
    try {
      expect(() => up({ hosts: 4, prefix: P + 'd' })).to.throw(TopologyError, new RegExp(`^ip link add ${taken} type veth peer name eth0 netns ${P}d-h2: `));
      expect(leftovers(P + 'd')).to.deep.equal({ namespaces: [], links: [taken] });
    } finally {
      spawnSync('ip', ['link', 'del', taken]);
    }
    nothingLeft(P + 'd');
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`cleans up when the process gets ${sig} (and then dies of it)`, async () => {
      const p = await child(P + 'e');
      expect(leftovers(P + 'e').links).to.have.length(2);
      p.kill(sig);
      expect(await exited(p)).to.deep.equal({ code: null, signal: sig });
      nothingLeft(P + 'e');
    });
  }

  it('cleans up when the process dies of an uncaught exception', async () => {
    const p = await child(P + 'f', 'throw');
    expect((await exited(p)).code).to.equal(1);
    nothingLeft(P + 'f');
  });

  it('sweep removes what a SIGKILLed run left, and is idempotent', async () => {
    const p = await child(P + 'g');
    p.kill('SIGKILL');
    await exited(p);
    expect(leftovers(P + 'g').namespaces).to.have.length(2);
    expect(sweep(P + 'g')).to.deep.equal({ namespaces: [`${P}g-h0`, `${P}g-h1`], links: [`${P}g-0`, `${P}g-1`] });
    nothingLeft(P + 'g');
    expect(sweep(P + 'g')).to.deep.equal({ namespaces: [], links: [] });
  });

  it('CLI: up (persistent) / show / down / sweep; bad usage is one line and exit 2', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'tools/netns/cli.ts', ...args], { cwd: root, encoding: 'utf8' });
    const r = cli('up', '--hosts', '2', '--prefix', P + 'h', '--json');
    expect(r.status, r.stderr).to.equal(0);
    const hosts = (JSON.parse(r.stdout) as { hosts: { outer: string }[] }).hosts;
    expect(hosts.map((h) => h.outer)).to.deep.equal([`${P}h-0`, `${P}h-1`]);
    expect(leftovers(P + 'h').links).to.have.length(2); // still there after the CLI exited
    expect(JSON.parse(cli('show', '--prefix', P + 'h', '--json').stdout)).to.deep.equal({ hosts });
    expect(cli('down', '--prefix', P + 'h').stdout).to.equal(`removed 2 namespaces, 2 links: ${P}h-h0 ${P}h-h1 ${P}h-0 ${P}h-1\n`);
    nothingLeft(P + 'h');
    expect(cli('sweep', P + 'h').stdout).to.equal('removed 0 namespaces, 0 links\n');
    const bad = cli('up', '--hosts', 'x');
    expect(bad.status).to.equal(2);
    expect(bad.stderr.split('\n')[0]).to.equal("netns: up needs --hosts N (got 'x')");
    const badPrefix = cli('up', '--hosts', '1', '--prefix', 'Bad-Prefix');
    expect(badPrefix.status).to.equal(1);
    expect(badPrefix.stderr).to.equal("netns: bad prefix 'Bad-Prefix' (want a lower-case letter then up to 10 letters or digits)\n");
  });

  it('rejects bad options with one line', () => {
    expect(() => up({ hosts: 0, prefix: P + 'a' })).to.throw(TopologyError, "bad host count '0' (want 1..100)");
    expect(() => up({ hosts: 1, prefix: P + 'a', subnet: '192.168.1' })).to.throw(TopologyError, "bad subnet '192.168.1' (want 10.X.Y, private range)");
    expect(() => up({ hosts: 1, prefix: 'x'.repeat(12) })).to.throw(TopologyError, /^bad prefix/);
  });
});
