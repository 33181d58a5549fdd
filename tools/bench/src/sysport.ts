/**
 * `pnpm bench sysport [--json] [--n N] [--reps R]`: cost per packet of receiving and sending on a
 * live interface (a veth pair, its peer in a network namespace made by tools/netns) through
 *   - addon: the `system` port (@tsvs/netdev: the N-API addon, copying from the PACKET_RX_RING into
 *            PacketPool buffers and from them into the PACKET_TX_RING), bursts of 32
 *            (NETDEV_MAX_BURST); also bursts of 1
 *   - noring: the same port with n_rxq_desc=0 n_txq_desc=0 (recvmmsg / sendmmsg straight into and out of
 *            the pool buffers: the previous implementation), bursts of 32
 *   - pcap:  node_pcap 3.1.0 (libpcap; one 'packet' event per frame on the main thread, immediate
 *            mode as a switch needs; inject() = pcap_inject, one send(2) per frame)
 * 64-byte UDP frames, N per run (default 100000), median of R runs (default 3).
 *
 * Receive: a sender inside the namespace (a child process, the addon's tx socket) and the reader
 * take turns, in chunks of 256 frames: the sender sends a chunk while nobody reads, then the reader
 * empties the socket / capture ring (drain, timed by the reader) with no sender competing for the
 * CPU. Part of a receive path's work happens while a frame arrives, in the sender's context (veth
 * delivers in the sender's softirq): queueing an skb on a socket, or copying the frame into
 * libpcap's mmap ring. So the sender times each chunk too, and the receive cost per packet is
 *   rx = drain + (fill with that receiver open - fill with no receiver).
 * Chunks keep the queues short, as in steady state (a queue of 100k skbs would be cold memory).
 * The pcap path copies each frame into a pool buffer (what a pcap-based port would have to do:
 * libpcap owns the buffer it delivers); so does the addon from its RX ring (noring: recvmmsg
 * writes into the pool buffers).
 * node_pcap runs in a child process: it loads in one thread only, and its close() leaves a uv
 * handle that keeps the process alive until another frame comes (ARCHITECTURE.md §3), so the
 * child exits explicitly.
 * Send: N frames already in pool buffers; the clock runs while they are sent (the veth peer's
 * receive runs in the sender's context, the same kernel work for both). pcap needs a Buffer per
 * frame (a view over the pool, made per packet: inject takes nothing else).
 * Wake-up: 200 single frames, each sent 2 ms after the reader went to sleep; latency from just
 * before the sender's send to the reader running again, through the doorbell (the PMD's way: fd
 * watcher thread + Atomics.notify) and through poll(2) on the socket (p50 and p99, µs).
 * Empty poll: ns per rxqRecv of an rxq with nothing queued, through the ring's peek, against the
 * native recv it called before (empty_poll_native_over_peek) and recvmmsg (emptyPoll).
 * Checks: every received frame counted, the veth's tx_packets counter grows by N per send run.
 * Needs root; prints {"skipped": "..."} otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { nativeNetdev, SystemNetdev } from '@tsvs/netdev';
import { DoorbellBank, PacketPool } from '@tsvs/shm';

const FRAME = 64;
const BURST = 32;
/** Sender command: one frame after 2 ms, reply = its send time (see the sender). */
const WAKE_CMD = 0x7fffffff;

/** A 64-byte Ethernet/IPv4/UDP frame of flow `flow` to a MAC nobody has (the peer drops it early). */
function frame(flow: number): Uint8Array {
  const f = new Uint8Array(FRAME);
  f.set(Buffer.from('020000bbbb02020000bbbb0108004500003200004000401100000a0800010a080002', 'hex'));
  const v = new DataView(f.buffer);
  v.setUint16(34, 1024 + (flow & 0x3fff));
  v.setUint16(36, 9);
  v.setUint16(38, FRAME - 34);
  return f;
}

