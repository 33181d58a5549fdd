/**
 * The native addon (packages/netdev/native, built by `pnpm install` with node-gyp) as a typed
 * module. Loaded lazily on first use, once per thread, so importing @tsvs/netdev never fails where
 * the addon is not built (memory and pcap-file ports do not need it).
 *
 * Conventions of the native functions (see native/src/*.c for each one):
 * - all calls are synchronous; none uses libuv, so PMD worker threads call them from their loop;
 * - system errors throw an Error with `code` = errno name ('EPERM', 'ENODEV', ...), `errno` and
 *   `reason` = strerror text; wrong argument types throw TypeError, ranges outside `data` RangeError;
 * - `recv` / `tapRecv` return the number of frames received (0 when none is queued) or -errno;
 *   `send` / `tapSend` return the number sent and fill `res` = [errors, drops, last errno, bytes].
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeNetdev {
  /** fanoutId: -1 no group, -2 create one (its id is returned), 0..65535 join that group. */
  /** ringFrames > 0: frames arrive through a PACKET_RX_RING of that many frames of ringCap bytes,
   * or through recvmmsg if the kernel refuses the ring (rxRing tells which). cpuFanout 1: the group
   * is PACKET_FANOUT_CPU (member = receiving CPU % members, in join order), else PACKET_FANOUT_HASH. */
  openRx(ifname: string, fanoutId: number, rcvbuf: number, ringFrames?: number, ringCap?: number, cpuFanout?: number): [fd: number, fanoutId: number];
  /** Frames of fd's RX ring; 0 when fd is read with recvmmsg. */
  rxRing(fd: number): number;
  /** fd's RX ring and its head as memory: `ring` holds rxRing(fd) frames of byteLength / rxRing(fd)
   * bytes each, tp_status the first uint32 of a frame; `head` one uint32, the index of the next
   * frame recv reads (written by recv only). null without a ring (or where the runtime refuses
   * external buffers). After the socket is closed `ring` reads as zero pages (empty frames). */
  rxRingView(fd: number): [ring: ArrayBuffer, head: ArrayBuffer] | null;
  /** ringFrames > 0: sends go through a PACKET_TX_RING of that many 2 KiB frames (rounded up to 32),
   * or through sendmmsg if the kernel refuses the ring (txRing tells which). */
  openTx(ifname: string, ringFrames?: number): number;
  /** Frames of fd's TX ring; 0 when fd sends with sendmmsg. */
  txRing(fd: number): number;
  recv(fd: number, data: Uint8Array, offs: Int32Array, lens: Int32Array, n: number, cap: number): number;
  send(fd: number, data: Uint8Array, offs: Int32Array, lens: Int32Array, n: number, res: Int32Array): number;
  stats(fd: number, out: Float64Array): void;
  ifInfo(ifname: string): [ifindex: number, mtu: number, flags: number];
  close(fd: number): void;
  tapOpen(name: string): number;
  tapRecv(fd: number, data: Uint8Array, offs: Int32Array, lens: Int32Array, n: number, cap: number): number;
  tapSend(fd: number, data: Uint8Array, offs: Int32Array, lens: Int32Array, n: number, res: Int32Array): number;
  linkSetUp(name: string, up: boolean): void;
  poll(fds: Int32Array, n: number, timeoutMs: number, revents: Int32Array): number;
  epollCreate(): number;
  epollCtl(epfd: number, op: number, fd: number, events: number, token: number): void;
  epollWait(epfd: number, tokens: Int32Array, max: number, timeoutMs: number): number;
  eventfd(): number;
  eventfdWrite(fd: number): void;
  eventfdRead(fd: number): number;
  /** prctl(PR_SET_TIMERSLACK) for the calling thread; 0 or -errno. */
  timerSlack(ns: number): number;
  /** Sleeps `us` µs (0..1000000) in clock_nanosleep. */
  nap(us: number): void;
  /**
   * sched_setattr of the calling thread: SCHED_OTHER at `nice` with an EEVDF slice of `sliceNs`
   * (0 = kernel default, else kernel-clamped to 0.1..100 ms), one system call; setpriority where
   * sched_setattr is missing. 0 or -errno (EACCES/EPERM below the current nice without
   * CAP_SYS_NICE). RangeError for nice outside -20..19 or sliceNs outside 0..1e8.
   */
  threadSched(nice: number, sliceNs: number): number;
  /**
   * sched_setaffinity of the calling thread: the CPUs c of its first affinity (saved at the first
   * call) with c % stride === first if stride > 0, c % -stride !== first if stride < 0; stride 0,
   * first < 0, or no such CPU restores that affinity. 0 or -errno.
   */
  cpuAffinity(first: number, stride: number): number;
  /** prctl(PR_SET_NAME) for the calling thread, cut to 15 bytes; 0 or -errno. TypeError if not a string. */
  threadName(name: string): number;
  readonly EPOLLIN: number;
  readonly EPOLLONESHOT: number;
  readonly EPOLLET: number;
  readonly EPOLL_CTL_ADD: number;
  readonly EPOLL_CTL_MOD: number;
  readonly EPOLL_CTL_DEL: number;
  readonly POLLIN: number;
}

/** An error thrown by the addon for a failed system call. */
export interface NativeError extends Error {
  code: string;
  errno: number;
  reason: string;
}

/** Most frames one native recv/send call handles (TSVS_MAX_BATCH in native/src/util.h). */
export const NATIVE_MAX_BATCH = 64;

/** Where `pnpm install` puts the addon (node-gyp --directory=native). */
export const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/tsvs_netdev.node', import.meta.url));

let addon: NativeNetdev | null = null;

/**
 * The addon, loaded on first call in this thread. Throws an Error with one line saying how to build
 * it when it is missing or cannot be loaded.
 */
export function nativeNetdev(): NativeNetdev {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as NativeNetdev;
  } catch (e) {
    throw new Error(`native addon ${ADDON_PATH} cannot be loaded (${(e as Error).message.split('\n')[0]}); build it with: npm_config_nodedir=/usr pnpm install`);
  }
  return addon;
}

/** Whether `e` is an errno error from the addon. */
export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).code === 'string' && typeof (e as NativeError).errno === 'number';
}
