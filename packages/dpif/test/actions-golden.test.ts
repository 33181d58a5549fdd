/**
 * Conformance with Open vSwitch 3.1: for every case in test/golden/actions/cases.json (made by
 * tools/ovs-golden/actions-golden.sh with a real OVS userspace datapath, veths and captures), our
 * parser reads the datapath actions OVS installed, our printer prints them back identically, and
 * our executor turns the input frame into exactly the bytes OVS sent out of each port.
 *
 * Cases whose note starts with "deviation" are where OVS 3.1 leaves a wrong L4 checksum (or
 * edits a later fragment's payload); there we check that we differ from OVS only in those two
 * bytes and that our result is the consistent one (see execute.ts).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EXEC_KEEP, HeapBufferPool, OdpExecutor, OdpOutputBatch, OFS_UNKNOWN, PKT_BUF, PKT_L2_5, PKT_L3, PKT_L4, PKT_LEN, PKT_OFF,
  PKT_WORDS, formatOdpActions, parseOdpActions,
} from '@tsvs/dpif';
import { extractFlow, FLOW_WORDS, W_NW } from '@tsvs/packet';

const here = path.dirname(fileURLToPath(import.meta.url));
const golden = path.resolve(here, '../../../test/golden/actions/cases.json');

interface GoldenCase {
  name: string;
  source: string;
  openflow: string[];
  input: string;
  dump_flows_actions: string;
  trace_actions: string;
  outputs: Record<string, string[]>;
  note?: string;
}
interface GoldenDoc {
  ovs_version: string;
  in_port: number;
  cases: GoldenCase[];
}

const doc = JSON.parse(readFileSync(golden, 'utf8')) as GoldenDoc;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

type Mode = 'extracted' | 'unknown-offsets' | 'no-headroom';

/** Runs the case's actions on its input; returns the frames per odp port in output order. */
function run(c: GoldenCase, mode: Mode): Record<string, string[]> {
  const pool = new HeapBufferPool(8, 2048);
  const exec = new OdpExecutor(pool);
  const out = new OdpOutputBatch(16);
  const input = unhex(c.input);
  const buf = pool.alloc();
  const off = mode === 'no-headroom' ? pool.start(buf) : pool.start(buf) + 128;
  pool.bytes.set(input, off);
  const pkt = new Int32Array(PKT_WORDS);
  pkt[PKT_BUF] = buf;
  pkt[PKT_OFF] = off;
  pkt[PKT_LEN] = input.length;
  if (mode === 'unknown-offsets') {
    pkt[PKT_L2_5] = OFS_UNKNOWN;
    pkt[PKT_L3] = OFS_UNKNOWN;
    pkt[PKT_L4] = OFS_UNKNOWN;
  } else {
    extractFlow(pool.bytes, off, input.length, doc.in_port, new Uint32Array(FLOW_WORDS), 0, pkt, PKT_L2_5);
  }
  const actions = parseOdpActions(c.dump_flows_actions);
  const r = exec.execute(actions, 0, pkt, 0, out);
  const res: Record<string, string[]> = {};
  for (let i = 0; i < out.count; i++) {
    (res[String(out.port[i])] ??= []).push(hex(pool.bytes.subarray(out.off[i]!, out.off[i]! + out.len[i]!)));
  }
  expect(r & EXEC_KEEP, 'EXEC_KEEP iff the last live action output the packet').to.equal(out.count > 0 ? EXEC_KEEP : 0);
  return res;
}

/** Ones' complement sum of 16-bit words, folded, with 0xffff and 0 identified (both are "zero"). */
function onesSum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff ? 0 : s;
}

