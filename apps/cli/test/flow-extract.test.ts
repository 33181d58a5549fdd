/**
 * End to end: the real CLI (`node apps/cli/bin/run.js flow-extract ...`, built dist) against the
 * OVS 3.1 goldens of test/golden/flow-extract and the exit-status contract.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PCAPS = resolve(ROOT, '../shared/pcaps');
const RUN = join(ROOT, 'apps/cli/bin/run.js');

interface Run { status: number | null; stdout: string; stderr: string; lines: string[] }

function tsvs(...args: string[]): Run {
  const r = spawnSync(process.execPath, [RUN, 'flow-extract', ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout === '' ? [] : r.stdout.replace(/\n$/, '').split('\n') };
}

function golden(capture: string): Array<{ flow: string | null; skipped?: string; error?: string }> {
  return readFileSync(join(ROOT, 'test/golden/flow-extract', `${capture}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('tsvs flow-extract (CLI end to end)', () => {
  for (const capture of ['wikipedia.pcap', 'icmp6-nd-options.pcap', 'VlanPackets.pcap', 'pcapng-example.pcapng', 'trunc-hdr.pcap', 'mixed-vlan-mpls.pcap']) {
    it(`${capture}: one line per record, equal to OVS's Flow: text (or "!" for non-Ethernet/too short)`, () => {
      const r = tsvs(join(PCAPS, capture));
      expect(r.stderr).to.equal('');
      expect(r.status).to.equal(0);
      const g = golden(capture);
      expect(r.lines.length).to.equal(g.length);
      g.forEach((gl, i) => {
        if (gl.flow !== null) expect(r.lines[i], `record ${i + 1}`).to.equal(gl.flow);
        else expect(r.lines[i], `record ${i + 1}`).to.match(gl.skipped ? /^! link type \d+ \(\w+\) is not Ethernet$/ : /^! too short/);
      });
    });
  }

  it('--in-port sets in_port; --format json gives one object per line; --format odp one ODP key per line', () => {
    const file = join(PCAPS, 'arp.pcap');
    expect(tsvs(file, '--in-port', '7').lines[0]).to.match(/^arp,in_port=7,vlan_tci=0x0000,/);
    const json = tsvs(file, '--format', 'json');
    expect(json.status).to.equal(0);
    expect(json.lines.length).to.equal(6);
    expect(JSON.parse(json.lines[0]!)).to.deep.equal({
      in_port: 1, vlan_tci: 0, dl_src: '00:b0:4a:2e:1c:38', dl_dst: 'ff:ff:ff:ff:ff:ff', dl_type: 0x0806,
      arp_spa: '192.150.187.1', arp_tpa: '192.150.187.20', arp_op: 1, arp_sha: '00:b0:4a:2e:1c:38', arp_tha: '00:00:00:00:00:00',
    });
    const odp = tsvs(file, '--format', 'odp');
    expect(odp.status).to.equal(0);
    expect(odp.lines.length).to.equal(6);
    expect(odp.lines[0]).to.match(/^recirc_id\(0\),in_port\(1\),eth\(src=00:b0:4a:2e:1c:38,dst=ff:ff:ff:ff:ff:ff\),eth_type\(0x0806\),arp\(/);
  });

  it('exit 2 with one stderr line: unreadable file, missing file, only non-Ethernet link types', () => {
    for (const [file, msg] of [
      [join(PCAPS, 'pcap-invalid-version-1.pcap'), /unsupported pcap version.*0 frames read/],
      [join(PCAPS, 'pcapng-invalid-vers-1.pcapng'), /0 frames read/],
      ['/nonexistent/capture.pcap', /cannot read file/],
      [join(PCAPS, 'forces1.pcap'), /link type 113 \(LINUX_SLL\) is not Ethernet/],
      [join(PCAPS, 'LINKTYPE_IPV6.pcap'), /link type 229 \(IPV6\) is not Ethernet/],
    ] as const) {
      const r = tsvs(file);
      expect(r.status, file).to.equal(2);
      expect(r.stdout, file).to.equal('');
      expect(r.stderr.split('\n').filter(Boolean).length, file).to.equal(1);
      expect(r.stderr, file).to.match(msg);
    }
  });

  it('damaged file: lines for the frames before the damage, then exit 2 saying how many were read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-flow-extract-'));
    try {
      const cut = join(dir, 'cut.pcap');
      writeFileSync(cut, readFileSync(join(PCAPS, 'arp.pcap')).subarray(0, 300));
      const r = tsvs(cut);
      expect(r.status).to.equal(2);
      expect(r.lines).to.deep.equal(golden('arp.pcap').slice(0, 4).map((g) => g.flow));
      expect(r.stderr).to.match(/^tsvs flow-extract: .*cut\.pcap: .*\(4 frames read before the failure\)\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('usage errors: bad --format', () => {
    const r = tsvs(join(PCAPS, 'arp.pcap'), '--format', 'xml');
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/format/);
  });
});
