/**
 * Sanity of the committed OVS goldens (test/golden/flow-extract, made by tools/ovs-golden): every
 * record of every readable capture in ../shared/pcaps has its line, in order, and every Ethernet
 * record carries OVS's answer (a flow, or OVS's refusal / crash).
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureError, LINKTYPE_ETHERNET, readCapture, type CaptureFile } from '@tsvs/capture';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PCAPS = resolve(ROOT, '../shared/pcaps');
const GOLDEN = join(ROOT, 'test/golden/flow-extract');

interface GoldenLine {
  frame: number; linktype: number; caplen: number; flow: string | null;
  megaflow?: string | null; actions?: string | null; trace?: string; error?: string; crash?: string; skipped?: string;
}

const captures = readdirSync(PCAPS).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();

describe('golden: OVS flow-extract reference files', () => {
  it('were made with Open vSwitch 3.1', () => {
    const meta = JSON.parse(readFileSync(join(GOLDEN, 'META.json'), 'utf8')) as { ovs: string };
    expect(meta.ovs).to.match(/Open vSwitch\) 3\.1\./);
  });

  it('cover the 67 shared captures: one file per readable capture, none for the unreadable ones', () => {
    expect(captures.length).to.equal(67);
    const files = readdirSync(GOLDEN).filter((f) => f.endsWith('.jsonl')).sort();
    const readable = captures.filter((c) => {
      try { readCapture(join(PCAPS, c)); return true; } catch (e) { if (e instanceof CaptureError) return false; throw e; }
    });
    expect(readable.length).to.equal(65);
    expect(files).to.deep.equal(readable.map((c) => `${c}.jsonl`));
  });

  for (const name of captures) {
    it(`${name}: one line per record, Ethernet records traced`, () => {
      checkCapture(name);
    });
  }

  it('hold a flow for all but 2 of the Ethernet frames (trunc-hdr: 8 bytes; bigtcp: crash)', () => {
    let ethernet = 0;
    let flows = 0;
    for (const name of captures) {
      const n = checkCapture(name);
      ethernet += n.ethernet;
      flows += n.flows;
    }
    expect(ethernet).to.be.greaterThan(900);
    expect(flows).to.equal(ethernet - 2);
  });
});

/** Checks one capture's golden file against the capture; returns its Ethernet and flow counts. */
function checkCapture(name: string): { ethernet: number; flows: number } {
  const gpath = join(GOLDEN, `${name}.jsonl`);
  let cap: CaptureFile;
  try {
    cap = readCapture(join(PCAPS, name));
  } catch (e) {
    expect(e).to.be.instanceOf(CaptureError);
    expect(existsSync(gpath), `${name} cannot be read, so it has no golden file`).to.equal(false);
    return { ethernet: 0, flows: 0 };
  }
  const text = readFileSync(gpath, 'utf8');
  const lines = text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as GoldenLine);
  expect(lines.length).to.equal(cap.count);
  let ethernet = 0;
  let flows = 0;
  for (const r of cap.records) {
    const g = lines[r.frame - 1]!;
    expect([g.frame, g.linktype, g.caplen], `${name} frame ${r.frame}`).to.deep.equal([r.frame, r.linktype, r.caplen]);
    if (r.linktype !== LINKTYPE_ETHERNET) {
      expect(g.flow).to.equal(null);
      expect(g.skipped).to.match(/is not Ethernet/);
      continue;
    }
    ethernet++;
    if (g.flow !== null) {
      flows++;
      expect(g.trace!.startsWith(`Flow: ${g.flow}\n`), `${name} frame ${r.frame}`).to.equal(true);
      expect(g.flow).to.match(/(^|,)in_port=1,/);
      expect(g.megaflow).to.be.a('string');
      expect(g.actions).to.be.a('string');
    } else if (r.caplen < 14) {
      expect(g.error).to.equal('Packet data too short for Ethernet\n');
    } else {
      // The one frame OVS 3.1 cannot trace: 80 KB, it aborts ovs-vswitchd (tools/ovs-golden/README.md).
      expect(r.caplen).to.be.greaterThan(65535);
      expect(g.crash).to.match(/^ovs-vswitchd killed by SIGABRT/);
    }
  }
  return { ethernet, flows };
}
