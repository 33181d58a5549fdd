/**
 * Regenerates test/golden/flow-extract/*.jsonl: what Open vSwitch's own flow extraction says about
 * every frame of every capture in ../shared/pcaps (the conformance reference for `tsvs flow-extract`).
 *
 * Usage (from the repository root, after `pnpm build`; needs root and openvswitch-switch):
 *   pnpm exec tsx tools/ovs-golden/generate.ts [--pcaps DIR] [--out DIR]
 *
 * For each record with link type 1 (Ethernet) it empties br0's MAC table (`fdb/flush br0`, so no
 * trace depends on the frames before it) and asks ovs-vswitchd
 * `ofproto/trace br0 in_port=1 <frame as hex>` over the unixctl socket. One JSON line per record:
 *   {"frame":N,"linktype":1,"caplen":C,"flow":"<text after 'Flow: '>","megaflow":"<after 'Megaflow: '>",
 *    "actions":"<after 'Datapath actions: '>","trace":"<the whole reply>"}
 * when OVS refuses the packet (e.g. shorter than 14 bytes):
 *   {"frame":N,"linktype":1,"caplen":C,"flow":null,"error":"<OVS's error reply>"}
 * when ovs-vswitchd dies on the frame (then a fresh OVS is started for the rest):
 *   {"frame":N,"linktype":1,"caplen":C,"flow":null,"crash":"<exit signal/code and its last stderr line>"}
 * and records of other link types are not traced:
 *   {"frame":N,"linktype":L,"caplen":C,"flow":null,"skipped":"link type L (NAME) is not Ethernet"}.
 * Captures that cannot be read get no file. Same OVS and same captures give the same bytes.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureError, LINKTYPE_ETHERNET, linktypeName, readCapture, type CaptureFile } from '@tsvs/capture';
import { BRIDGE, OFPORT, OvsSandbox, PORT_NAME } from './ovs-sandbox.js';
import { UnixctlClient } from './unixctl.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Args { pcaps: string; out: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { pcaps: resolve(repo, '../shared/pcaps'), out: resolve(repo, 'test/golden/flow-extract') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if ((k === '--pcaps' || k === '--out') && v !== undefined) {
      a[k === '--pcaps' ? 'pcaps' : 'out'] = resolve(v);
      i++;
    } else {
      throw new Error(`unknown argument '${k}' (usage: generate.ts [--pcaps DIR] [--out DIR])`);
    }
  }
  return a;
}

/** The text after `label` on the first line that starts with it, or null. */
function lineAfter(text: string, label: string): string | null {
  for (const line of text.split('\n')) if (line.startsWith(label)) return line.slice(label.length);
  return null;
}

function toHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** A running OVS plus a connected unixctl client; replaced wholesale when ovs-vswitchd dies. */
class Tracer {
  private ovs: OvsSandbox | null = null;
  private client: UnixctlClient | null = null;
  restarts = 0;

  async open(): Promise<void> {
    this.ovs = new OvsSandbox();
    await this.ovs.start();
    this.client = new UnixctlClient(this.ovs.vswitchdCtl());
    await this.client.connect();
  }

  /** Traces one frame; returns the JSON fields that follow frame/linktype/caplen. */
  async trace(frame: Uint8Array): Promise<Record<string, string | null>> {
    const client = this.client!;
    try {
      await client.call('fdb/flush', [BRIDGE]);
      const reply = await client.call('ofproto/trace', [BRIDGE, `in_port=${OFPORT}`, toHex(frame)]);
      if (reply.result === null) return { flow: null, error: reply.error ?? '' };
      const t = reply.result;
      return { flow: lineAfter(t, 'Flow: '), megaflow: lineAfter(t, 'Megaflow: '), actions: lineAfter(t, 'Datapath actions: '), trace: t };
    } catch (e) {
      const ovs = this.ovs!;
      const exit = await ovs.vswitchdExit(5000);
      if (exit === null) throw e; // OVS still runs: a real client error
      const how = exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const crash = `ovs-vswitchd ${how} while tracing this frame; its last stderr line: ${ovs.lastStderrLine()}`;
      await this.close();
      this.restarts++;
      await this.open();
      return { flow: null, crash };
    }
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = null;
    const ovs = this.ovs;
    this.ovs = null;
    await ovs?.stop();
  }
}

async function goldenLines(cap: CaptureFile, traceFrame: (data: Uint8Array) => Promise<Record<string, string | null>>): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < cap.count; i++) {
    const r = cap.record(i);
    const base = { frame: r.frame, linktype: r.linktype, caplen: r.caplen };
    if (r.linktype !== LINKTYPE_ETHERNET) {
      lines.push(JSON.stringify({ ...base, flow: null, skipped: `link type ${r.linktype} (${linktypeName(r.linktype)}) is not Ethernet` }));
    } else {
      lines.push(JSON.stringify({ ...base, ...(await traceFrame(r.data)) }));
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const captures = readdirSync(args.pcaps).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();
  const tracer = new Tracer();
  const onSignal = (sig: NodeJS.Signals): void => {
    void tracer.close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await tracer.open();
    mkdirSync(args.out, { recursive: true });
    const version = OvsSandbox.version();
    let traced = 0;
    for (const name of captures) {
      let cap: CaptureFile;
      try {
        cap = readCapture(join(args.pcaps, name));
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        console.log(`${name}: not read (${e.reason}); no golden file`);
        continue;
      }
      const lines = await goldenLines(cap, (data) => { traced++; return tracer.trace(data); });
      if (cap.error !== null) console.log(`${name}: ${cap.error.message}; golden covers the ${cap.count} intact records`);
      writeFileSync(join(args.out, `${name}.jsonl`), lines.length > 0 ? lines.join('\n') + '\n' : '');
    }
    writeFileSync(join(args.out, 'META.json'), JSON.stringify({
      generator: 'tools/ovs-golden/generate.ts',
      ovs: version,
      bridge: `${BRIDGE}: datapath_type=netdev, default flow table (priority 0, actions=NORMAL); internal port ${PORT_NAME} with ofport ${OFPORT}`,
      per_frame: [`fdb/flush ${BRIDGE}`, `ofproto/trace ${BRIDGE} in_port=${OFPORT} <frame as hex>`],
    }, null, 2) + '\n');
    console.log(`${captures.length} captures, ${traced} Ethernet frames traced with ${version} (${tracer.restarts} restart(s) after a crash)`);
  } finally {
    await tracer.close();
  }
}

main().catch((e: unknown) => {
  console.error(`ovs-golden: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