/** Whether the frame at data[o] has the generated frames' source MAC. */
function isOurs(data: Uint8Array, o: number): boolean {
  return data[o + 6] === 0x02 && data[o + 7] === 0 && data[o + 8] === 0 && data[o + 9] === 0xbb && data[o + 10] === 0xbb && data[o + 11] === 0x01;
}

// ---- the sender, run as a child inside the namespace: node sysport.js --sysport-sender IF CMD REPLY ----
// Reads a Uint32 count from the CMD fifo, sends that many frames, writes the Float64 ns it took to
// REPLY; count 0 ends it. WAKE_CMD: waits 2 ms (the reader is asleep by then), sends one frame and
// replies with the monotonic time (ns) taken just before sending it.
if (process.argv[2] === '--sysport-sender') {
  const a = nativeNetdev();
  const [ifname, cmdPath, replyPath] = process.argv.slice(3) as [string, string, string];
  const cmd = openSync(cmdPath, 'r'), reply = openSync(replyPath, 'w');
  const fd = a.openTx(ifname);
  const data = new Uint8Array(64 * FRAME), offs = new Int32Array(64), lens = new Int32Array(64).fill(FRAME), res = new Int32Array(4);
  for (let j = 0; j < 64; j++) {
    offs[j] = j * FRAME;
    data.set(frame(j), j * FRAME); // 64 flows (UDP source ports)
  }
  const word = new Uint32Array(1), took = new Float64Array(1);
  for (;;) {
    if (readSync(cmd, word) !== 4 || word[0] === 0) break;
    const n = word[0]!;
    if (n === WAKE_CMD) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      took[0] = Number(process.hrtime.bigint());
      a.send(fd, data, offs, lens, 1, res);
      writeSync(reply, took);
      continue;
    }
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i += 64) a.send(fd, data, offs, lens, Math.min(64, n - i), res);
    took[0] = Number(process.hrtime.bigint() - t0);
    writeSync(reply, took);
  }
  a.close(fd);
  process.exit(0);
}

interface PcapSession {
  on(ev: 'packet', cb: (p: { buf: Buffer; header: Buffer }) => void): void;
  inject(b: Buffer): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  close(): void;
}
interface PcapModule {
  createSession(dev: string, opts: { buffer_size?: number; buffer_timeout?: number; filter?: string; snap_length?: number; promiscuous?: boolean }): PcapSession;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const netnsCli = fileURLToPath(new URL('../../netns/cli.ts', import.meta.url));

function netns(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', netnsCli, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`netns ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The sender child inside `ns`, driven synchronously through two fifos. */
class Sender {
  private readonly dir: string;
  private readonly cmd: number;
  private readonly reply: number;
  private readonly word = new Uint32Array(1);
  private readonly took = new Float64Array(1);

  constructor(ns: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'tsvs-sysport-'));
    const cmd = join(this.dir, 'cmd'), reply = join(this.dir, 'reply');
    for (const f of [cmd, reply]) if (spawnSync('mkfifo', [f]).status !== 0) throw new Error(`mkfifo ${f} failed`);
    spawn('ip', ['netns', 'exec', ns, process.execPath, `${here}sysport.js`, '--sysport-sender', 'eth0', cmd, reply], { stdio: 'inherit' })
      .on('error', (e) => process.stderr.write(`sysport: sender: ${e.message}\n`));
    // Same order as the child (cmd, then reply): each open waits for the other side.
    this.cmd = openSync(cmd, 'w');
    this.reply = openSync(reply, 'r');
  }

  /** Sends n frames; returns the sender's ns for them. */
  fill(n: number): number {
    this.command(n);
    return this.result();
  }

  /** Sends a command without waiting for the reply. */
  command(n: number): void {
    this.word[0] = n;
    writeSync(this.cmd, this.word);
  }

  /** The reply to the last command. */
  result(): number {
    if (readSync(this.reply, this.took) !== 8) throw new Error('sender died');
    return this.took[0]!;
  }

