/**
 * The `internal` port: a TAP device, the bridge's local port (odp port 0, named after the bridge,
 * as OVS's internal ports). The interface lives as long as its fd: `destroy()` (or the process
 * ending) deletes it. The host stack's transmissions are this port's rx; what the switch sends on
 * it is received by the host stack. It is created down, as OVS creates it (`ip link set NAME up`,
 * or `setLinkUp(true)`).
 *
 * Options: n_txq=N (1..64, default 1; every txq writes the one fd, the txq only selects the lock
 * and counters). n_rxq is 1. Needs CAP_NET_ADMIN; without it creation throws NetdevError
 * `cannot open internal port NAME: Operation not permitted (needs root or CAP_NET_ADMIN)`; a name
 * that is taken gives `... Device or resource busy`.
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

export class InternalNetdev extends FdNetdev {
  readonly type = 'internal';

  /** Creates the TAP interface. Throws NetdevError, one line. */
  static create(spec: NetdevSpec, ctx: NetdevContext): InternalNetdev {
    const opts = spec.options ?? {};
    const o = new PortOptions(spec.name, 'internal', opts, ['n_txq']);
    const nTxq = o.int('n_txq', 1, 1, 64);
    checkIfName('internal', spec.name);
    let a, fd = -1, ifindex = 0;
    try {
      a = nativeNetdev();
      fd = a.tapOpen(spec.name);
      ifindex = a.ifInfo(spec.name)[0];
    } catch (e) {
      if (a && fd >= 0) a.close(fd);
      throw openError('internal', spec.name, e, 'CAP_NET_ADMIN');
    }
    const mem = fdSharedMemory(1, nTxq);
    const bank = ctx.bank ?? null;
    let epfd = -1, token = -1;
    if (bank) ({ epfd, token } = watchRxqFd(fd, mem.ctl, rxqSlotWord(0), bank.sab));
    const shared: FdShared = {
      kind: 'tap', ifindex, rxFds: [fd], txFds: Array.from({ length: nTxq }, () => fd), tokens: [token], epfd, fanoutGroup: 0, cpuFanout: false, ...mem,
    };
    return new InternalNetdev({
      name: spec.name, type: 'internal', options: { ...opts }, nRxq: 1, nTxq,
      pool: ctx.pool.descriptor(), bank: bank ? bank.sab : null, shared: shared as unknown as Record<string, unknown>,
    }, ctx.pool);
  }

  static attach(desc: NetdevDescriptor, pool: PacketPool): InternalNetdev {
    if (desc.type !== 'internal') throw new NetdevError(`${desc.name}: not an internal port (type '${desc.type}')`);
    return new InternalNetdev(desc, pool);
  }

  /** Brings the interface up or down (CAP_NET_ADMIN). Throws NetdevError naming the port. */
  setLinkUp(up: boolean): void {
    try {
      nativeNetdev().linkSetUp(this.name, up);
    } catch (e) {
      throw new NetdevError(`${this.name}: cannot set the link ${up ? 'up' : 'down'}: ${(e as Error).message}`);
    }
  }
}

registerNetdevProvider({
  type: 'internal',
  create: (spec, ctx) => InternalNetdev.create(spec, ctx),
  attach: (desc, pool) => InternalNetdev.attach(desc, pool),
});
