/**
 * Regenerates test/golden/xlate/: what Open vSwitch 3.1's `ofproto/trace` says about translation
 * (rules matched, `Megaflow:`, `Datapath actions:`) for the rule sets of
 * tools/ovs-golden/xlate-cases.json, on the frames of ../shared/pcaps and on hand-written flows,
 * plus a MAC-learning sequence (tools/ovs-golden/xlate-mac-sequence.json). The conformance test
 * test/conformance/xlate.test.ts replays the same inputs through tsvs.
 *
 * Usage (repository root, after `pnpm build`; needs root and openvswitch-switch):
 *   pnpm exec tsx tools/ovs-golden/xlate-golden.ts [--pcaps DIR] [--out DIR]
 *
 * OVS runs as tools/ovs-golden/ovs-sandbox.ts sets it up (temp dir, `unshare --net`, userspace
 * datapath; both daemons stopped and the dir removed whatever happens). Bridge br0 gets
 * fail_mode=secure (no implicit NORMAL flow) and internal ports p1..p6 as OpenFlow ports 1..6
 * (p1 comes with the sandbox). Per scenario: every port's VLAN settings are cleared and set
 * (`ovs-vsctl`), the flows replaced (`ovs-ofctl -O PROTOCOL del-flows` + `add-flows`), then:
 * - each hand-written flow: `fdb/flush br0`, `ofproto/trace br0 FLOW` and the same with
 *   `--names`; the whole replies are kept;
 * - each capture: `fdb/flush br0` once, then every Ethernet frame in file order with
 *   `ofproto/trace br0 in_port=P HEX`, P cycling through the scenario's `inPorts` by frame index
 *   (0-based index i -> inPorts[i % n]). No flush between frames of one capture: NORMAL learns
 *   from traced packets, so a later frame may be forwarded to a learned port; tsvs must learn
 *   the same way.
 * Output (committed, one file per scenario, same inputs give the same bytes):
 *   <scenario>.json: {name, protocol, portConfig, rules, inPorts, odpPorts, flows: [{flow, trace,
 *   traceNames}], frames: [{capture, frame, inPort, megaflow, actions, tail?, error?}]}
 *   mac-sequence.json, META.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureError, LINKTYPE_ETHERNET, readCapture, type CaptureFile } from '@tsvs/capture';
import { BRIDGE, OvsSandbox } from './ovs-sandbox.js';
import { UnixctlClient } from './unixctl.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');

interface PortVlan { tag?: number; trunks?: number[]; vlan_mode?: string }
interface Scenario {
  name: string;
  note: string;
  protocol: string;
  portConfig: Record<string, PortVlan>;
  rules: string[];
  inPorts: number[];
  flows: string[];
}
interface Cases { ports: string[]; scenarios: Scenario[] }
interface MacStep { note: string; inPort: string; frame: string }
interface MacSequence { scenario: string; steps: MacStep[] }

function parseArgs(argv: string[]): { pcaps: string; out: string } {
  const a = { pcaps: resolve(repo, '../shared/pcaps'), out: resolve(repo, 'test/golden/xlate') };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if ((k === '--pcaps' || k === '--out') && v !== undefined) a[k === '--pcaps' ? 'pcaps' : 'out'] = resolve(v);
    else throw new Error(`unknown argument '${k}' (usage: xlate-golden.ts [--pcaps DIR] [--out DIR])`);
  }
  return a;
}

function lineAfter(text: string, label: string): string | null {
  for (const line of text.split('\n')) if (line.startsWith(label)) return line.slice(label.length);
  return null;
}

/** What follows the `Datapath actions:` line (slow path explanation, errors), trimmed; '' if none. */
function tailAfterActions(text: string): string {
  const i = text.indexOf('\nDatapath actions: ');
  if (i < 0) return '';
  const j = text.indexOf('\n', i + 1);
  return j < 0 ? '' : text.slice(j + 1).trim();
}

function toHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** `dpif/show` lines like `    p1 1/2: (tap)` -> name -> odp port. */
function parseDpifShow(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^\s+(\S+) (\d+|LOCAL|65534)\/(\d+):/.exec(line);
    if (m) out[m[1]!] = Number(m[3]);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cases = JSON.parse(readFileSync(join(here, 'xlate-cases.json'), 'utf8')) as Cases;
  const macSeq = JSON.parse(readFileSync(join(here, 'xlate-mac-sequence.json'), 'utf8')) as MacSequence;
  const captures = readdirSync(args.pcaps).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();
  const ovs = new OvsSandbox();
  let client: UnixctlClient | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    client?.close();
    void ovs.stop().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const env = { ...process.env, OVS_RUNDIR: ovs.dir, OVS_LOGDIR: ovs.dir, OVS_DBDIR: ovs.dir, OVS_SYSCONFDIR: ovs.dir };
  const ofctl = (...a: string[]): string => execFileSync('ovs-ofctl', a, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await ovs.start();
    ovs.vsctl('set', 'bridge', BRIDGE, 'fail_mode=secure', 'protocols=OpenFlow10,OpenFlow13');
    cases.ports.forEach((p, i) => {
      if (p === 'p1') return;
      ovs.vsctl('add-port', BRIDGE, p, '--', 'set', 'interface', p, 'type=internal', `ofport_request=${i + 1}`);
    });
    client = new UnixctlClient(ovs.vswitchdCtl());
    await client.connect();
    const call = async (method: string, params: string[]): Promise<string> => {
      const r = await client!.call(method, params);
      if (r.result === null) throw new Error(`${method} ${params.join(' ')}: ${r.error}`);
      return r.result;
    };
    const odpPorts = parseDpifShow(await call('dpif/show', []));
    const version = OvsSandbox.version();
    mkdirSync(args.out, { recursive: true });

    const configure = (sc: Scenario): void => {
      for (const p of cases.ports) {
        ovs.vsctl('clear', 'port', p, 'tag', 'trunks', 'vlan_mode');
        const c = sc.portConfig[p] ?? {};
        const sets: string[] = [];
        if (c.vlan_mode) sets.push(`vlan_mode=${c.vlan_mode}`);
        if (c.tag !== undefined) sets.push(`tag=${c.tag}`);
        if (c.trunks) sets.push(`trunks=${c.trunks.join(',')}`);
        if (sets.length) ovs.vsctl('set', 'port', p, ...sets);
      }
      ofctl('-O', sc.protocol, 'del-flows', BRIDGE);
      const file = join(ovs.dir, 'flows.txt');
      writeFileSync(file, sc.rules.join('\n') + '\n');
      ofctl('-O', sc.protocol, 'add-flows', BRIDGE, file);
    };
    const inPortArg = (p: number): string => (p === 65534 ? 'LOCAL' : String(p));

    let nTraces = 0;
    for (const sc of cases.scenarios) {
      configure(sc);
      const flows: Array<{ flow: string; trace: string | null; traceNames: string | null; error?: string }> = [];
      for (const f of sc.flows) {
        await call('fdb/flush', [BRIDGE]);
        const r = await client.call('ofproto/trace', [BRIDGE, f]);
        await call('fdb/flush', [BRIDGE]);
        const rn = await client.call('ofproto/trace', [BRIDGE, f, '--names']);
        nTraces += 2;
        flows.push(r.result !== null ? { flow: f, trace: r.result, traceNames: rn.result } : { flow: f, trace: null, traceNames: null, error: r.error ?? '' });
      }
      const frames: Array<Record<string, unknown>> = [];
      for (const name of captures) {
        let cap: CaptureFile;
        try {
          cap = readCapture(join(args.pcaps, name));
        } catch (e) {
          if (e instanceof CaptureError) continue;
          throw e;
        }
        await call('fdb/flush', [BRIDGE]);
        for (let i = 0; i < cap.count; i++) {
          const rec = cap.record(i);
          // OVS 3.1 aborts on frames over 64 KiB (see README.md): not traced.
          if (rec.linktype !== LINKTYPE_ETHERNET || rec.data.length > 65536) continue;
          const inPort = sc.inPorts[i % sc.inPorts.length]!;
          const r = await client.call('ofproto/trace', [BRIDGE, `in_port=${inPortArg(inPort)}`, toHex(rec.data)]);
          nTraces++;
          if (r.result === null) {
            frames.push({ capture: name, frame: rec.frame, inPort, error: r.error });
            continue;
          }
          const t = r.result;
          const o: Record<string, unknown> = {
            capture: name, frame: rec.frame, inPort,
            megaflow: lineAfter(t, 'Megaflow: '), actions: lineAfter(t, 'Datapath actions: '),
          };
          const tail = tailAfterActions(t);
          if (tail) o.tail = tail;
          frames.push(o);
        }
      }
      const out = { name: sc.name, note: sc.note, protocol: sc.protocol, portConfig: sc.portConfig, rules: sc.rules, inPorts: sc.inPorts, odpPorts, flows, frames };
      writeFileSync(join(args.out, `${sc.name}.json`), JSON.stringify(out, null, 1) + '\n');
      console.log(`${sc.name}: ${flows.length} flows, ${frames.length} frames`);
    }

    // MAC learning sequence: packets in order, no flush in between, then fdb/show.
    const sc = cases.scenarios.find((s) => s.name === macSeq.scenario)!;
    configure(sc);
    await call('fdb/flush', [BRIDGE]);
    const steps: Array<{ note: string; inPort: string; frame: string; trace: string }> = [];
    for (const st of macSeq.steps) {
      const t = await call('ofproto/trace', [BRIDGE, `in_port=${st.inPort}`, st.frame, '--names']);
      nTraces++;
      steps.push({ ...st, trace: t });
    }
    const fdb = await call('fdb/show', [BRIDGE]);
    writeFileSync(join(args.out, 'mac-sequence.json'), JSON.stringify({ scenario: macSeq.scenario, odpPorts, steps, fdbShow: fdb }, null, 1) + '\n');

    writeFileSync(join(args.out, 'META.json'), JSON.stringify({
      generator: 'tools/ovs-golden/xlate-golden.ts',
      ovs: version,
      bridge: `${BRIDGE}: datapath_type=netdev, fail_mode=secure, protocols=OpenFlow10,OpenFlow13; internal ports ${cases.ports.join(', ')} = OpenFlow ports 1..${cases.ports.length}`,
      odpPorts,
      traces: nTraces,
    }, null, 2) + '\n');
    console.log(`${nTraces} traces with ${version}`);
  } finally {
    client?.close();
    await ovs.stop();
  }
}

main().catch((e: unknown) => {
  console.error(`xlate-golden: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