  close(): void {
    this.word[0] = 0;
    try { writeSync(this.cmd, this.word); } catch { /* gone already */ }
    closeSync(this.cmd);
    closeSync(this.reply);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const CHUNK = 256;

/** Sender ns per packet with no receiver open (the baseline of the fill delta). */
function fillBaseline(ns: string, n: number): number {
  const s = new Sender(ns);
  let t = 0;
  for (let i = 0; i < n; i += CHUNK) t += s.fill(CHUNK);
  s.close();
  return t / n;
}

/** Runs one node_pcap measurement in a child process (see the module comment). */
function pcapChild(args: string[]): Record<string, number> {
  const r = spawnSync(process.execPath, [`${here}sysport.js`, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pcap child ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

/** The addon as it was before the rings: recvmmsg and sendmmsg (the previous implementation). */
const NO_RINGS = { n_rxq_desc: '0', n_txq_desc: '0' };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number): number => Math.round(x * 10) / 10;
const txPackets = (ifname: string): number => Number(readFileSync(`/sys/class/net/${ifname}/statistics/tx_packets`, 'utf8'));

/**
 * Poll of an empty rxq, ns per call (what a PMD pays per rxq and loop iteration while the rxq is
 * idle): rxqRecv on the RX ring (a peek at the head frame's tp_status, no native call), the native
 * recv on the same socket (what every empty poll made before the peek, without rxqRecv's own JS
 * around it: a lower bound of the previous cost), and rxqRecv with recvmmsg (n_rxq_desc=0).
 * Frames that happen to come (the namespace's own stack) are received and not counted.
 */
function emptyPoll(outer: string, n: number): { peekNs: number; nativeNs: number; noringNs: number } {
  const pool = PacketPool.create({ nBufs: 256 });
  const a = nativeNetdev();
  const time = (port: SystemNetdev, native: boolean): number => {
    const ids = new Uint32Array(BURST), offs = new Int32Array(BURST), lens = new Int32Array(BURST);
    for (let i = 0; i < BURST; i++) offs[i] = pool.headroom + i * pool.stride;
    const fd = port.rxqFd(0), cap = pool.dataRoom;
    let best = Infinity;
    for (let rep = 0; rep < 5; rep++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        if (native) a.recv(fd, pool.data, offs, lens, BURST, cap);
        else {
          const r = port.rxqRecv(0, ids, BURST);
          if (r > 0) pool.freeBatch(ids, 0, r);
        }
      }
      const ns = Number(process.hrtime.bigint() - t0) / n;
      if (ns < best) best = ns;
    }
    return best;
  };
  const ring = SystemNetdev.create({ name: outer, type: 'system' }, { pool });
  const noring = SystemNetdev.create({ name: outer, type: 'system', options: NO_RINGS }, { pool });
  try {
    return { peekNs: time(ring, false), nativeNs: time(ring, true), noringNs: time(noring, false) };
  } finally {
    ring.destroy();
    noring.destroy();
  }
}

/** Addon receive: fill and drain ns/packet, chunks of CHUNK frames, bursts of `burst`. */
function addonRx(outer: string, ns: string, n: number, burst: number, options: Record<string, string> = {}): { fillNs: number; drainNs: number; drops: number } {
  const pool = PacketPool.create({ nBufs: 4096 });
  const port = SystemNetdev.create({ name: outer, type: 'system', options }, { pool });
  const sender = new Sender(ns);
  try {
    const ids = new Uint32Array(BURST);
    const data = pool.data;
    let fill = 0, drain = 0, lost = 0, got = 0;
    for (let c = 0; c < n; c += CHUNK) {
      fill += sender.fill(CHUNK);
      const want = got + CHUNK;
      let empty = 0;
      const t0 = process.hrtime.bigint();
      while (got < want && empty < 10000) {
        const k = port.rxqRecv(0, ids, burst);
        if (k === 0) { empty++; continue; }
        // Count only our frames (the namespace's own stack may say something meanwhile).
        for (let i = 0; i < k; i++) if (isOurs(data, pool.frameOffset(ids[i]!))) got++;
        pool.freeBatch(ids, 0, k);
      }
      drain += Number(process.hrtime.bigint() - t0);
      if (got < want) { lost += want - got; got = want; }
    }
    return { fillNs: fill / n, drainNs: drain / n, drops: lost };
  } finally {
    sender.close();
    port.destroy();
  }
}

/** pcap receive (child): fill and drain ns/packet; each frame is copied into a pool buffer. */
async function pcapRx(pcap: PcapModule, outer: string, ns: string, n: number): Promise<{ fillNs: number; drainNs: number; drops: number }> {
  const pool = PacketPool.create({ nBufs: 4096 });
  const s = pcap.createSession(outer, { buffer_timeout: 0, snap_length: 2048 });
  const sender = new Sender(ns);
  let got = 0, want = 0;
  let t1 = 0n;
  let done: (() => void) | null = null;
  s.on('packet', (p) => {
    const len = p.header.readUInt32LE(8); // caplen
    const id = pool.alloc();
    pool.write(id, p.buf, 0, len);
    pool.free(id);
    if (isOurs(p.buf, 0) && ++got === want) {
      t1 = process.hrtime.bigint();
      done?.();
    }
  });
  let fill = 0, drain = 0, lost = 0;
  for (let c = 0; c < n; c += CHUNK) {
    want = got + CHUNK;
    const finished = new Promise<void>((r) => (done = r));
    // Synchronous: the event loop is blocked while the sender runs, the frames wait in the ring.
    fill += sender.fill(CHUNK);
    const t0 = process.hrtime.bigint();
    const timeout = setTimeout(() => { t1 = process.hrtime.bigint(); done?.(); }, 2000);
    await finished;
    clearTimeout(timeout);
    drain += Number(t1 - t0);
    if (got < want) { lost += want - got; got = want; }
  }
  sender.close();
  const st = s.stats();
  s.close();
  return { fillNs: fill / n, drainNs: drain / n, drops: lost + st.ps_drop };
}

/**
 * Wake-up latency (µs, [p50, p99]) from a frame sent in the namespace to a reader asleep on it:
 * 'doorbell' = a PMD's way (Atomics.wait on its doorbell slot, armed by rxqWaitHint, rung by the
 * fd watcher thread); 'poll' = sleeping in poll(2) on the socket itself.
 */
function wakeLatency(outer: string, ns: string, reps: number, how: 'doorbell' | 'poll'): [number, number] {
  const pool = PacketPool.create({ nBufs: 1024 });
  const bank = DoorbellBank.create(2);
  const port = SystemNetdev.create({ name: outer, type: 'system' }, { pool, bank });
  const slot = bank.allocSlot();
  port.rxqBindDoorbell(0, slot);
  const a = nativeNetdev();
  const fds = Int32Array.of(port.rxqFd(0)), rev = new Int32Array(1);
  const sender = new Sender(ns);
  const ids = new Uint32Array(BURST);
  const lat: number[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      while (port.rxqRecv(0, ids, BURST) > 0) pool.freeBatch(ids, 0, BURST);
      sender.command(WAKE_CMD);
      let woke = 0, ours = false;
      while (!ours) {
        if (how === 'doorbell') {
          const seq = bank.prepareSleep(slot);
          if (port.rxqWaitHint(0) === 0) bank.endSleep(slot);
          else bank.sleep(slot, seq, 1000);
        } else a.poll(fds, 1, 1000, rev);
        woke = Number(process.hrtime.bigint());
        for (let k = port.rxqRecv(0, ids, BURST); k > 0; k = port.rxqRecv(0, ids, BURST)) {
          for (let j = 0; j < k; j++) if (isOurs(pool.data, pool.frameOffset(ids[j]!))) ours = true;
          pool.freeBatch(ids, 0, k);
        }
      }
      lat.push((woke - sender.result()) / 1000);
    }
  } finally {
    sender.close();
    port.rxqBindDoorbell(0, -1);
    port.destroy();
  }
  lat.sort((x, y) => x - y);
  return [round(lat[Math.floor(lat.length / 2)]!), round(lat[Math.floor(lat.length * 0.99)]!)];
}

/** Frames in n pool buffers (prepared before the clock runs). */
function prepared(pool: PacketPool, n: number): Uint32Array {
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const id = pool.alloc();
    const f = frame(i);
    pool.write(id, f, 0, f.length);
    ids[i] = id;
  }
  return ids;
}

function addonTx(outer: string, n: number, burst: number, options: Record<string, string> = {}): { ns: number; lost: number } {
  const pool = PacketPool.create({ nBufs: n + 1024 });
  const port = SystemNetdev.create({ name: outer, type: 'system', options }, { pool });
  try {
    const ids = prepared(pool, n);
    const before = txPackets(outer);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i += burst) port.send(0, ids.subarray(i, i + burst), Math.min(burst, n - i));
    const dt = Number(process.hrtime.bigint() - t0);
    return { ns: dt / n, lost: n - (txPackets(outer) - before) };
  } finally {
    port.destroy();
  }
}

