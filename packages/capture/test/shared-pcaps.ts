/** Locates ../shared/pcaps beside the repository and reads its MANIFEST.tsv and truth files. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const PCAPS = resolve(REPO_ROOT, '../shared/pcaps');

export interface ManifestRow {
  file: string;
  /** Link types from the `linktype` column, e.g. "1 (EN10MB),113 (LINUX_SLL)" → [1, 113]. */
  linktypes: number[];
  packets: number;
  categories: string[];
}

export function manifest(): ManifestRow[] {
  const lines = readFileSync(join(PCAPS, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const head = lines[0]!.split('\t');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    if (i < 0) throw new Error(`MANIFEST.tsv has no column ${name}`);
    return i;
  };
  const [f, lt, pk, cat] = [col('file'), col('linktype'), col('packets'), col('categories')];
  return lines.slice(1).map((l) => {
    const c = l.split('\t');
    return {
      file: c[f]!,
      linktypes: [...c[lt]!.matchAll(/(\d+) \(/g)].map((m) => Number(m[1])),
      packets: Number(c[pk]),
      categories: c[cat]!.split(','),
    };
  });
}

export type TruthRow = Record<string, unknown> & { 'frame.number': number; 'frame.len': number; 'frame.cap_len': number; 'frame.protocols': string };

/** The tshark truth of a capture, or null when it has none. */
export function truth(file: string): TruthRow[] | null {
  const p = join(PCAPS, `${file}.truth.jsonl`);
  if (!existsSync(p)) return null;
  return readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TruthRow);
}
