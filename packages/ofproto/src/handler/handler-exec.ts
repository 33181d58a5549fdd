/**
 * Packet execution in a handler thread (the execute half of OVS handle_upcalls' dpif_operate):
 * runs encoded datapath actions on an upcall's packet buffer with the datapath's executor
 * (@tsvs/dpif OdpExecutor, the same code the PMDs run), queues its outputs per port, and sends
 * each port's queue in one `send` at the end of the batch (`flush`), in the order the packets
 * were executed. `userspace` actions met while executing go to the `onUserspace` callback (the
 * handler turns controller cookies into packet-ins) instead of an upcall queue: a handler is not
 * a producer of any queue.
 *
 * Buffers: `exec` takes ownership of the packet buffer. An output entry that shares its buffer
 * with a later entry of the same packet gets a copy (as the datapath's ExecContext does), so each
 * queued id is sent exactly once. Allocates nothing per packet except when the pool must be asked
 * for a copy.
 */
import { META_WORDS, M_LEN, M_OFF, type PacketPool } from '@tsvs/shm';
import type { Netdev } from '@tsvs/netdev';
import {
  EXEC_KEEP, OdpExecutor, OdpOutputBatch, OFS_UNKNOWN, PKT_BUF, PKT_L2_5, PKT_L3, PKT_L4, PKT_LEN, PKT_OFF, PKT_WORDS,
  MAX_ODP_PORTS, type OdpBufferPool, type OdpUpcallSink,
} from '@tsvs/dpif';

/** Called for each `userspace` action (the packet as it is at that point; copy what you keep). */
export type UserspaceCallback = (
  bytes: Uint8Array, off: number, len: number, pid: number, ud: Uint8Array, udOff: number, udLen: number, inPort: number,
) => void;

const PORT_QUEUE = 64;

export class HandlerExec implements OdpUpcallSink {
  private readonly exec: OdpExecutor;
  private readonly out = new OdpOutputBatch(256);
  private readonly pkt = new Int32Array(PKT_WORDS);
  /** Per odp port: queued buffer ids (created on first use). */
  private readonly q: Array<Uint32Array | undefined> = new Array(MAX_ODP_PORTS);
  private readonly qn = new Int32Array(MAX_ODP_PORTS);
  /** Ports with queued ids, in first-use order. */
  private readonly active = new Int32Array(MAX_ODP_PORTS);
  private nActive = 0;
  private inPort = 0;
  /** Packets sent, outputs dropped (no such port, no buffer for a copy) since creation. */
  sent = 0;
  dropped = 0;

  constructor(
    private readonly pool: PacketPool,
    private readonly netdevs: ReadonlyArray<Netdev | undefined>,
    private readonly txq: number,
    private readonly onUserspace: UserspaceCallback,
  ) {
    const adapter: OdpBufferPool = {
      bytes: pool.data, bufferSize: pool.stride, alloc: () => pool.alloc(), start: (b) => b * pool.stride,
    };
    this.exec = new OdpExecutor(adapter, this);
  }

  /**
   * Executes `actions` (encoded, already validated: they come from translation) on buffer `buf`
   * received on odp port `inPort`; takes ownership of `buf`. Outputs wait for `flush`.
   */
  execute(buf: number, inPort: number, actions: Uint8Array): void {
    const pool = this.pool, pkt = this.pkt;
    pkt[PKT_BUF] = buf;
    pkt[PKT_OFF] = pool.frameOffset(buf);
    pkt[PKT_LEN] = pool.meta[buf * META_WORDS + M_LEN]!;
    pkt[PKT_L2_5] = OFS_UNKNOWN;
    pkt[PKT_L3] = OFS_UNKNOWN;
    pkt[PKT_L4] = OFS_UNKNOWN;
    this.inPort = inPort;
    const out = this.out;
    out.count = 0;
    const r = this.exec.execute(actions, 0, pkt, 0, out);
    this.queueOutputs();
    if ((r & EXEC_KEEP) === 0) pool.free(pkt[PKT_BUF]!);
  }

  /** OdpUpcallSink: hands the packet to the handler's callback. */
  actionUpcall(bytes: Uint8Array, off: number, len: number, pid: number, actions: Uint8Array, udOff: number, udLen: number): boolean {
    this.onUserspace(bytes, off, len, pid, actions, udOff, udLen, this.inPort);
    return true;
  }

  private queueOutputs(): void {
    const out = this.out, pool = this.pool, meta = pool.meta;
    for (let j = 0; j < out.count; j++) {
      let buf = out.buf[j]!, off = out.off[j]!;
      const len = out.len[j]!, port = out.port[j]!;
      let shared = false;
      for (let k = j + 1; k < out.count; k++) if (out.buf[k] === buf) { shared = true; break; }
      if (port >= MAX_ODP_PORTS || this.netdevs[port] === undefined) {
        if (!shared) pool.free(buf);
        this.dropped++;
        continue;
      }
      if (shared) {
        const nb = pool.alloc();
        if (nb < 0) {
          this.dropped++;
          continue;
        }
        const dst = nb * pool.stride + (pool.headroom + len <= pool.stride ? pool.headroom : 0);
        pool.data.copyWithin(dst, off, off + len);
        buf = nb;
        off = dst;
      }
      meta[buf * META_WORDS + M_OFF] = off - buf * pool.stride;
      meta[buf * META_WORDS + M_LEN] = len;
      let q = this.q[port];
      if (q === undefined) q = this.q[port] = new Uint32Array(PORT_QUEUE);
      let n = this.qn[port]!;
      if (n === 0) this.active[this.nActive++] = port;
      else if (n === PORT_QUEUE) {
        // Full: send now (the port stays in the active list for the rest of the batch).
        this.sendPort(port);
        n = 0;
      }
      q[n] = buf;
      this.qn[port] = n + 1;
    }
    out.count = 0;
  }

  private sendPort(port: number): void {
    const n = this.qn[port]!;
    if (n === 0) return;
    this.qn[port] = 0;
    const nd = this.netdevs[port];
    if (nd === undefined) {
      for (let i = 0; i < n; i++) this.pool.free(this.q[port]![i]!);
      this.dropped += n;
      return;
    }
    const k = nd.send(this.txq, this.q[port]!, n);
    this.sent += k;
    this.dropped += n - k;
  }

  /** Sends every queued output, port by port (each port's packets in execution order). */
  flush(): void {
    for (let i = 0; i < this.nActive; i++) this.sendPort(this.active[i]!);
    this.nActive = 0;
  }
}
