/**
 * `pnpm bench ring [--json] [--reps N] [--scale F] [--only kind,kind]`: moving 32-bit descriptors between two real
 * worker threads in batches of 32, over
 *   - tsvs:               @tsvs/shm SpscRing, both sides spinning
 *   - tsvs_doorbell:      the same ring, the consumer sleeping on its doorbell whenever it is empty
 *   - ringbufjs:          ringbuf.js 0.4 RingBuffer<Uint32Array> (the design card's proposal)
 *   - postmessage_batch:  one MessagePort message per batch (a Uint32Array(32), structured clone)
 *   - postmessage_single: one message per item
 * Figures are items per second (millions, median of --reps runs; variants take turns in each
 * repetition), the median of the per-repetition ratios, and the doorbell
 * wake-up latency (push into an empty ring -> sleeping consumer has the item; p50/p99 in µs).
 * Each run checks the consumer's sum of items, so a lossy transport cannot look fast.
 */
import { Worker } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { RingBuffer } from 'ringbuf.js';
import { DoorbellBank, SpscRing } from '@tsvs/shm';

const workerFile = fileURLToPath(new URL('./_ring-worker.js', import.meta.url));
const RING_CAPACITY = 4096;

type Kind = 'tsvs' | 'tsvs_doorbell' | 'ringbufjs' | 'postmessage_batch' | 'postmessage_single' | 'wake';

interface Result { ms: number; items: number; sum: number; [k: string]: unknown }

function start(data: Record<string, unknown>, transfer: readonly unknown[] = []): { w: Worker; done: Promise<Result> } {
  const w = new Worker(workerFile, { workerData: data, transferList: transfer as never });
  const done = new Promise<Result>((resolve, reject) => {
    w.once('message', (m: Result) => resolve(m));
    w.once('error', reject);
    w.once('exit', (c) => reject(new Error(`ring worker exited ${c}`)));
  });
  return { w, done };
}

async function runPair(kind: Kind, items: number): Promise<{ mps: number; consumer: Result }> {
  const ctl = new SharedArrayBuffer(128);
  const c32 = new Int32Array(ctl);
  const base: Record<string, unknown> = { kind, items, ctl };
  const prodData: Record<string, unknown> = { ...base, role: 'producer' };
  const consData: Record<string, unknown> = { ...base, role: 'consumer' };
  const prodTransfer: unknown[] = [], consTransfer: unknown[] = [];
  if (kind === 'tsvs' || kind === 'tsvs_doorbell' || kind === 'wake') {
    const bank = kind === 'tsvs' ? null : DoorbellBank.create(2);
    const ring = SpscRing.create(kind === 'wake' ? 16 : RING_CAPACITY, bank);
    prodData['ring'] = consData['ring'] = ring.descriptor();
    if (kind === 'wake') prodData['stamps'] = consData['stamps'] = new SharedArrayBuffer(items * 8);
  } else if (kind === 'ringbufjs') {
    prodData['rbSab'] = consData['rbSab'] = RingBuffer.getStorageForCapacity(RING_CAPACITY, Uint32Array as never);
  } else {
    const ch = new MessageChannel();
    prodData['port'] = ch.port1;
    consData['port'] = ch.port2;
    prodTransfer.push(ch.port1);
    consTransfer.push(ch.port2);
  }
  const cons = start(consData, consTransfer);
  const prod = start(prodData, prodTransfer);
  while (Atomics.load(c32, 1) < 2) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  Atomics.store(c32, 0, 1);
  Atomics.notify(c32, 0);
  const [, c] = await Promise.all([prod.done, cons.done]);
  const wall = performance.now() - t0;
  await Promise.all([prod.w.terminate(), cons.w.terminate()]);
  if (kind !== 'wake') {
    const expectSum = (items * (items - 1)) / 2;
    if (c.items !== items || c.sum !== expectSum) throw new Error(`${kind}: consumer got ${c.items} items, sum ${c.sum} (want ${items}, ${expectSum})`);
  }
  return { mps: items / wall / 1000, consumer: c };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function argNum(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`ring: bad value for ${name}: '${args[i + 1]}'`);
  return v;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const reps = argNum(args, '--reps', 3);
  const scale = argNum(args, '--scale', 1);
  // Sized for roughly 0.3-1 s per run on these machines; multiples of 32.
  const items = (n: number): number => Math.max(32, Math.round((n * scale) / 32) * 32);
  const plan: [Kind, number][] = [
    ['tsvs', items(64e6)],
    ['tsvs_doorbell', items(32e6)],
    ['ringbufjs', items(32e6)],
    ['postmessage_batch', items(8e6)],
    ['postmessage_single', items(4e5)],
  ];
  const oi = args.indexOf('--only');
  const only = oi >= 0 ? new Set((args[oi + 1] ?? '').split(',')) : null;
  // Other processes on the 2 vCPUs make spinning pairs collapse: record the load next to the figures.
  const out: Record<string, unknown> = { batch: 32, item_bytes: 4, ring_capacity: RING_CAPACITY, reps, loadavg_1m_at_start: Number(loadavg()[0]!.toFixed(2)) };
  const rates: Record<string, number> = {};
  const runs: Record<string, number[]> = {};
  const kinds = plan.filter(([k]) => !only || only.has(k));
  // Variants take turns within each repetition, so that a burst of load from other processes hits
  // them alike; ratios are computed per repetition (paired) and their median is reported.
  for (let r = 0; r < reps; r++) {
    for (const [kind, n] of kinds) {
      const { mps } = await runPair(kind, n);
      (runs[kind] ??= []).push(mps);
      process.stderr.write(`ring: rep ${r + 1}/${reps} ${kind}: ${mps.toFixed(1)} M items/s\n`);
    }
  }
  for (const [kind] of kinds) {
    const rs = runs[kind]!;
    rates[kind] = median(rs);
    out[`${kind}_mitems_s`] = Number(rates[kind]!.toFixed(2));
    out[`${kind}_mitems_s_best`] = Number(Math.max(...rs).toFixed(2));
    out[`${kind}_mitems_s_runs`] = rs.map((x) => Number(x.toFixed(2)));
  }
  const ratio = (a: string, b: string): number | null => {
    if (!runs[a] || !runs[b]) return null;
    return Number(median(runs[a]!.map((x, i) => x / runs[b]![i]!)).toFixed(2));
  };
  out['tsvs_vs_ringbufjs'] = ratio('tsvs', 'ringbufjs');
  out['tsvs_vs_postmessage_batch'] = ratio('tsvs', 'postmessage_batch');
  out['tsvs_vs_postmessage_single'] = ratio('tsvs', 'postmessage_single');
  out['tsvs_doorbell_vs_tsvs'] = ratio('tsvs_doorbell', 'tsvs');
  out['tsvs_doorbell_vs_ringbufjs'] = ratio('tsvs_doorbell', 'ringbufjs');
  if (only && !only.has('wake')) return out;
  const wake = await runPair('wake', 200);
  out['doorbell_wake_p50_us'] = Number((wake.consumer['p50_us'] as number).toFixed(1));
  out['doorbell_wake_p99_us'] = Number((wake.consumer['p99_us'] as number).toFixed(1));
  out['doorbell_wake_max_us'] = Number((wake.consumer['max_us'] as number).toFixed(1));
  return out;
}
