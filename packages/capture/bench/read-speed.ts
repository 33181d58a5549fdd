/**
 * Read speed of @tsvs/capture (not a test; numbers go in ../README.md).
 *   pnpm build && pnpm exec tsx packages/capture/bench/read-speed.ts [FRAMES]
 * Writes a temp pcap of FRAMES frames (default 1,000,000) cycling through wikipedia.pcap's frames
 * with PcapWriter, then times: readCapture (read + index), a pass over the index touching every
 * record (no object per frame), and iterating `records` (one object per frame); best of 5 each.
 * Prints one JSON line.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter, readCapture } from '@tsvs/capture';

const frames = Number(process.argv[2] ?? 1_000_000);
const pcaps = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/pcaps');
const src = readCapture(join(pcaps, 'wikipedia.pcap'));
const dir = mkdtempSync(join(tmpdir(), 'tsvs-capture-bench-'));
try {
  const file = join(dir, 'big.pcap');
  const w = new PcapWriter(file);
  const t = process.hrtime.bigint();
  for (let i = 0; i < frames; i++) {
    const k = i % src.count;
    w.writeRange(src.bytes, src.index.offset[k]!, src.index.caplen[k]!, i, 0);
  }
  w.close();
  const writeS = Number(process.hrtime.bigint() - t) / 1e9;
  const best = (f: () => void): number => {
    let b = Infinity;
    for (let r = 0; r < 5; r++) { const t0 = process.hrtime.bigint(); f(); b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e9); }
    return b;
  };
  let cap = readCapture(file);
  const readS = best(() => { cap = readCapture(file); });
  let sum = 0;
  const indexS = best(() => { const x = cap.index; for (let i = 0; i < x.count; i++) sum += cap.bytes[x.offset[i]! + 12]! + x.caplen[i]!; });
  const recordsS = best(() => { for (const r of cap.records) sum += r.data[12]! + r.caplen; });
  console.log(JSON.stringify({
    frames: cap.count,
    file_mb: +(statSync(file).size / 1e6).toFixed(1),
    write_mfps: +(frames / writeS / 1e6).toFixed(2),
    read_index_mfps: +(cap.count / readS / 1e6).toFixed(2),
    walk_index_mfps: +(cap.count / indexS / 1e6).toFixed(2),
    iterate_records_mfps: +(cap.count / recordsS / 1e6).toFixed(2),
    checksum: sum % 1000,
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
