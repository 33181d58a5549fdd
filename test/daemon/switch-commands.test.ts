/**
 * Every switch command through the real CLI against one real daemon (separate processes, memory
 * ports): its text output, its --json, and its error paths (one line on stderr, exit 2 for bad
 * usage or input). The daemon is shared by the tests of this file, which run in order.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '@tsvs/capture';
import type { DpctlFlow, OfRuleJson, PacketInJson, ShowResult } from '@tsvs/control';
import { CLI, ROOT, cleanup, cli, sandbox, sleep, startForeground, until, type Foreground, type Sandbox } from './helpers.js';
import { sample, txOf, udpFrame, macOf } from './traffic.js';

const PCAPS = join(ROOT, '../shared/pcaps');
/** ICMP echo request 00:..:01 -> 00:..:02, 192.168.0.1 -> 192.168.0.2, 42 bytes. */
const ICMP = '00000000000200000000000108004500001c0001000040010000c0a80001c0a800020800000000000000';

describe('switch e2e: every command, its --json and its errors (one shared daemon)', function () {
  this.timeout(60000);
  let sb: Sandbox;
  let fg: Foreground;

  const ok = async (args: string[]): Promise<string> => {
    const r = await cli(sb, args);
    expect(r.code, `tsvs ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const json = async <T>(args: string[]): Promise<T> => JSON.parse(await ok([...args, '--json'])) as T;
  /** Runs a command that must fail with `code` and exactly one line on stderr matching `re`. */
  const fails = async (args: string[], code: number, re: RegExp): Promise<string> => {
    const r = await cli(sb, args);
    expect(r.code, `tsvs ${args.join(' ')}: ${r.stdout}${r.stderr}`).to.equal(code);
    expect(r.stdout, args.join(' ')).to.equal('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, `${args.join(' ')}: ${r.stderr}`).to.have.length(1);
    expect(lines[0]).to.match(/^tsvs: /);
    expect(lines[0]).to.match(re);
    return lines[0]!;
  };
  const show = (): Promise<ShowResult> => json<ShowResult>(['show']);
  const tx = async (port: string): Promise<number> => txOf(await sample(sb.socket), port);

  before(async () => {
    sb = sandbox();
    fg = await startForeground(sb, ['--pmd-threads', '1', '--handler-threads', '1', '--revalidator-threads', '1']);
  });
  after(async () => {
    await cleanup(sb);
  });

  it('add-port: memory ports with options and VLANs; text and --json', async () => {
    expect(await ok(['add-port', 'p1', '--type', 'memory', '--option', 'n_rxq=2'])).to.equal('added port p1: type memory, ofport 1, odp port 1\n');
    const p2 = await json<{ name: string; ofport: number; odpPort: number }>(['add-port', 'p2', '--type', 'memory', '--option', `tx_pcap=${sb.dir}/p2.pcap`]);
    expect(p2).to.deep.include({ name: 'p2', type: 'memory', ofport: 2, odpPort: 2 });
    expect(await ok(['add-port', 'p3', '--type', 'memory', '--ofport', '30', '--tag', '10'])).to.match(/^added port p3: type memory, ofport 30, odp port 3, tag 10$/m);
    const s = await show();
    const ports = s.bridge.ports.map((p) => [p.name, p.type, p.ofport, p.odpPort, p.state]);
    // The local port: a TAP (internal) with CAP_NET_ADMIN, else memory; memory too, with the reason,
    // when the TAP cannot be made (e.g. another daemon's br0 exists). switch-local-port tests it.
    const local = (s.extensions['switch'] as { local_port: { name: string; type: string; reason: string } }).local_port;
    if (process.getuid?.() === 0 && !/could not be created/.test(local.reason)) expect(local.type).to.equal('internal');
    expect(ports).to.deep.equal([['br0', local.type, 65534, 0, 'up'], ['p1', 'memory', 1, 1, 'up'], ['p2', 'memory', 2, 2, 'up'], ['p3', 'memory', 30, 3, 'up']]);
    expect(s.bridge.ports[1]!.rxqs).to.deep.equal([{ rxq: 0, pmd: 0 }, { rxq: 1, pmd: 0 }]);
    expect(s.bridge.ports[3]).to.include({ tag: 10 });
    const cfg = JSON.parse(readFileSync(sb.config, 'utf8')) as { ports: unknown[] };
    expect(cfg.ports).to.deep.equal([
      { name: 'p1', type: 'memory', ofport: 1, options: { n_rxq: '2' } },
      { name: 'p2', type: 'memory', ofport: 2, options: { tx_pcap: `${sb.dir}/p2.pcap` } },
      { name: 'p3', type: 'memory', ofport: 30, options: {}, tag: 10 },
    ]);
    const text = await ok(['show']);
    expect(text).to.match(/^ {4}Port p1: type memory, ofport 1, odp port 1, up, options \{n_rxq=2\}\n {8}rxq 0: pmd 0\n {8}rxq 1: pmd 0$/m);
    expect(text).to.match(new RegExp(`^ {4}Port br0: type ${local.type}, ofport LOCAL, odp port 0, up$`, 'm'));
    expect(text).to.match(/^ {4}datapath br0: lookups: hit:0 missed:0 lost:0, flows: 0$/m);
  });

  it('add-port refuses duplicates, unknown types, bad options and names with one line, exit 2, and changes nothing', async () => {
    const before = readFileSync(sb.config, 'utf8');
    await Promise.all([
      fails(['add-port', 'p1', '--type', 'memory'], 2, /port p1 already exists/),
      fails(['add-port', 'p9', '--type', 'memory', '--ofport', '2'], 2, /ofport 2 is in use by port p2/),
      fails(['add-port', 'br0', '--type', 'memory'], 2, /bridge's own port/),
      fails(['add-port', 'p9', '--type', 'bogus'], 2, /bogus/),
      fails(['add-port', 'p9', '--type', 'memory', '--option', 'n_rxq=abc'], 2, /n_rxq/),
      fails(['add-port', 'p9', '--type', 'memory', '--option', 'colour=red'], 2, /colour/),
      fails(['add-port', 'p9', '--type', 'memory', '--option', 'novalue'], 2, /KEY=VALUE/),
      fails(['add-port', 'bad/name', '--type', 'memory'], 2, /name/),
      fails(['add-port', 'p9', '--type', 'memory', '--trunks', '10,x'], 2, /trunks/),
      fails(['add-port', 'p9', '--type', 'pcap-file', '--option', `rx_pcap=${sb.dir}/missing.pcap`], 2, /missing\.pcap/),
      fails(['add-port', 'nosuchif0', '--type', 'system'], 2, /nosuchif0/),
    ]);
    expect(readFileSync(sb.config, 'utf8')).to.equal(before);
    expect((await show()).bridge.ports.map((p) => p.name)).to.deep.equal(['br0', 'p1', 'p2', 'p3']);
    expect(fg.proc.exitCode).to.equal(null);
  });

  it('del-port removes a port (config too); an unknown port is exit 2', async () => {
    await ok(['add-port', 'tmp', '--type', 'memory']);
    expect(await json(['del-port', 'tmp'])).to.deep.equal({ name: 'tmp', ofport: 3, odpPort: 4 });
    expect((await show()).bridge.ports.map((p) => p.name)).to.not.include('tmp');
    expect(readFileSync(sb.config, 'utf8')).to.not.contain('"tmp"');
    await fails(['del-port', 'tmp'], 2, /no port tmp/);
    await fails(['del-port', 'br0'], 2, /bridge's own port/);
  });

  it('inject + dpctl: explicit datapath flows forward between memory ports; dump-flows (plain, -m, --terse, --json), get, mod, del', async () => {
    await ok(['revalidator', 'pause']); // dpctl flows are not tied to rules: keep revalidators off them
    await ok(['dpctl', 'del-flows']);
    const ufid = (await ok(['dpctl', 'add-flow', 'in_port(p1),eth(),eth_type(0x0800),ipv4(frag=no)', '2'])).trim();
    expect(ufid).to.match(/^ufid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const tx0 = await tx('p2');
    expect(await ok(['inject', 'p1', '--packet', ICMP, '--count', '100'])).to.equal('p1: 100 frames received\n');
    expect(await json(['inject', 'p1', '--rxq', '1', '--packet', ICMP, '--packet', ICMP])).to.deep.equal({ port: 'p1', frames: 2, count: 1, queued: 2, dropped: 0 });
    await until(async () => (await tx('p2')) === tx0 + 102, 5000, '102 frames out of p2');
    const plain = await ok(['dpctl', 'dump-flows']);
    expect(plain).to.match(/^recirc_id\(0\),in_port\(1\),eth\(\),eth_type\(0x0800\),ipv4\(frag=no\), packets:102, bytes:4284, used:\d+\.\d{3}s, actions:2\n$/);
    // -m: OVS 3.1's verbose line for this flow (ovs-appctl dpctl/dump-flows -m on a netdev datapath
    // with ports p1, p2: the same text up to the UFID, stats and its optional dp-extra-info).
    const more = await ok(['dpctl', 'dump-flows', '-m']);
    expect(more).to.equal(`${ufid}, skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),` +
      'dp_hash(0/0),in_port(p1),packet_type(ns=0/0,id=0/0),eth(src=00:00:00:00:00:00/00:00:00:00:00:00,dst=00:00:00:00:00:00/00:00:00:00:00:00),' +
      'eth_type(0x0800),ipv4(src=0.0.0.0/0.0.0.0,dst=0.0.0.0/0.0.0.0,proto=0/0,tos=0/0,ttl=0/0,frag=no), packets:102, bytes:4284, ' +
      `${more.match(/used:[\d.]+s/)![0]}, dp:ovs, actions:p2\n`);
    expect((await json<DpctlFlow[]>(['dpctl', 'dump-flows', '-m']))[0], '--json keeps the plain form').to.deep.include({ match: 'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)', actions: '2' });
    expect(await ok(['dpctl', 'dump-flows', '--terse'])).to.match(new RegExp(`^${ufid}, packets:102, bytes:4284, used:\\d+\\.\\d{3}s\\n$`));
    const flows = await json<DpctlFlow[]>(['dpctl', 'dump-flows']);
    expect(flows).to.have.length(1);
    expect(flows[0]).to.deep.include({ ufid, match: 'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)', actions: '2', packets: 102, bytes: 4284, tcpFlags: null });
    expect(await ok(['dpctl', 'get-flow', ufid])).to.match(new RegExp(`^${ufid}, recirc_id\\(0\\),in_port\\(1\\).*packets:102, .*actions:2\\n$`));
    expect(await json<DpctlFlow>(['dpctl', 'get-flow', ufid])).to.deep.include({ ufid, packets: 102 });
    // mod-flow keeps the stats and changes where packets go.
    expect(await ok(['dpctl', 'mod-flow', 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)', '3'])).to.equal(`${ufid}\n`);
    const tx3 = await tx('p3');
    await ok(['inject', 'p1', '--packet', ICMP, '--count', '10']);
    await until(async () => (await tx('p3')) === tx3 + 10, 5000, '10 frames out of p3');
    expect((await json<DpctlFlow>(['dpctl', 'get-flow', ufid])).packets).to.equal(112);
    // del-flow by match returns the final stats; del-flows empties the table.
    expect(await json<DpctlFlow>(['dpctl', 'del-flow', 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)'])).to.deep.include({ ufid, packets: 112, actions: '3' });
    await fails(['dpctl', 'get-flow', ufid], 2, /no such flow/);
    await ok(['dpctl', 'add-flow', 'in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)', 'drop']);
    expect(await json(['dpctl', 'del-flows'])).to.deep.equal({ deleted: 1 });
    expect(await ok(['dpctl', 'dump-flows'])).to.equal('');
    // The memory port's tx_pcap holds exactly the frames p2 sent, byte for byte.
    const cap = readCapture(join(sb.dir, 'p2.pcap'));
    expect(cap.count).to.equal(102);
    const first = Buffer.from(cap.bytes.subarray(cap.index.offset[0]!, cap.index.offset[0]! + cap.index.caplen[0]!)).toString('hex');
    expect(first).to.equal(ICMP);
    await ok(['revalidator', 'resume']);
  });

  it('dpctl and inject errors: bad flow syntax, bad actions, bad ufid, existing flow, unknown port, non-memory port', async () => {
    await Promise.all([
      fails(['dpctl', 'add-flow', 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no', '2'], 2, /bad flow: .*"ipv4\(frag=no"/),
      fails(['dpctl', 'add-flow', 'in_port(1),eth(),bogus(1)', '2'], 2, /bogus/),
      fails(['dpctl', 'add-flow', 'in_port(1),eth()', 'output(2'], 2, /bad datapath action/),
      fails(['dpctl', 'add-flow', 'eth(),eth_type(0x0800)', '2'], 2, /in_port must be exact/),
      fails(['dpctl', 'get-flow', 'ufid:nothex'], 2, /bad ufid/),
      fails(['dpctl', 'del-flow', 'ufid:00000000-0000-4000-8000-000000000000'], 2, /no such flow/),
      fails(['inject', 'nope', '--packet', ICMP], 2, /no port nope/),
      fails(['inject', 'p1', '--packet', 'zz'], 2, /not a hex string/),
      fails(['inject', 'p1', '--packet', '0001'], 2, /shorter than an Ethernet header/),
      fails(['inject', 'p1'], 2, /--packet HEX or --pcap FILE/),
      fails(['inject', 'p1', '--packet', ICMP, '--rxq', '5'], 2, /no rxq 5/),
      fails(['inject', 'p1', '--pcap', join(sb.dir, 'none.pcap')], 2, /none\.pcap/),
    ]);
    await ok(['revalidator', 'pause']);
    await ok(['dpctl', 'add-flow', 'in_port(1),eth(src=00:00:00:00:00:09)', '2']);
    await fails(['dpctl', 'add-flow', 'in_port(1),eth(src=00:00:00:00:00:09)', '3'], 2, /already exists/);
    await ok(['dpctl', 'del-flows']);
    await ok(['revalidator', 'resume']);
    await ok(['add-port', 'rp', '--type', 'pcap-file', '--option', `rx_pcap=${join(PCAPS, 'arp.pcap')}`, '--option', 'loop=1']);
    await fails(['inject', 'rp', '--packet', ICMP], 2, /pcap-file port: frames can be injected into memory ports only/);
    await ok(['del-port', 'rp']);
  });

  it('OpenFlow rules: add-flow, add-flows, mod-flows, del-flows, dump-flows (text, --json, --names, --no-stats); rules saved', async () => {
    expect(await ok(['dump-flows', '--no-stats'])).to.equal(' priority=0 actions=NORMAL\n');
    await ok(['del-flows']);
    expect(await ok(['dump-flows'])).to.equal('');
    expect(await ok(['add-flow', 'priority=100,in_port=1,actions=output:2'])).to.equal('');
    const file = join(sb.dir, 'rules.txt');
    writeFileSync(file, '# two more\npriority=90,in_port=2,actions=output:1\n\ntable=1,cookie=0x5,priority=5,udp,tp_dst=53,actions=drop\n');
    expect(await json(['add-flows', file])).to.deep.equal({ added: 2, rules: 3 });
    const text = await ok(['dump-flows']);
    expect(text.split('\n').filter(Boolean)).to.have.length(3);
    expect(text).to.match(/^ cookie=0x0, duration=\d+\.\d{3}s, table=0, n_packets=0, n_bytes=0, idle_age=\d+, priority=100,in_port=1 actions=output:2$/m);
    expect(text).to.match(/^ cookie=0x5, duration=\d+\.\d{3}s, table=1, n_packets=0, n_bytes=0, idle_age=\d+, priority=5,udp,tp_dst=53 actions=drop$/m);
    // --names: port names in the match and the actions, as ovs-ofctl --names.
    expect(await ok(['dump-flows', '--names', '--no-stats', 'in_port=1'])).to.equal(' priority=100,in_port=p1 actions=output:p2\n');
    expect((await json<OfRuleJson[]>(['dump-flows', '--names', 'in_port=1'])).map((r) => [r.match, r.actions])).to.deep.equal([['in_port=p1', 'output:p2']]);
    const rules = await json<OfRuleJson[]>(['dump-flows']);
    expect(rules.map((r) => [r.table, r.priority, r.match, r.actions, r.cookie])).to.deep.equal([
      [0, 100, 'in_port=1', 'output:2', '0x0'], [0, 90, 'in_port=2', 'output:1', '0x0'], [1, 5, 'udp,tp_dst=53', 'drop', '0x5'],
    ]);
    expect(await json(['mod-flows', 'in_port=1,actions=output:30'])).to.deep.equal({ modified: 1, rules: 3 });
    expect(await ok(['dump-flows', '--no-stats', 'in_port=1'])).to.equal(' priority=100,in_port=1 actions=output:30\n');
    expect(await json(['del-flows', '--strict', 'table=1,priority=5,udp,tp_dst=53'])).to.deep.equal({ deleted: 1, rules: 2 });
    const cfg = JSON.parse(readFileSync(sb.config, 'utf8')) as { openflow: { rules: string[] } };
    expect(cfg.openflow.rules).to.deep.equal(['priority=100,in_port=1 actions=output:30', 'priority=90,in_port=2 actions=output:1']);
  });

  it('OpenFlow errors: bad syntax names the token, a bad line in add-flows adds nothing, exit 2', async () => {
    const before = await ok(['dump-flows', '--no-stats']);
    const file = join(sb.dir, 'bad.txt');
    writeFileSync(file, 'priority=1,in_port=1,actions=drop\npriority=2,in_port=1,actions=bogus_action\n');
    await Promise.all([
      fails(['add-flow', 'priority=10,in_port=1,actions=output:2,frobnicate'], 2, /frobnicate/),
      fails(['add-flow', 'priority=10,nw_src=10.0.0.300,actions=drop'], 2, /10\.0\.0\.300/),
      fails(['add-flow', 'priority=10,in_port=nope,actions=drop'], 2, /nope/),
      fails(['add-flow', 'table=300,actions=drop'], 2, /300/),
      fails(['add-flows', file], 2, /bogus_action/),
      fails(['add-flows', join(sb.dir, 'nofile.txt')], 2, /no such file/),
      fails(['mod-flows', 'in_port=1,actions=output:2,junk'], 2, /junk/),
      fails(['del-flows', 'in_port=1,nw_dst=300.1.1.1'], 2, /300\.1\.1\.1/),
      fails(['dump-flows', 'dl_src=zz:zz'], 2, /zz:zz/),
    ]);
    expect(await ok(['dump-flows', '--no-stats'])).to.equal(before);
  });

  it('forwards by OpenFlow rules and credits n_packets; NORMAL learns MACs (fdb show) and forwards to the learned port', async () => {
    await ok(['mod-flows', 'in_port=1,actions=output:2']);
    const tx0 = await tx('p2');
    await ok(['inject', 'p1', '--packet', ICMP, '--count', '50']);
    await until(async () => (await tx('p2')) === tx0 + 50, 5000, '50 frames out of p2');
    await ok(['revalidator', 'wait']);
    const r = (await json<OfRuleJson[]>(['dump-flows', 'in_port=1']))[0]!;
    expect([r.nPackets, r.nBytes]).to.deep.equal([50, 50 * 42]);
    expect(await ok(['dpctl', 'dump-flows'])).to.match(/^recirc_id\(0\),in_port\(1\),.*, packets:\d+, bytes:\d+, used:([\d.]+s|never), actions:2$/m);

    // NORMAL on the default pipeline: learn 02:..:01 on p1, then traffic to it from p2 goes only to p1.
    await ok(['del-flows']);
    await ok(['add-flow', 'priority=0,actions=NORMAL']);
    await ok(['fdb', 'flush']);
    await ok(['inject', 'p1', '--packet', udpFrame(macOf(1))]);
    await until(async () => (await ok(['fdb', 'show'])).includes('02:00:00:00:00:01'), 5000, 'the MAC learned');
    const fdb = await ok(['fdb', 'show']);
    expect(fdb).to.match(/^ port {2}VLAN {2}MAC {16}Age\n {4}1 {5}0 {2}02:00:00:00:00:01 +\d+\n$/);
    const fdbJson = await json<{ entries: { port: string; vlan: number; mac: string; age: number }[] }>(['fdb', 'show']);
    expect(fdbJson.entries).to.have.length(1);
    expect(fdbJson.entries[0]).to.deep.include({ port: '1', vlan: 0, mac: '02:00:00:00:00:01' });
    expect(fdbJson.entries[0]!.age).to.be.a('number');
    expect(await ok(['fdb', 'show', '--names', '--stats'])).to.match(/p1 +0 +02:00:00:00:00:01[\s\S]*Current\/maximum MAC entries in the table: 1\/2048/);
    const p1 = await tx('p1');
    const p3 = await tx('p3');
    // From p2 to the learned MAC: a frame whose destination is 02:00:00:00:00:01.
    const back = '020000000001' + '02ffffffff02' + udpFrame(macOf(1)).slice(24);
    await ok(['inject', 'p2', '--packet', back, '--count', '5']);
    await until(async () => (await tx('p1')) === p1 + 5, 5000, '5 frames out of p1');
    expect(await tx('p3'), 'not flooded to the VLAN 10 access port').to.equal(p3);
  });

  it('trace: a flow, a packet and a capture in OVS format (--names), --json; bad input is exit 2', async () => {
    await ok(['del-flows']);
    await ok(['add-flow', 'priority=10,in_port=1,ip,actions=output:2']);
    await ok(['add-flow', 'priority=0,actions=drop']);
    const t = await ok(['trace', 'in_port=1,ip,nw_dst=10.0.0.2']);
    expect(t).to.match(/^Flow: ip,in_port=1,/m);
    expect(t).to.match(/^bridge\("br0"\)$/m);
    expect(t).to.match(/^ 0\. ip,in_port=1, priority 10$/m);
    expect(t).to.match(/^Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no$/m);
    expect(t).to.match(/^Datapath actions: 2$/m);
    expect(await ok(['trace', 'in_port=1,ip', '--names'])).to.match(/^Datapath actions: p2$/m);
    const pkt = await json<{ text: string; datapathActions: string }[]>(['trace', '--in-port', 'p1', '--packet', ICMP]);
    expect(pkt).to.have.length(1);
    expect(pkt[0]!.datapathActions).to.equal('2');
    const cap = await ok(['trace', '--in-port', '1', '--pcap', join(PCAPS, 'arp.pcap')]);
    const n = readCapture(join(PCAPS, 'arp.pcap')).count;
    expect(cap.match(/^Datapath actions: /gm)).to.have.length(n);
    expect(cap.match(/^Datapath actions: drop$/gm), 'ARP is not IP: priority 0 drops it').to.have.length(n);
    await Promise.all([
      fails(['trace', 'in_port=1,nw_dst=1.2.3.400'], 2, /1\.2\.3\.400/),
      fails(['trace', '--packet', ICMP], 2, /--in-port/),
      fails(['trace', '--in-port', 'nope', '--packet', ICMP], 2, /nope/),
      fails(['trace'], 2, /FLOW, --packet HEX or --pcap FILE/),
    ]);
  });

  it('upcall show (OVS text and --json), set-flow-limit, revalidator wait/purge/pause/resume', async () => {
    const text = await ok(['upcall', 'show']);
    expect(text).to.match(/^netdev@br0:\n {2}flows {9}: \(current \d+\) \(avg \d+\) \(max \d+\) \(limit \d+\)\n {2}dump duration : \d+ms\n {2}ufid enabled : true\n\n {2}\d+: \(keys \d+\)\n/);
    expect(text).to.match(/rounds +: \d+/);
    expect(await ok(['upcall', 'show', '--handlers'])).to.match(/^handler 0 \(thread \d+, ports [\d,]+\): received \d+/m);
    const j = await json<{ revalidators: unknown[]; flows: { limit: number }; handlers: { handlers: unknown[] } }>(['upcall', 'show']);
    expect(j.revalidators).to.have.length(1);
    expect(j.handlers.handlers).to.have.length(1);
    expect(await ok(['upcall', 'set-flow-limit', '5000'])).to.equal('set flow_limit to 5000\n');
    expect((await json<{ flows: { limit: number } }>(['upcall', 'show'])).flows.limit).to.equal(5000);
    await fails(['upcall', 'set-flow-limit', 'many'], 2, /many/);
    expect(await json(['revalidator', 'wait'])).to.have.property('rounds').that.is.a('number');
    expect(await ok(['revalidator', 'pause'])).to.equal('revalidators paused\n');
    expect((await json<{ paused: boolean }>(['upcall', 'show'])).paused).to.equal(true);
    expect(await ok(['revalidator', 'resume'])).to.equal('revalidators resumed\n');
    await ok(['inject', 'p1', '--packet', ICMP]);
    await until(async () => (await json<DpctlFlow[]>(['dpctl', 'dump-flows'])).length > 0, 5000, 'a datapath flow');
    expect(await ok(['revalidator', 'purge'])).to.match(/^purged [1-9]\d* flows\n$/);
    expect(await json<DpctlFlow[]>(['dpctl', 'dump-flows'])).to.deep.equal([]);
  });

  it('set config applies tunables live (upcall show, emc) and refuses bad values; set threads; set log-level', async () => {
    expect(await ok(['set', 'config', 'max-idle=20000', 'flow-limit=50000'])).to.equal('max-idle=20000 (was 10000)\nflow-limit=50000 (was 200000)\n');
    await ok(['revalidator', 'wait']);
    expect((await json<{ flow_limit_max: number }>(['upcall', 'show'])).flow_limit_max).to.equal(50000);
    await ok(['set', 'config', 'emc-insert-inv-prob=1', 'mac-aging-time=60', 'mac-table-size=4096', 'max-revalidator=200', 'min-revalidate-pps=10']);
    const s = await show();
    expect(s.tunables).to.deep.include({ 'emc-insert-inv-prob': 1, 'mac-aging-time': 60, 'mac-table-size': 4096, 'max-revalidator': 200 });
    expect(await ok(['fdb', 'show', '--stats'])).to.match(/Current\/maximum MAC entries in the table: \d+\/4096/);
    await Promise.all([
      fails(['set', 'config', 'max-idle=10'], 2, /max-idle must be at least 500/),
      fails(['set', 'config', 'max-idle=fast'], 2, /max-idle/),
      fails(['set', 'config', 'colour=blue'], 2, /unknown key "colour"/),
    ]);
    expect((await show()).tunables['max-idle']).to.equal(20000);
    await fails(['set', 'threads', '--pmd', '99'], 2, /99/);
    expect(await json(['set', 'threads', '--revalidators', '2'])).to.deep.equal({ threads: { pmd: 1, handler: 1, revalidator: 2 } });
    expect((await json<{ revalidators: unknown[] }>(['upcall', 'show'])).revalidators).to.have.length(2);
    await ok(['set', 'threads', '--revalidators', '1']);
    expect(await ok(['set', 'log-level', 'debug'])).to.equal('log level debug (was info)\n');
    await ok(['set', 'log-level', 'info']);
  });

  it('set config reaches the running datapath and revalidators: emc-insert-inv-prob=0 turns the EMC off, max-idle expires flows', async () => {
    await ok(['del-flows']);
    await ok(['add-flow', 'priority=10,in_port=1,actions=output:2']);
    await ok(['set', 'config', 'emc-insert-inv-prob=0']);
    await ok(['inject', 'p1', '--packet', ICMP]); // installs the flow
    await until(async () => (await json<DpctlFlow[]>(['dpctl', 'dump-flows'])).length === 1, 5000, 'the datapath flow');
    await ok(['pmd', 'stats', '--clear']);
    await ok(['inject', 'p1', '--packet', ICMP, '--count', '40']);
    await until(async () => (await json<{ counters: { recv: number } }[]>(['pmd', 'stats']))[0]!.counters.recv === 40, 5000, '40 received');
    const c = (await json<{ counters: { emc_hit: number; masked_hit: number } }[]>(['pmd', 'stats']))[0]!.counters;
    expect([c.emc_hit, c.masked_hit], 'EMC off: every hit is a megaflow hit').to.deep.equal([0, 40]);
    await ok(['set', 'config', 'emc-insert-inv-prob=1']);
    await ok(['pmd', 'stats', '--clear']);
    await ok(['inject', 'p1', '--packet', ICMP, '--count', '40']);
    await until(async () => (await json<{ counters: { recv: number } }[]>(['pmd', 'stats']))[0]!.counters.recv === 40, 5000, '40 received');
    // Inserted on every megaflow hit now: the first burst (32) misses the EMC, the rest hits it.
    expect((await json<{ counters: { emc_hit: number } }[]>(['pmd', 'stats']))[0]!.counters.emc_hit, 'EMC on (insert always)').to.be.at.least(8);
    await ok(['set', 'config', 'max-idle=500']);
    const t0 = Date.now();
    await until(async () => (await json<DpctlFlow[]>(['dpctl', 'dump-flows'])).length === 0, 5000, 'the idle flow deleted');
    expect(Date.now() - t0).to.be.below(5000);
    expect((await json<{ deleted: { idle: number } }>(['upcall', 'show'])).deleted.idle).to.be.at.least(1);
    await ok(['set', 'config', 'max-idle=20000', 'emc-insert-inv-prob=100']);
  });

  it('pmd stats (OVS pmd-stats-show text, --json, --clear) and pmd rxq-show (text, --json)', async () => {
    await ok(['inject', 'p1', '--packet', ICMP, '--count', '20']);
    await sleep(200);
    const text = await ok(['pmd', 'stats']);
    expect(text).to.match(/^pmd thread numa_id 0 core_id 0:\n {2}packets received: \d+\n {2}packet recirculations: 0\n/);
    expect(text).to.match(/^ {2}emc hits: \d+$/m);
    expect(text).to.match(/^ {2}megaflow hits: \d+$/m);
    expect(text).to.match(/^ {2}miss with success upcall: \d+$/m);
    expect(text).to.match(/^main thread:$/m);
    const j = await json<{ pmdId: number; counters: { recv: number } }[]>(['pmd', 'stats', '--clear']);
    expect(j).to.have.length(1);
    expect(j[0]!.counters.recv).to.be.greaterThan(0);
    expect((await json<{ counters: { recv: number } }[]>(['pmd', 'stats']))[0]!.counters.recv).to.equal(0);
    const rxq = await ok(['pmd', 'rxq-show']);
    expect(rxq).to.match(/^Displaying last 60 seconds pmd usage %\npmd thread numa_id 0 core_id 0:\n {2}isolated : false\n/);
    for (const [p, q] of [['br0', 0], ['p1', 0], ['p1', 1], ['p2', 0], ['p3', 0]] as const) {
      expect(rxq).to.match(new RegExp(`^ {2}port: ${p} +queue-id: +${q} \\(enabled\\) +pmd usage: +\\d+ %$`, 'm'));
    }
    expect(await json(['pmd', 'rxq-show'])).to.deep.equal([
      { pmdId: 0, rxqs: [{ port: 'br0', rxq: 0 }, { port: 'p1', rxq: 0 }, { port: 'p1', rxq: 1 }, { port: 'p2', rxq: 0 }, { port: 'p3', rxq: 0 }] },
    ]);
    expect(await ok(['pmd', 'rxq-show', '--secs', '5'])).to.match(/^Displaying last 5 seconds pmd usage %/);
  });

  it('monitor prints packet-ins of CONTROLLER actions (text and --json)', async () => {
    await ok(['add-flow', 'priority=300,icmp,actions=CONTROLLER']);
    const mon = spawn(process.execPath, [CLI, 'monitor', '--count', '2', '--json'], { env: { ...process.env, TSVS_SOCKET: sb.socket }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    mon.stdout.on('data', (d) => (out += d));
    const done = new Promise<number | null>((r) => mon.on('close', r));
    await sleep(700); // the monitor takes its starting point
    await ok(['inject', 'p1', '--packet', ICMP, '--count', '2']);
    expect(await done).to.equal(0);
    const items = out.trim().split('\n').map((l) => JSON.parse(l) as PacketInJson);
    expect(items).to.have.length(2);
    expect(items[0]).to.deep.include({ kind: 'controller', inPort: 1, reason: 'action', packet: ICMP });
    expect(items[0]!.text).to.match(/^NXT_PACKET_IN2 \(xid=0x0\): (cookie=0x0 )?total_len=42 in_port=1 \(via action\) data_len=42 \(unbuffered\)\nicmp,/);
    await ok(['del-flows', '--strict', 'priority=300,icmp']);
  });

  it('watch without a terminal prints one plain line (or JSON object) per refresh', async () => {
    const lines = (await ok(['watch', '--count', '2', '--interval', '200'])).trim().split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z \| flows \d+\/\d+ \| pmd0 \d+pps emc [-\d.]+% megaflow [-\d.]+% upcalls \d+\/s busy [\d.]+% \| br0 rx \d+\/s tx \d+\/s drops \d+\/s \| p1 rx/);
    expect(lines[0]).to.match(/\| revalidator \d+ keys \d+ \| rounds \d+ deleted\/round/);
    const j = (await ok(['watch', '--count', '1', '--interval', '200', '--json'])).trim();
    const v = JSON.parse(j) as { pmds: unknown[]; ports: { name: string }[]; revalidators: unknown[] };
    expect(v.pmds).to.have.length(1);
    expect(v.ports.map((p) => p.name)).to.deep.equal(['br0', 'p1', 'p2', 'p3']);
    expect(v.revalidators).to.have.length(1);
  });

  it('every data command gives valid JSON with --json', async () => {
    const check = async (args: string[]): Promise<void> => {
      const r = await cli(sb, [...args, '--json']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(() => JSON.parse(r.stdout), args.join(' ')).to.not.throw();
    };
    await Promise.all([
      ['show'], ['dpctl', 'dump-flows'], ['dpctl', 'dump-flows', '--terse'], ['pmd', 'stats'], ['pmd', 'rxq-show'],
      ['dump-flows'], ['fdb', 'show'], ['upcall', 'show'], ['revalidator', 'wait'], ['set', 'config', 'max-idle=20000'],
      ['set', 'threads', '--pmd', '1'], ['upcall', 'set-flow-limit', '6000'], ['inject', 'p1', '--packet', ICMP], ['trace', 'in_port=1'],
    ].map(check));
    for (const args of [['dpctl', 'del-flows'], ['add-flow', 'priority=1,actions=drop'], ['del-flows', '--strict', 'priority=1']]) await check(args);
  });

  it('every command exits 3 naming the socket when no daemon answers', async () => {
    const env = { TSVS_SOCKET: join(sb.dir, 'nobody.sock') };
    const all = [
      ['add-port', 'x', '--type', 'memory'], ['del-port', 'x'], ['inject', 'p1', '--packet', ICMP], ['dpctl', 'dump-flows'],
      ['dpctl', 'get-flow', 'ufid:00000000-0000-4000-8000-000000000000'], ['dpctl', 'del-flows'], ['dpctl', 'add-flow', 'in_port(1),eth()', '2'],
      ['pmd', 'stats'], ['pmd', 'rxq-show'], ['add-flow', 'actions=drop'], ['dump-flows'], ['del-flows'], ['mod-flows', 'actions=drop'],
      ['trace', 'in_port=1'], ['fdb', 'show'], ['upcall', 'show'], ['upcall', 'set-flow-limit', '1000'], ['revalidator', 'wait'],
      ['monitor'], ['watch', '--count', '1'],
    ];
    await Promise.all(all.map(async (args) => {
      const r = await cli(sb, args, env);
      expect(r.code, args.join(' ')).to.equal(3);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).to.have.length(1);
      expect(r.stderr).to.contain(`cannot reach the tsvs daemon at ${env.TSVS_SOCKET}`);
    }));
  });
});

describe('switch e2e: ports that need privileges, without them', function () {
  this.timeout(30000);
  let sb: Sandbox;
  before(async function () {
    sb = sandbox();
    const root = process.getuid?.() === 0;
    const hasSetpriv = spawnSync('sh', ['-c', 'command -v setpriv']).status === 0;
    if (root && !hasSetpriv) {
      console.log('    skipped: running as root without setpriv(1) to drop privileges');
      this.skip();
    }
    // As root: the daemon runs as nobody with no capabilities at all (setpriv). Otherwise it already lacks them.
    if (root) chownSync(sb.dir, 65534, 65534);
    const cmd = root
      ? ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath]
      : [process.execPath];
    const proc = spawn(cmd[0]!, [...cmd.slice(1), CLI, 'start', '--config', sb.config, '--socket', sb.socket], { stdio: 'ignore' });
    if (proc.pid) sb.pids.add(proc.pid);
    await until(async () => (await cli(sb, ['show'])).code === 0, 15000, 'the unprivileged daemon');
  });
  after(async () => {
    if (sb) await cleanup(sb);
  });

  it('add-port of a system or internal port fails with one clear line (exit 2) and the daemon keeps running', async () => {
    for (const [name, type, cap] of [['lo', 'system', 'CAP_NET_RAW'], ['tsvstap9', 'internal', 'CAP_NET_ADMIN']] as const) {
      const r = await cli(sb, ['add-port', name, '--type', type]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(new RegExp(`^tsvs: cannot open ${type} port ${name}: (Operation not permitted|Permission denied) \\(needs root or ${cap}\\)\n$`));
    }
    const s = await cli(sb, ['show', '--json']);
    expect(s.code).to.equal(0);
    const shown = JSON.parse(s.stdout) as ShowResult;
    expect(shown.bridge.ports.map((p) => [p.name, p.type])).to.deep.equal([['br0', 'memory']]);
    expect(shown.extensions['switch']).to.deep.equal({ local_port: { name: 'br0', type: 'memory', reason: 'no CAP_NET_ADMIN: a memory port, no host interface' } });
    expect((await cli(sb, ['add-port', 'm1', '--type', 'memory'])).code, 'memory ports need nothing').to.equal(0);
  });
});
