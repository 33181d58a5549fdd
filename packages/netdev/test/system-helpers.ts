import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LINKTYPE_ETHERNET, readCapture } from '@tsvs/capture';

const here = path.dirname(fileURLToPath(import.meta.url));
export const rawScript = path.join(here, 'system-raw.mjs');
export const workerScript = path.join(here, 'system-worker.mjs');
export const pcaps = path.resolve(here, '../../..', '../shared/pcaps');

/** Whether this process can open packet sockets and namespaces (root). */
export const isRoot = process.getuid?.() === 0;

/** Whether `cmd` is on PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** The Ethernet frames of a shared capture that fit a 1500-byte MTU, copied. */
export function captureFrames(file: string): Uint8Array[] {
  const cap = readCapture(path.join(pcaps, file));
  const out: Uint8Array[] = [];
  for (let i = 0; i < cap.count; i++) {
    const d = cap.record(i).data;
    if (cap.index.linktype[i] === LINKTYPE_ETHERNET && d.length <= 1514) out.push(d.slice());
  }
  return out;
}

export const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

/** Source MAC of the generated test frames (noise from a namespace's own stack has another). */
export const GEN_SRC = '020000eeee01';

/** A UDP/IPv4 frame of flow `flow` (its source port) carrying `seq`, from GEN_SRC, `size` bytes. */
export function udpFrame(flow: number, seq: number, size = 60): Uint8Array {
  const f = new Uint8Array(size);
  f.set(Buffer.from('ffffffffffff' + GEN_SRC + '0800' + '4500' + (size - 14).toString(16).padStart(4, '0') +
    '00004000401100000a0900010a090002', 'hex'));
  const v = new DataView(f.buffer);
  v.setUint16(34, 1000 + flow);
  v.setUint16(36, 9);
  v.setUint16(38, size - 34);
  v.setUint32(42, seq);
  return f;
}

/** UDP source port of a frame given as hex (the flow of `udpFrame`). */
export function flowOf(h: string): number {
  return parseInt(h.slice(68, 72), 16) - 1000;
}

/** Sends frames from inside namespace `ns` out of `ifname` (a child process using the addon). */
export function sendFromNs(ns: string, ifname: string, frames: readonly Uint8Array[], cpu?: number): { sent: number; errors: number; drops: number } {
  const pin = cpu === undefined ? [] : ['taskset', '-c', String(cpu)];
  const r = spawnSync('ip', ['netns', 'exec', ns, ...pin, process.execPath, rawScript, 'send', ifname], {
    input: JSON.stringify({ frames: frames.map(hex) }), encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`send in ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { sent: number; errors: number; drops: number };
}

/**
 * Captures frames arriving on `ifname` inside namespace `ns` while `action` runs: with tcpdump
 * (-Q in, written to a pcap and read back) when it is installed, else with the addon's reader in a
 * child process. Resolves with the frames (hex) once `count` came or `quietMs` passed without one.
 */
export async function captureInNs(ns: string, ifname: string, count: number, action: () => void | Promise<void>, quietMs = 1000): Promise<string[]> {
  if (have('tcpdump')) {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsvs-sys-'));
    const file = path.join(dir, 'cap.pcap');
    try {
      const p = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', ifname, '-Q', 'in', '-U', '-n', '-w', file, '-c', String(count)], { stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        let err = '';
        p.stderr.on('data', (b: Buffer) => {
          err += b.toString();
          if (err.includes('listening on')) resolve();
        });
        p.once('exit', (c) => reject(new Error(`tcpdump exited ${c}: ${err}`)));
      });
      await action();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => p.kill('SIGINT'), quietMs + 2000);
        p.once('exit', () => { clearTimeout(t); resolve(); });
      });
      const cap = readCapture(file);
      return Array.from({ length: cap.count }, (_, i) => hex(cap.record(i).data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, rawScript, 'recv', ifname, String(count), String(quietMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => p.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    if (out.startsWith('ready\n')) resolve();
  }));
  const done = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  await ready;
  await action();
  await done;
  return (JSON.parse(out.slice('ready\n'.length)) as { frames: string[] }).frames;
}

/** Runs a system-worker.mjs collector; `onReady` fires once it has bound its doorbell. */
export function collector(data: Record<string, unknown>, onReady?: () => void): Promise<{ frames: string[]; sleeps: number; timeouts: number; wakeups: number; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerScript, { workerData: data });
    let result: { frames: string[]; sleeps: number; timeouts: number; wakeups: number } | null = null;
    w.on('message', (m: Record<string, unknown>) => {
      if (m['ready']) onReady?.();
      if (m['done']) result = m as unknown as typeof result;
    });
    w.on('error', reject);
    w.on('exit', (code) => (result ? resolve({ ...result, exitCode: code }) : reject(new Error(`collector exited ${code} without a result`))));
  });
}

/** Packet sockets (any process) bound to interface `ifindex` (/proc/net/packet). */
export function packetSockets(ifindex: number): number {
  return readFileSync('/proc/net/packet', 'utf8').split('\n').slice(1)
    .filter((l) => l.trim() !== '' && Number(l.trim().split(/\s+/)[4]) === ifindex).length;
}

/** Thread ids (Linux tids) of this process's threads now. */
export function threadIds(): Set<number> {
  return new Set(readdirSync(`/proc/${process.pid}/task`).map(Number));
}

/**
 * Resolves once `cond()` holds; rejects naming `what` if it still does not after `ms` (a bound on a
 * hang, not a timing requirement: make it generous).
 */
export async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