function pcapTx(pcap: PcapModule, outer: string, n: number): { ns: number; lost: number } {
  const pool = PacketPool.create({ nBufs: n + 1024 });
  // A filter nothing matches keeps libpcap's receive side idle.
  const s = pcap.createSession(outer, { buffer_timeout: 0, filter: 'ether proto 0x88b5', snap_length: 2048 });
  try {
    const ids = prepared(pool, n);
    const data = pool.data;
    const before = txPackets(outer);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      s.inject(Buffer.from(data.buffer, data.byteOffset + pool.frameOffset(id), pool.frameLen(id)));
      pool.free(id);
    }
    const dt = Number(process.hrtime.bigint() - t0);
    return { ns: dt / n, lost: n - (txPackets(outer) - before) };
  } finally {
    s.close();
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { skipped: 'sysport needs root (packet sockets, network namespaces)' };
  const opt = (k: string, d: number): number => {
    const i = args.indexOf(`--${k}`);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const n = opt('n', 100000), reps = opt('reps', 3);
  const prefix = `bsys${process.pid % 100000}`;
  const hosts = (JSON.parse(netns(['up', '--hosts', '1', '--prefix', prefix, '--json'])) as { hosts: { ns: string; outer: string }[] }).hosts;
  const { ns, outer } = hosts[0]!;
  const cleanup = (): void => { spawnSync(process.execPath, ['--import', 'tsx', netnsCli, 'down', '--prefix', prefix]); };
  process.once('SIGINT', () => { cleanup(); process.exit(130); });
  try {
    const r: Record<string, number[]> = {};
    const add = (k: string, v: number): void => { (r[k] ??= []).push(v); };
    // Warm-up (JIT, socket and ring allocation), not counted.
    addonRx(outer, ns, 10000, BURST);
    for (let i = 0; i < reps; i++) {
      process.stderr.write(`sysport: run ${i + 1}/${reps}\n`);
      add('fill_no_receiver_ns_per_pkt', fillBaseline(ns, n));
      const a = addonRx(outer, ns, n, BURST);
      add('addon_rx_fill_ns_per_pkt', a.fillNs); add('addon_rx_drain_ns_per_pkt', a.drainNs); add('addon_rx_drops', a.drops);
      const a1 = addonRx(outer, ns, n, 1);
      add('addon_rx_burst1_drain_ns_per_pkt', a1.drainNs);
      const a0 = addonRx(outer, ns, n, BURST, NO_RINGS);
      add('noring_rx_fill_ns_per_pkt', a0.fillNs); add('noring_rx_drain_ns_per_pkt', a0.drainNs); add('noring_rx_drops', a0.drops);
      const p = pcapChild(['--sysport-pcap-rx', outer, ns, String(n)]);
      add('pcap_rx_fill_ns_per_pkt', p['fillNs']!); add('pcap_rx_drain_ns_per_pkt', p['drainNs']!); add('pcap_rx_drops', p['drops']!);
      const at = addonTx(outer, n, BURST);
      add('addon_tx_ns_per_pkt', at.ns); add('addon_tx_lost', at.lost);
      const at1 = addonTx(outer, n, 1);
      add('addon_tx_burst1_ns_per_pkt', at1.ns);
      const at0 = addonTx(outer, n, BURST, NO_RINGS);
      add('noring_tx_ns_per_pkt', at0.ns); add('noring_tx_lost', at0.lost);
      const pt = pcapChild(['--sysport-pcap-tx', outer, String(n)]);
      add('pcap_tx_ns_per_pkt', pt['ns']!); add('pcap_tx_lost', pt['lost']!);
      const ep = emptyPoll(outer, n);
      add('empty_poll_peek_ns', ep.peekNs); add('empty_poll_native_ns', ep.nativeNs); add('empty_poll_noring_ns', ep.noringNs);
    }
    const [dbP50, dbP99] = wakeLatency(outer, ns, 200, 'doorbell');
    const [pollP50, pollP99] = wakeLatency(outer, ns, 200, 'poll');
    const m: Record<string, number> = {
      wake_doorbell_us_p50: dbP50, wake_doorbell_us_p99: dbP99, wake_poll_us_p50: pollP50, wake_poll_us_p99: pollP99,
    };
    for (const [k, v] of Object.entries(r)) m[k] = round(median(v));
    const base = m['fill_no_receiver_ns_per_pkt']!;
    const addonRxNs = round(m['addon_rx_drain_ns_per_pkt']! + m['addon_rx_fill_ns_per_pkt']! - base);
    const pcapRxNs = round(m['pcap_rx_drain_ns_per_pkt']! + m['pcap_rx_fill_ns_per_pkt']! - base);
    const noringRxNs = round(m['noring_rx_drain_ns_per_pkt']! + m['noring_rx_fill_ns_per_pkt']! - base);
    return {
      frame_bytes: FRAME, burst: BURST, packets_per_run: n, reps,
      addon_rx_ns_per_pkt: addonRxNs, pcap_rx_ns_per_pkt: pcapRxNs,
      addon_tx_ns_per_pkt: m['addon_tx_ns_per_pkt'], pcap_tx_ns_per_pkt: m['pcap_tx_ns_per_pkt'],
      rx_pcap_over_addon: round(pcapRxNs / addonRxNs),
      tx_pcap_over_addon: round(m['pcap_tx_ns_per_pkt']! / m['addon_tx_ns_per_pkt']!),
      noring_rx_ns_per_pkt: noringRxNs, noring_tx_ns_per_pkt: m['noring_tx_ns_per_pkt'],
      rx_noring_over_addon: round(noringRxNs / addonRxNs),
      tx_noring_over_addon: round(m['noring_tx_ns_per_pkt']! / m['addon_tx_ns_per_pkt']!),
      empty_poll_native_over_peek: round(m['empty_poll_native_ns']! / m['empty_poll_peek_ns']!),
      ...m,
    };
  } finally {
    cleanup();
  }
}

// ---- node_pcap measurements, run as a child: node sysport.js --sysport-pcap-rx OUTER NS N | --sysport-pcap-tx OUTER N ----
if (process.argv[2] === '--sysport-pcap-rx' || process.argv[2] === '--sysport-pcap-tx') {
  const pcap = createRequire(import.meta.url)('pcap') as PcapModule;
  const [mode, outer, a3, a4] = process.argv.slice(2) as [string, string, string, string?];
  const r = mode === '--sysport-pcap-rx' ? await pcapRx(pcap, outer, a3, Number(a4)) : pcapTx(pcap, outer, Number(a3));
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0); // node_pcap's closed session would keep the process alive
}
