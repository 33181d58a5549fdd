/**
 * The terminal dashboard of `tsvs watch` (ink: React for terminals). Rendered from a WatchView
 * (rates.ts) that the command refreshes every interval; `q` or Ctrl-C quits (ink restores the
 * terminal). Written with createElement rather than JSX so the package needs no JSX build step.
 */
import { Box, Text, render, useApp, useInput } from 'ink';
import { createElement as h, useEffect, useState, type ReactElement } from 'react';
import type { WatchView } from './rates.js';

const num = (v: number | null, digits = 0): string => (v === null ? '-' : v.toFixed(digits));

function row(cells: string[], widths: number[], key: string, bold = false): ReactElement {
  return h(
    Box,
    { key },
    ...cells.map((c, i) => h(Box, { key: String(i), width: widths[i]! }, h(Text, { bold, wrap: 'truncate' }, c))),
  );
}

function section(title: string, header: string[], widths: number[], rows: string[][]): ReactElement {
  return h(
    Box,
    { flexDirection: 'column', marginTop: 1, key: title },
    h(Text, { color: 'cyan', bold: true }, title),
    row(header, widths, 'h', true),
    ...(rows.length === 0 ? [h(Text, { key: 'none', dimColor: true }, '  (none)')] : rows.map((r, i) => row(r, widths, String(i)))),
  );
}

export function Dashboard(props: { view: WatchView | null; error: string | null; socket: string }): ReactElement {
  const { view, error, socket } = props;
  if (!view) return h(Text, { dimColor: true }, error ?? `connecting to ${socket} ...`);
  const pmdRows = view.pmds.map((p) => [`pmd ${p.pmdId}`, num(p.pps), num(p.emcPct, 1), num(p.megaflowPct, 1), num(p.upcallsPerS), num(p.busyPct, 1)]);
  const portRows = view.ports.map((p) => [p.name, String(p.odpPort), num(p.rxPps), num(p.txPps), num(p.dropsPerS)]);
  const revRows = view.revalidators.map((r) => [String(r.id), String(r.keys), num(r.dumpedPerS)]);
  const r = view.revalidation;
  const restarts = Object.entries(view.restarts).map(([k, n]) => `${k} ${n}`).join('  ');
  return h(
    Box,
    { flexDirection: 'column' },
    h(
      Text,
      null,
      h(Text, { bold: true }, 'tsvs watch'),
      `  ${new Date(view.timeMs).toISOString()}  every ${(view.intervalMs / 1000).toFixed(1)}s   `,
      h(Text, { bold: true }, 'flows '),
      `${view.flows.current}/${view.flows.limit ?? '-'}`,
      `   restarts: ${restarts}`,
    ),
    section('Revalidators', ['thread', 'keys', 'dumped/s'], [12, 12, 12], revRows),
    r
      ? h(
          Text,
          { key: 'round' },
          `  rounds ${r.rounds} this interval, flows deleted/round ${num(r.deletedPerRound, 1)}, modified/round ${num(r.modifiedPerRound, 1)}, last round ${r.lastRoundMs} ms, dump duration ${r.dumpDurationMs} ms`,
        )
      : h(Text, { key: 'round', dimColor: true }, '  no revalidation rounds (OpenFlow layer not running)'),
    section('PMD threads', ['thread', 'packets/s', 'emc hit %', 'megaflow %', 'upcalls/s', 'busy %'], [10, 12, 11, 12, 11, 8], pmdRows),
    section('Ports', ['port', 'odp', 'rx/s', 'tx/s', 'drops/s'], [16, 6, 12, 12, 10], portRows),
    h(Text, { dimColor: true, key: 'help' }, error ? `\n${error}` : '\nq or Ctrl-C to quit'),
  );
}

/**
 * Runs the dashboard until q / Ctrl-C or until `next` rejects (daemon gone): `next` is called
 * every `intervalMs` and returns the new view. Resolves with null on a user quit, or the error.
 */
export async function runDashboard(next: () => Promise<WatchView>, intervalMs: number, socket: string): Promise<Error | null> {
  let failure: Error | null = null;
  function App(): ReactElement {
    const { exit } = useApp();
    const [view, setView] = useState<WatchView | null>(null);
    useInput((input) => {
      if (input === 'q' || input === 'Q') exit();
    });
    useEffect(() => {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const tick = async (): Promise<void> => {
        try {
          const v = await next();
          if (!stopped) setView(v);
        } catch (err) {
          failure = err as Error;
          exit();
          return;
        }
        if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
      };
      void tick();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      };
    }, []);
    return h(Dashboard, { view, error: null, socket });
  }
  const app = render(h(App), { exitOnCtrlC: true });
  await app.waitUntilExit();
  return failure;
}
