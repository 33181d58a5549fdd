/**
 * Packet execution outside the PMDs (OVS dpif_netdev_execute on the main thread): runs encoded
 * actions on one packet, sends its outputs and queues ACTION upcalls, for the thread that owns
 * this object (the datapath's control thread). Control path: it may allocate.
 */
import { EXTRACT_OK, FLOW_WORDS, extractFlow } from '@tsvs/packet';
import { META_WORDS, M_IN_PORT, M_LEN, M_OFF } from '@tsvs/shm';
import type { PacketPool } from '@tsvs/shm';
import type { Netdev } from '@tsvs/netdev';
import {
  EXEC_KEEP, OdpExecutor, OdpOutputBatch, PKT_BUF, PKT_L2_5, PKT_LEN, PKT_OFF, PKT_WORDS,
} from '../actions/execute.js';
import type { OdpBufferPool, OdpUpcallSink } from '../actions/execute.js';
import { validateOdpActions } from '../actions/encoding.js';
import type { DpifExecute, DpifExecuteResult } from '../dpif.js';
import type { UpcallArea } from '../upcall/upcall-area.js';
import type { UpcallProducer } from '../upcall/upcall-queue.js';

/** What the context needs to know about the datapath's ports. */
export interface ExecPorts {
  /** This thread's netdev of port `portNo`, or undefined. */
  netdev(portNo: number): Netdev | undefined;
  /** This thread's producer on the upcall queue of `portNo`, or undefined. */
  upcallProducer(portNo: number): UpcallProducer | undefined;
  /** The txq this thread transmits on. */
  readonly txq: number;
}

export class ExecContext implements OdpUpcallSink {
  private readonly exec: OdpExecutor;
  private readonly out = new OdpOutputBatch(64);
  private readonly pkt = new Int32Array(PKT_WORDS);
  private readonly key = new Uint32Array(FLOW_WORDS);
  private readonly one = new Uint32Array(1);
  private inPort = 0;
  private upcalls = 0;
  private dropped = 0;

  constructor(private readonly pool: PacketPool, private readonly area: UpcallArea, private readonly ports: ExecPorts) {
    const adapter: OdpBufferPool = {
      bytes: pool.data, bufferSize: pool.stride, alloc: () => pool.alloc(), start: (b) => b * pool.stride,
    };
    this.exec = new OdpExecutor(adapter, this);
  }

  /** See Dpif.execute. Takes ownership of a `{ buf }` packet in every case. */
  execute(req: DpifExecute): DpifExecuteResult {
    const pool = this.pool;
    const fail = (error: 'EINVAL' | 'ENOBUFS', buf = -1): DpifExecuteResult => {
      if (buf >= 0) pool.free(buf);
      return { error, sent: 0, upcalls: 0, dropped: 0 };
    };
    const given = req.packet instanceof Uint8Array ? -1 : req.packet.buf;
    if (given >= 0 && !(Number.isInteger(given) && given < pool.nBufs)) return fail('EINVAL');
    const inPort = req.inPort ?? 0;
    if (!Number.isInteger(inPort) || inPort < 0 || inPort > 0xffffffff) return fail('EINVAL', given);
    if (!(req.actions instanceof Uint8Array) || validateOdpActions(req.actions) !== null) return fail('EINVAL', given);
    let buf = given;
    if (req.packet instanceof Uint8Array) {
      if (req.packet.length < 14) return fail('EINVAL');
      buf = pool.alloc();
      if (buf < 0) return fail('ENOBUFS');
      if (!pool.write(buf, req.packet, 0, req.packet.length)) return fail('EINVAL', buf);
    }
    const m = buf * META_WORDS;
    const off = pool.frameOffset(buf);
    const len = pool.meta[m + M_LEN]!;
    pool.meta[m + M_IN_PORT] = inPort;
    const pkt = this.pkt;
    pkt[PKT_BUF] = buf;
    pkt[PKT_OFF] = off;
    pkt[PKT_LEN] = len;
    if (extractFlow(pool.data, off, len, inPort, this.key, 0, pkt, PKT_L2_5) !== EXTRACT_OK) return fail('EINVAL', buf);
    this.inPort = inPort;
    this.upcalls = 0;
    this.dropped = 0;
    const r = this.exec.execute(req.actions, 0, pkt, 0, this.out);
    const sent = this.emit();
    if ((r & EXEC_KEEP) === 0) pool.free(pkt[PKT_BUF]!);
    return { error: 0, sent, upcalls: this.upcalls, dropped: this.dropped };
  }

  /** Sends the output entries; entries sharing a buffer get copies but the last. Returns packets sent. */
  private emit(): number {
    const out = this.out, pool = this.pool;
    let sent = 0;
    for (let j = 0; j < out.count; j++) {
      let buf = out.buf[j]!, off = out.off[j]!;
      const len = out.len[j]!;
      let shared = false;
      for (let k = j + 1; k < out.count; k++) if (out.buf[k] === buf) shared = true;
      const nd = this.ports.netdev(out.port[j]!);
      if (!nd) {
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
      pool.meta[buf * META_WORDS + M_OFF] = off - buf * pool.stride;
      pool.meta[buf * META_WORDS + M_LEN] = len;
      this.one[0] = buf;
      sent += nd.send(this.ports.txq, this.one, 1);
    }
    out.count = 0;
    return sent;
  }

  /** OdpUpcallSink: queue an ACTION upcall on the in_port's queue (the local port's if none). */
  actionUpcall(bytes: Uint8Array, off: number, len: number, pid: number, actions: Uint8Array, udOff: number, udLen: number): boolean {
    const up = this.ports.upcallProducer(this.inPort) ?? this.ports.upcallProducer(0);
    const pool = this.pool;
    const nb = up ? pool.alloc() : -1;
    if (nb < 0 || pool.headroom + len > pool.stride) {
      if (nb >= 0) pool.free(nb);
      this.dropped++;
      return false;
    }
    bytes.copyWithin(nb * pool.stride + pool.headroom, off, off + len);
    pool.meta[nb * META_WORDS + M_LEN] = len;
    pool.meta[nb * META_WORDS + M_IN_PORT] = this.inPort;
    this.area.writeAction(nb, this.inPort, this.key, 0, pid, actions, udOff, udLen);
    if (up!.pushOne(nb)) {
      this.upcalls++;
      return true;
    }
    pool.free(nb);
    this.dropped++;
    return false;
  }
}
