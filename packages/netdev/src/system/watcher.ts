/**
 * Wake-ups for threads sleeping on a doorbell while their rxqs are sockets.
 *
 * PMDs with socket rxqs sleep in poll(2) on the fds themselves (packages/dpif src/pmd/fd-sleep.ts),
 * one thread hop less; this watcher is the fallback for a thread that sleeps in `Atomics.wait` on
 * its `DoorbellBank` slot (no eventfd, or more socket rxqs than one poll call takes): memory ports'
 * producers ring that slot, but the kernel cannot. So each thread that creates fd-backed ports (`system`, `internal`) runs one
 * small watcher worker (watcher-worker.ts) that blocks in epoll_wait on those ports' rxq fds and
 * rings the doorbell slot bound to an rxq when its fd becomes readable. Packets never pass through
 * it: it only wakes the PMD, which then reads the socket itself.
 *
 * Arming: fds are registered with EPOLLONESHOT and no events (never reported). The rxq's poller
 * arms its fd (EPOLL_CTL_MOD, EPOLLIN | EPOLLONESHOT) in `rxqWaitHint`, which the PMD calls after
 * `prepareSleep`. Level-triggered arming reports an fd that is already readable at once, so a frame
 * that came in between the PMD's last empty recv and the arming still wakes it; a frame that comes
 * later fires the armed fd. After firing, the fd stays disarmed until the PMD next goes to sleep: a
 * busy PMD costs the watcher nothing, a sleeping one costs one epoll wake-up and one Atomics.notify.
 *
 * Shared word per rxq (the port's `ctl` Int32Array, index given at registration): the doorbell slot
 * bound by `rxqBindDoorbell`, -1 when none.
 *
 * Life: the watcher starts with the first registration and stops (eventfd) when the last one is
 * removed. It is unref'd, and its epoll_wait has a 100 ms timeout, so a process that ends without
 * destroying its ports still exits (after at most that long).
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { watchWorker } from '@tsvs/shm';
import { nativeNetdev } from './addon.js';

/** Message from the owner to the watcher worker. */
export type WatcherMessage =
  | { op: 'add'; token: number; ctl: SharedArrayBuffer; word: number; bank: SharedArrayBuffer }
  | { op: 'del'; token: number };

/** Token of the stop eventfd in the epoll set (registrations start at 1). */
export const WATCHER_STOP_TOKEN = 0;

class FdWatcher {
  readonly epfd: number;
  private readonly stopFd: number;
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private nextToken = 1;
  private live = 0;

  constructor() {
    const a = nativeNetdev();
    this.epfd = a.epollCreate();
    this.stopFd = a.eventfd();
    a.epollCtl(this.epfd, a.EPOLL_CTL_ADD, this.stopFd, a.EPOLLIN, WATCHER_STOP_TOKEN);
    const ch = new MessageChannel();
    this.port = ch.port1;
    const epfd = this.epfd, stopFd = this.stopFd;
    this.worker = watchWorker(new Worker(new URL('./watcher-worker.js', import.meta.url), {
      workerData: { epfd, stopFd, port: ch.port2 },
      transferList: [ch.port2],
      name: 'tsvs-fd-watcher',
    }));
    this.worker.unref();
    this.port.unref();
    // Its fds are closed only once the worker no longer waits on them.
    this.worker.once('exit', () => {
      this.port.close();
      a.close(epfd);
      a.close(stopFd);
    });
    this.worker.on('error', () => { /* the watcher only rings doorbells; PMDs still wake on timeouts */ });
  }

  /** Adds `fd` (disarmed); its rxq's doorbell slot is `Int32Array(ctl)[word]`. Returns the token to arm it with. */
  add(fd: number, ctl: SharedArrayBuffer, word: number, bank: SharedArrayBuffer): number {
    const a = nativeNetdev();
    const token = this.nextToken++;
    // The message is queued before the fd can fire, so the worker always knows the token.
    this.port.postMessage({ op: 'add', token, ctl, word, bank } satisfies WatcherMessage);
    a.epollCtl(this.epfd, a.EPOLL_CTL_ADD, fd, a.EPOLLONESHOT, token);
    this.live++;
    return token;
  }

  /** Removes `fd` (before it is closed). Returns true when this was the last fd (the watcher is stopping). */
  remove(fd: number, token: number): boolean {
    const a = nativeNetdev();
    try {
      a.epollCtl(this.epfd, a.EPOLL_CTL_DEL, fd, 0, 0);
    } catch {
      // Already gone (fd closed elsewhere): nothing to remove.
    }
    this.port.postMessage({ op: 'del', token } satisfies WatcherMessage);
    if (--this.live > 0) return false;
    a.eventfdWrite(this.stopFd);
    return true;
  }
}

let current: FdWatcher | null = null;

/** Registers an rxq fd with this thread's watcher (starting it if needed). */
export function watchRxqFd(fd: number, ctl: SharedArrayBuffer, word: number, bank: SharedArrayBuffer): { epfd: number; token: number } {
  current ??= new FdWatcher();
  return { epfd: current.epfd, token: current.add(fd, ctl, word, bank) };
}

/** Unregisters an rxq fd registered by `watchRxqFd` in this thread (before closing it). */
export function unwatchRxqFd(epfd: number, fd: number, token: number): void {
  if (!current || current.epfd !== epfd) return;
  if (current.remove(fd, token)) current = null;
}

/**
 * Poller side: arms rxq `fd` so that the watcher rings its doorbell once it is readable. Call after
 * `prepareSleep`. Returns false if arming failed (the caller then falls back to a timed poll).
 */
export function armRxqFd(epfd: number, fd: number, token: number): boolean {
  const a = nativeNetdev();
  try {
    a.epollCtl(epfd, a.EPOLL_CTL_MOD, fd, a.EPOLLIN | a.EPOLLONESHOT, token);
    return true;
  } catch {
    return false;
  }
}
