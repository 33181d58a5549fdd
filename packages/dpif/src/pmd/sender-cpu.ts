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
 * SENDER_CPU_MIN_SLEEP_MS.
 *
 * Under load it keeps off its senders' CPU: when a packet comes after a shorter sleep, the PMD is
 * allowed on every CPU of its own affinity but the sender's (c % stride !== rxq), until the next
 * lone packet or a majority of wake-ups from elsewhere (below). Why: left free, the scheduler put
 * the PMD on the hosts' vCPU now and then, where its nap timers fired among the hosts (timer
 * interrupts on that vCPU: 0.09-0.30 per connection against 0.02 under OVS, /proc/interrupts), and
 * they lost CPU to it. Kept off their CPU it becomes a fixed point the scheduler places the hosts
 * around, as OVS's pinned PMDs are: new TCP connections +2.6 % [0.1, 5.1] (20 alternating runs, 8
 * in flight; a PMD pinned by hand), 1.052 [1.024, 1.081] of OVS with this rule (10 runs). Once it
 * keeps off a CPU, a single frame from elsewhere changes nothing: it may come from a host the
 * scheduler moved next to the PMD while it napped, and following each would make the PMD and the
 * hosts chase each other. What moves it is a majority: of the last EXCLUDE_WINDOW short-sleep
 * wake-ups, more than half woken by frames from one other rxq. The first short sleep of a stream
 * can be woken by the wrong sender (the answer of iperf3's control connection, not the flood), and
 * kept off that CPU the PMD shared the flood sender's (UDP 64 B delivered 0.91 and 1.00 of OVS in
 * two of five rounds, against 1.17-1.29 in the others).
 *
 * A change is one sched_setaffinity(2) before a sleep, none per packet; if one fails the thread
 * keeps the affinity it has for good.
 */
import { nativeNetdev } from '@tsvs/netdev';

/**
 * Shortest sleep (ms) after which a packet counts as lone. 1 ms: pings and other lone packets come
 * milliseconds apart; in the connection test the PMD's sleeps last ~0.1 ms.
 */
export const SENDER_CPU_MIN_SLEEP_MS = 1;

/**
 * Short-sleep wake-ups after which a PMD that keeps off some CPUs looks again at where its frames
 * come from. 64: about 5 ms of the connection test, long against the scheduler's moves of a host.
 */
export const EXCLUDE_WINDOW = 64;

/** Most rxqs of a system port (n_rxq), so most CPU classes a stride distinguishes. */
const MAX_STRIDE = 32;

interface AffinitySetter {
  cpuAffinity(first: number, stride: number): number;
}

export class SenderCpu {
  /** rxq and stride of the first frame since the last sleep (-1: none yet). */
  private wakeRxq = -1;
  private wakeStride = 0;
  /**
   * The affinity asked for: CPUs c with c % stride === first (stride > 0), c % -stride !== first
   * (stride < 0: keeping off the senders); stride 0 is the thread's own.
   */
  private first = -1;
  private stride = 0;
  private setter: AffinitySetter | null = null;
  private failed = false;
  /** While keeping off: per rxq, the short-sleep wake-ups its frame started, and their sum. */
  private readonly woke = new Int32Array(MAX_STRIDE);
  private nWoke = 0;

  /** A burst came from rxq `rxq` (stride: Netdev.rxqCpuStride). Cheap: per burst. */
  seen(rxq: number, stride: number): void {
    if (this.wakeRxq < 0) {
      this.wakeRxq = rxq;
      this.wakeStride = stride;
    }
  }

  /**
   * Before sleeping; `lone`: the sleep before this wake-up lasted SENDER_CPU_MIN_SLEEP_MS or more (a
   * boolean, not the time: passing a double to a call boxes it). For the first frame since the
   * last sleep: through a fanout=cpu rxq, a lone one pins the thread to that rxq's CPUs and one
   * after a short sleep keeps it off them; through another rxq the thread gets its own affinity
   * back. Once it keeps off some CPUs, a short-sleep frame only counts towards the majority that
   * moves it (vote). Changes nothing if no frame came.
   */
  beforeSleep(lone: boolean): void {
    const rxq = this.wakeRxq;
    this.wakeRxq = -1;
    if (rxq < 0) return;
    const stride = this.wakeStride;
    if (lone) this.set(stride > 0 ? rxq : -1, stride);
    else if (this.stride >= 0) this.set(stride > 0 ? rxq : -1, -stride);
    else if (stride === -this.stride && rxq < MAX_STRIDE) this.vote(rxq, stride);
  }

  /** A short-sleep wake-up by rxq `rxq` while keeping off CPUs: moves on a majority of a window. */
  private vote(rxq: number, stride: number): void {
    this.woke[rxq]!++;
    if (++this.nWoke < EXCLUDE_WINDOW) return;
    let top = 0;
    for (let q = 1; q < stride; q++) if (this.woke[q]! > this.woke[top]!) top = q;
    const majority = this.woke[top]! * 2 > EXCLUDE_WINDOW;
    this.woke.fill(0);
    this.nWoke = 0;
    if (majority && top !== this.first) this.set(top, -stride);
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
    this.woke.fill(0);
    this.nWoke = 0;
  }
}
