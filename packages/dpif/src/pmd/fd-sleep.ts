/**
 * Sleeping in poll(2): how a PMD whose poll list has socket rxqs (`system` / `internal` ports)
 * sleeps when idle.
 *
 * Why: a socket's producer is the kernel, which cannot ring an Atomics doorbell. Sleeping on the
 * doorbell needs the fd watcher thread (packages/netdev src/system/watcher.ts) between the socket
 * and the PMD: two thread wake-ups per sleep (watcher, then PMD) and an epoll_ctl per rxq to arm
 * it. Sleeping in poll(2) on the rxq fds is one wake-up, straight from the kernel (`pnpm bench
 * sysport`: p50 12 µs vs 43 µs through the watcher). The other producers (memory-port rxqs, the
 * control thread's kicks) still ring the doorbell slot; with `prepareSleep(slot, true)` a ring also
 * writes the slot's wake eventfd, which is among the polled fds (packages/shm DoorbellBank). So a
 * poll list that mixes sockets and memory rxqs (port 0 is a memory port) sleeps here too.
 *
 * The wake fd belongs to the doorbell slot (created here on first use, registered with
 * `bank.setWakeFd`, reused by the slot's next owner, closed by the bank's owner).
 *
 * Poll set: [0] the wake fd, [1..n) the rxq fds, rebuilt on every poll-list change. Sleeping
 * allocates nothing (typed arrays, one addon call); a PMD with more than 255 socket rxqs, or without
 * the addon, keeps sleeping on the doorbell (`active` false).
 */
import { nativeNetdev } from '@tsvs/netdev';
import type { NativeNetdev, Netdev } from '@tsvs/netdev';
import type { DoorbellBank } from '@tsvs/shm';

/** Most fds in one poll(2) call of the addon (its limit), the wake fd included. */
const MAX_POLL_FDS = 256;

/** A port whose rxqs are file descriptors (FdNetdev in packages/netdev). */
interface FdRxqs {
  rxqFd(rxq: number): number;
}

function rxqFdOf(nd: Netdev, rxq: number): number {
  const f = (nd as Partial<FdRxqs>).rxqFd;
  return typeof f === 'function' ? f.call(nd, rxq) : -1;
}

export class FdSleep {
  /** Whether the PMD sleeps in poll(2) (some rxqs are fds and the wake fd exists). */
  active = false;
  /** Per poll-list index: 1 when poll(2) watches that rxq (its wait hint is not needed). */
  private readonly watched = new Uint8Array(MAX_POLL_FDS + 1);
  private readonly fds = new Int32Array(MAX_POLL_FDS);
  private readonly rev = new Int32Array(MAX_POLL_FDS);
  private nFds = 0;
  private wakeFd = -1;
  private a: NativeNetdev | null = null;

  constructor(private readonly bank: DoorbellBank, private readonly slot: number) {}

  /** Rebuilds the poll set from the poll list (control path: allocates). */
  rebuild(netdevs: readonly Netdev[], rxqs: Int32Array, nPoll: number): void {
    this.watched.fill(0);
    let n = 1;
    for (let p = 0; p < nPoll && p < this.watched.length; p++) {
      const fd = rxqFdOf(netdevs[p]!, rxqs[p]!);
      if (fd < 0 || n >= MAX_POLL_FDS) continue;
      this.fds[n++] = fd;
      this.watched[p] = 1;
    }
    const fits = n > 1 && nPoll < this.watched.length && n - 1 === countFds(netdevs, rxqs, nPoll);
    this.active = fits && this.ensureWakeFd();
    this.nFds = this.active ? n : 0;
    if (!this.active) this.watched.fill(0);
  }

  /** Whether poll(2) watches rxq `p` of the poll list (only meaningful while `active`). */
  watches(p: number): boolean {
    return this.watched[p] === 1;
  }

  /**
   * Sleeps in poll(2) until an rxq fd is readable, the wake fd was written, or `timeoutMs` (rounded
   * up to whole ms) passed; drains the wake fd. Call between `bank.prepareSleep(slot, true)` and
   * `bank.endSleep(slot)`. Never throws (a failed poll returns at once; the PMD polls its rxqs).
   */
  sleep(timeoutMs: number): void {
    const a = this.a!;
    const t = timeoutMs > 0x7fffffff ? -1 : Math.ceil(timeoutMs);
    try {
      const r = a.poll(this.fds, this.nFds, t, this.rev);
      if (r > 0 && (this.rev[0]! & a.POLLIN) !== 0) a.eventfdRead(this.wakeFd);
    } catch {
      // EINVAL / ENOMEM: nothing to do but poll the rxqs again.
    }
  }

  private ensureWakeFd(): boolean {
    if (this.wakeFd >= 0) return true;
    try {
      this.a ??= nativeNetdev();
      let fd = this.bank.wakeFd(this.slot);
      if (fd < 0) {
        fd = this.a.eventfd();
        this.bank.setWakeFd(this.slot, fd);
      }
      this.wakeFd = fd;
      this.fds[0] = fd;
      return true;
    } catch {
      return false;
    }
  }
}

/** Socket rxqs in the poll list (to refuse a set that does not fit in one poll call). */
function countFds(netdevs: readonly Netdev[], rxqs: Int32Array, nPoll: number): number {
  let n = 0;
  for (let p = 0; p < nPoll; p++) if (rxqFdOf(netdevs[p]!, rxqs[p]!) >= 0) n++;
  return n;
}
