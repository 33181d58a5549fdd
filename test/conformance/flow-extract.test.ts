/**
 * Conformance: for every record of every capture in ../shared/pcaps, our extraction printed with
 * formatFlow equals what Open vSwitch 3.1 printed after `Flow: ` in `ofproto/trace br0 in_port=1
 * <frame>` (test/golden/flow-extract/<capture>.jsonl, made by tools/ovs-golden/generate.ts).
 *
 * Golden records without a flow: `error` (OVS refused the frame: under 14 bytes) must be
 * EXTRACT_TOO_SHORT for us; `skipped` (not Ethernet) must be a non-Ethernet record for us too;
 * `crash` (OVS 3.1 aborts tracing frames over 64 KiB: bigtcp-ipv4.pcap) has no reference and is
 * only required to extract without error.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture, CaptureError } from '@tsvs/capture';
import { extractFlow, formatFlow, FLOW_WORDS, EXTRACT_OK, EXTRACT_TOO_SHORT } from '@tsvs/packet';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PCAPS = resolve(ROOT, '../shared/pcaps');
const GOLDEN = join(ROOT, 'test/golden/flow-extract');
const LINKTYPE_ETHERNET = 1;

interface Golden { frame: number; linktype: number; caplen: number; flow: string | null; error?: string; crash?: string; skipped?: string }

describe('conformance: flow extraction equals OVS 3.1 on every capture', () => {
  const captures = readdirSync(PCAPS).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();
  const totals = { compared: 0, tooShort: 0, crash: 0, notEthernet: 0 };

  it('finds the captures and a golden file for every readable one', () => {
    expect(captures.length).to.equal(67);
    const missing = captures.filter((c) => !existsSync(join(GOLDEN, `${c}.jsonl`)));
    expect(missing).to.deep.equal(['pcap-invalid-version-1.pcap', 'pcapng-invalid-vers-1.pcapng']);
    for (const c of missing) expect(() => readCapture(join(PCAPS, c))).to.throw(CaptureError);
  });

  for (const name of captures) {
    const goldenPath = join(GOLDEN, `${name}.jsonl`);
    if (!existsSync(goldenPath)) continue;
    it(name, () => {
      const golden = readFileSync(goldenPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Golden);
      const cap = readCapture(join(PCAPS, name));
      expect(cap.count, 'records').to.equal(golden.length);
      const key = new Uint32Array(FLOW_WORDS);
      const bad: string[] = [];
      for (let i = 0; i < cap.count; i++) {
        const g = golden[i]!;
        const rec = cap.record(i);
        expect(g.frame).to.equal(rec.frame);
        expect(g.caplen).to.equal(rec.caplen);
        if (rec.linktype !== LINKTYPE_ETHERNET) {
          expect(g.skipped, `frame ${rec.frame}`).to.be.a('string');
          totals.notEthernet++;
          continue;
        }
        const status = extractFlow(rec.data, 0, rec.data.length, 1, key, 0);
        if (g.flow !== null) {
          totals.compared++;
          const ours = status === EXTRACT_OK ? formatFlow(key, 0) : `status ${status}`;
          if (ours !== g.flow) bad.push(`frame ${rec.frame}\n  ovs:  ${g.flow}\n  ours: ${ours}`);
        } else if (g.crash !== undefined) {
          totals.crash++;
          expect(status, `frame ${rec.frame}`).to.equal(EXTRACT_OK);
        } else {
          expect(g.error, `frame ${rec.frame}`).to.match(/too short for Ethernet/);
          expect(status, `frame ${rec.frame}`).to.equal(EXTRACT_TOO_SHORT);
          totals.tooShort++;
        }
      }
      expect(bad.join('\n')).to.equal('');
    });
  }

  it('compared every Ethernet frame OVS could trace', () => {
    // 1060 readable records: 925 Ethernet (923 traced by OVS, 1 under 14 bytes, 1 that crashes OVS
    // 3.1) and 135 of other link types.
    expect(totals).to.deep.equal({ compared: 923, tooShort: 1, crash: 1, notEthernet: 135 });
  });
});
