/** Text formatting helpers of the CLI. */

/** 93784000 -> "1d 2h 3m 4s"; under a minute keeps one decimal ("4.2s"). */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (d || h) parts.push(`${h}h`);
  parts.push(`${m}m`, `${s}s`);
  return parts.join(' ');
}

/** Renders a JSON value as indented "key: value" lines (for extension sections of `show`). */
export function formatTree(value: unknown, indent: string): string[] {
  if (value === null || typeof value !== 'object') return [`${indent}${String(value)}`];
  const lines: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object') {
      lines.push(`${indent}${k}:`);
      lines.push(...formatTree(v, indent + '    '));
    } else {
      lines.push(`${indent}${k}: ${String(v)}`);
    }
  }
  return lines;
}
