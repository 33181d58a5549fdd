/**
 * The `system` port: a live Linux interface (a veth here), read and written through AF_PACKET
 * sockets by the native addon (see fd-netdev.ts for the data path, watcher.ts for wake-ups).
 *
 * Options (OVS options:key=value, all optional):
 *   n_rxq=N   (1..32, default 1)  receive queues: N sockets in one PACKET_FANOUT group in hash mode
 *             (the kernel's flow hash picks a socket, so a flow stays on one rxq); the group ignores
 *             outgoing frames (PACKET_FANOUT_FLAG_IGNORE_OUTGOING), a lone socket sets
 *             PACKET_IGNORE_OUTGOING: the port never receives what it (or anything else) sends.
 *   fanout=hash|cpu (default hash; cpu needs n_rxq >= 2)  how the group picks a socket. cpu
 *             (PACKET_FANOUT_CPU): rxq q gets the frames the kernel received on CPUs c with
 *             c % n_rxq == q; on a veth that is the CPU the sender ran on. A PMD then knows where
 *             its lone packets come from and sleeps there (packages/dpif pmd-loop.ts: an idle vCPU
 *             takes tens of µs to wake, a busy one is preempted at once). Best with n_rxq = CPUs.
 *             A flow whose sender moves between CPUs moves between rxqs.
 *   n_txq=N   (1..64, default 1)  transmit-only sockets (bound with protocol 0: they receive nothing)
 *   rcvbuf=B  (0..2^30, default 1048576) SO_RCVBUFFORCE of each rxq socket, bytes (0: kernel default)
 *   n_rxq_desc=F (0..65536, default 512) frames of each rxq socket's PACKET_RX_RING, each holding
 *             a frame as long as a pool buffer's data room (2 KiB with the default pool), in 64 KiB
 *             blocks: the kernel copies frames in, the PMD reads them without a system call
 *             (native/src/rx_ring.c). 0, or a kernel that refuses the ring: recvmmsg, and rcvbuf
 *             applies. (The name is OVS's for a DPDK port's ring size.)
 *   n_txq_desc=F (0..65536, default 512) frames of each txq socket's PACKET_TX_RING (2 KiB each,
 *             rounded up to 32): a send burst is one send() (native/src/tx_ring.c says why). 0, or
 *             a kernel that refuses the ring: sendmmsg
 *
 * Every rxq socket puts the interface in promiscuous mode (PACKET_MR_PROMISC, dropped by the
 * kernel when the socket closes) and asks for PACKET_AUXDATA, so VLAN tags the kernel took out of
 * received frames are put back. Needs CAP_NET_RAW; without it `createNetdev` throws NetdevError
 * `cannot open system port NAME: Operation not permitted (needs root or CAP_NET_RAW)`.
 * `destroy()` (owner) closes the sockets.
 */
import type { PacketPool } from '@tsvs/shm';
import { NetdevError, registerNetdevProvider } from '../netdev.js';
import type { NetdevContext, NetdevDescriptor, NetdevSpec } from '../netdev.js';
import { PortOptions } from '../options.js';
import { nativeNetdev } from './addon.js';
import { FdNetdev, fdSharedMemory, rxqSlotWord } from './fd-netdev.js';
import type { FdShared } from './fd-netdev.js';
import { checkIfName, openError } from './open-error.js';
import { watchRxqFd } from './watcher.js';

/** Default frames of an rxq's RX ring: 1 MiB with the default pool, as the default rcvbuf. */
export const RX_RING_FRAMES = 512;
/** Default frames of a txq's TX ring: 1 MiB, a few batches of every PMD in flight at once. */
export const TX_RING_FRAMES = 512;

const OPTION_KEYS = ['n_rxq', 'n_txq', 'rcvbuf', 'n_rxq_desc', 'n_txq_desc', 'fanout'] as const;

export class SystemNetdev extends FdNetdev {
  readonly type = 'system';

  /** Opens the port's sockets (see the module comment). Throws NetdevError, one line. */
  static create(spec: NetdevSpec, ctx: NetdevContext): SystemNetdev {
    const opts = spec.options ?? {};
    const o = new PortOptions(spec.name, 'system', opts, OPTION_KEYS);
    const nRxq = o.int('n_rxq', 1, 1, 32);
    const nTxq = o.int('n_txq', 1, 1, 64);
    const rcvbuf = o.int('rcvbuf', 1 << 20, 0, 1 << 30);
    const rxRing = o.int('n_rxq_desc', RX_RING_FRAMES, 0, 65536);
    const txRing = o.int('n_txq_desc', TX_RING_FRAMES, 0, 65536);
    const cpuFanout = o.choice('fanout', 'hash', ['hash', 'cpu']) === 'cpu';
    if (cpuFanout && nRxq < 2) throw new NetdevError(`${spec.name}: option fanout=cpu needs n_rxq of 2 or more`);
    checkIfName('system', spec.name);
    let a;
    try {
      a = nativeNetdev();
    } catch (e) {
      throw openError('system', spec.name, e, 'CAP_NET_RAW');
    }
    const rxFds: number[] = [], txFds: number[] = [];
    let ifindex = 0, group = 0;
    try {
      ifindex = a.ifInfo(spec.name)[0];
      for (let q = 0; q < nRxq; q++) {
        // The first socket creates a fanout group with a kernel-chosen id; the others join it, in
        // rxq order (the order PACKET_FANOUT_CPU numbers its members in).
        const [fd, g] = a.openRx(spec.name, nRxq === 1 ? -1 : q === 0 ? -2 : group, rcvbuf, rxRing, ctx.pool.dataRoom, cpuFanout ? 1 : 0);
        rxFds.push(fd);
        if (q === 0) group = g;
      }
      for (let t = 0; t < nTxq; t++) txFds.push(a.openTx(spec.name, txRing));
    } catch (e) {
      for (const fd of [...rxFds, ...txFds]) a.close(fd);
      throw openError('system', spec.name, e, 'CAP_NET_RAW');
    }
    const mem = fdSharedMemory(nRxq, nTxq);
    const bank = ctx.bank ?? null;
    const tokens: number[] = [];
    let epfd = -1;
    for (let q = 0; q < nRxq; q++) {
      if (!bank) { tokens.push(-1); continue; }
      const w = watchRxqFd(rxFds[q]!, mem.ctl, rxqSlotWord(q), bank.sab);
      epfd = w.epfd;
      tokens.push(w.token);
    }
    const shared: FdShared = { kind: 'packet', ifindex, rxFds, txFds, tokens, epfd, fanoutGroup: group, cpuFanout, ...mem };
    return new SystemNetdev({
      name: spec.name, type: 'system', options: { ...opts }, nRxq, nTxq,
      pool: ctx.pool.descriptor(), bank: bank ? bank.sab : null, shared: shared as unknown as Record<string, unknown>,
    }, ctx.pool);
  }

  /** This thread's object over a system port created elsewhere. */
  static attach(desc: NetdevDescriptor, pool: PacketPool): SystemNetdev {
    if (desc.type !== 'system') throw new NetdevError(`${desc.name}: not a system port (type '${desc.type}')`);
    return new SystemNetdev(desc, pool);
  }
}

registerNetdevProvider({
  type: 'system',
  create: (spec, ctx) => SystemNetdev.create(spec, ctx),
  attach: (desc, pool) => SystemNetdev.attach(desc, pool),
});