describe('datapath actions: conformance with OVS (test/golden/actions)', () => {
  it(`has tens of cases recorded with ${doc.ovs_version}`, () => {
    expect(doc.cases.length).to.be.within(20, 80);
  });

  it('covers every action form the executor implements (userspace is covered by unit tests)', () => {
    const all = doc.cases.map((c) => c.dump_flows_actions).join(' ');
    for (const form of [
      /(^|[ ,])\d+(,|$| )/, /push_vlan\(vid/, /push_vlan\(tpid=0x88a8/, /pop_vlan/, /set\(eth\(src=[^/)]*,dst=[^/)]*\)\)/,
      /set\(eth\(dst=/, /set\(ipv4\(src=[\d.]+\)/, /set\(ipv4\(src=[\d.]+\/[\d.]+\)/, /tos=0x\w+\/0x/, /ttl=/,
      /set\(ipv6\(src=/, /set\(ipv6\(dst=/, /label=/, /tclass=/, /hlimit=/, /set\(tcp\(src=\d+,dst=\d+\)\)/, /set\(tcp\(dst=/,
      /set\(udp\(src=\d+,dst=\d+\)\)/, /set\(udp\(dst=/, /(^| )drop( |$)/,
    ]) {
      expect(all, String(form)).to.match(form);
    }
    // a clone case: a change between two outputs
    expect(doc.cases.some((c) => /^\d+,set\(.*,\d+/.test(c.dump_flows_actions))).to.equal(true);
  });

  for (const c of doc.cases) {
    describe(`${c.name} [${c.source}] ${c.dump_flows_actions}`, () => {
      it('OVS installed and traced the same datapath actions', () => {
        expect(c.dump_flows_actions).to.be.a('string');
        expect(c.trace_actions).to.equal(c.dump_flows_actions);
      });

      it('parses and prints the datapath actions exactly as OVS does', () => {
        expect(formatOdpActions(parseOdpActions(c.dump_flows_actions))).to.equal(c.dump_flows_actions);
      });

      const deviation = c.note?.startsWith('deviation') ?? false;
      if (!deviation) {
        it('produces the bytes OVS sent, per port', () => {
          expect(run(c, 'extracted')).to.deep.equal(c.outputs);
        });
        it('gives the same bytes when offsets are found by the executor and without headroom', () => {
          expect(run(c, 'unknown-offsets')).to.deep.equal(c.outputs);
          expect(run(c, 'no-headroom')).to.deep.equal(c.outputs);
        });
      } else {
        it(`differs from OVS only where OVS is wrong (${c.note})`, () => {
          const ours = run(c, 'extracted');
          expect(Object.keys(ours)).to.deep.equal(Object.keys(c.outputs));
          const port = Object.keys(ours)[0]!;
          const o = unhex(ours[port]![0]!);
          const v = unhex(c.outputs[port]![0]!);
          const input = unhex(c.input);
          expect(o.length).to.equal(v.length);
          const diff: number[] = [];
          for (let i = 0; i < o.length; i++) if (o[i] !== v[i]) diff.push(i);
          const ofs = new Int32Array(3);
          const key = new Uint32Array(FLOW_WORDS);
          extractFlow(input, 0, input.length, 0, key, 0, ofs, 0);
          const l3 = ofs[1]!;
          const l4 = ofs[2]!;
          // The differences are confined to the 2 bytes where a TCP (l4+16) or UDP (l4+6) checksum would be.
          const proto = key[W_NW]! >>> 24;
          const csumAt = l4 + (proto === 6 ? 16 : 6);
          expect(diff.length, 'differing bytes').to.be.within(1, 2);
          for (const d of diff) expect(d).to.be.within(csumAt, csumAt + 1);
          if (input[12] === 0x08 && input[13] === 0x00) {
            // IPv4 later fragment: our payload is the input's; OVS changed two payload bytes.
            expect(hex(o.subarray(l4))).to.equal(hex(input.subarray(l4)));
            expect(diff[0]).to.be.at.least(l4);
          } else {
            // IPv6 source rewrite: the only L4 checksum input that changed is the source address,
            // so a right checksum keeps (source words + L4 segment) constant.
            const end = l3 + 40 + ((input[l3 + 4]! << 8) | input[l3 + 5]!);
            const before = onesSum(input, l3 + 8, 16) + onesSum(input, l4, end - l4);
            const sum = (b: Uint8Array): number => {
              let s = onesSum(b, l3 + 8, 16) + onesSum(b, l4, end - l4);
              while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
              return s === 0xffff ? 0 : s;
            };
            let want = before;
            while (want > 0xffff) want = (want & 0xffff) + (want >>> 16);
            if (want === 0xffff) want = 0;
            expect(sum(o), 'ours keeps the checksum consistent').to.equal(want);
            expect(sum(v), 'OVS does not').to.not.equal(want);
          }
        });
      }
    });
  }
});
