/**
 * Sleeping near the sender: where a PMD thread waits for its next lone packet.
 *
 * Why: on a VM an idle vCPU is halted, and waking a thread there takes an IPI and the host's
 * scheduler: 25-30 µs on these machines (`perf sched timehist`: a PMD's wake-up delay), twice per
 * ping (the PMD, then the pinger). The kernel wakes a sleeping thread on its previous CPU when
 * that CPU is idle, so a PMD that woke on an idle CPU sleeps there again, and every lone packet
 * pays the delay. A PMD allowed only on the sender's CPU is woken there instead, preempts the
 * sender (which is about to wait for the answer anyway), and the answer wakes the sender on that
 * same CPU. Measured (`pnpm bench vs-ovs --rounds 3/5`, 200 pings at 5 ms per round): RTT avg
 * 0.026-0.045 ms with n_rxq=2 fanout=cpu against 0.065-0.092 ms with one rxq (OVS 0.063-0.118 in
 * the same runs), p99 0.068-0.126 ms against 0.120-0.195.
 *
 * How the PMD knows the sender's CPU: a system port with fanout=cpu (PACKET_FANOUT_CPU) gives rxq
 * q the frames the kernel received on CPUs c with c % n_rxq == q, and on a veth that is the CPU
 * the sender ran on (Netdev.rxqCpuStride). The first frame after a sleep is the one that woke the
 * PMD; the later ones of the same wake-up were mostly sent from its own CPU (the receiving host
 * answers in the softirq of the PMD's send).
 *
 * Only for lone packets: with a stream or a connection storm the PMD sleeps often and briefly, and
 * pinned next to its senders it competes with them for their CPU (new TCP connections fell from
 * 12.0k/s to 8.7k/s). So it follows only when the sleep before the packet lasted at least
 * SENDER_CPU_MIN_SLEEP_MS, and takes its own affinity back when a packet comes after a shorter
 * one. A change is one sched_setaffinity(2) before a sleep, none per packet; if one fails the
 * thread keeps the affinity it has for good.
 */
import { nativeNetdev } from '@tsvs/netdev';

/**
 * Shortest sleep (ms) after which a packet counts as lone. 1 ms: pings and other lone packets come
 * milliseconds apart; in the connection test the PMD's sleeps last ~0.1 ms.
 */
export const SENDER_CPU_MIN_SLEEP_MS = 1;

interface AffinitySetter {
  cpuAffinity(first: number, stride: number): number;
}

export class SenderCpu {
  /** rxq and stride of the first frame since the last sleep (-1: none yet). */
  private wakeRxq = -1;
  private wakeStride = 0;
  /** The affinity asked for: CPUs c with c % stride === first; stride 0 is the thread's own. */
  private first = -1;
  private stride = 0;
  private setter: AffinitySetter | null = null;
  private failed = false;

  /** A burst came from rxq `rxq` (stride: Netdev.rxqCpuStride). Cheap: per burst. */
  seen(rxq: number, stride: number): void {
    if (this.wakeRxq < 0) {
      this.wakeRxq = rxq;
      this.wakeStride = stride;
    }
  }

  /**
   * Before sleeping; `lone`: the sleep before this wake-up lasted SENDER_CPU_MIN_SLEEP_MS or more (a
   * boolean, not the time: passing a double to a call boxes it). Pins the thread to the CPUs of the
   * first frame's rxq if that frame was lone and came through a fanout=cpu rxq, gives the thread
   * its own affinity back if a frame came otherwise, changes nothing if none came.
   */
  beforeSleep(lone: boolean): void {
    const rxq = this.wakeRxq;
    this.wakeRxq = -1;
    if (rxq < 0) return;
    const stride = lone ? this.wakeStride : 0;
    this.set(stride > 0 ? rxq : -1, stride);
  }

  /** Gives the thread its own affinity back (its poll list lost its fanout=cpu rxqs). */
  release(): void {
    this.wakeRxq = -1;
    this.set(-1, 0);
  }

  private set(first: number, stride: number): void {
    if ((first === this.first && stride === this.stride) || this.failed) return;
    let a = this.setter;
    if (a === null) {
      try {
        a = this.setter = nativeNetdev();
      } catch {
        this.failed = true; // memory and pcap ports work without the addon; they never follow
        return;
      }
    }
    if (a.cpuAffinity(first, stride) !== 0) {
      this.failed = true;
      return;
    }
    this.first = first;
    this.stride = stride;
  }
}
