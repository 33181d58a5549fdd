/**
 * The bridge's local port (odp port 0, OpenFlow LOCAL, named after the bridge): which netdev type
 * it gets. As OVS's internal port on the netdev datapath, it is a real host interface — a TAP
 * device (@tsvs/netdev `internal`), created down, deleted with its fd, so when the daemon stops or
 * is killed — when the daemon may create one (CAP_NET_ADMIN in its effective set). Otherwise it is
 * a `memory` port (the bridge works the same, the host just has no interface for it).
 */
import { readFileSync } from 'node:fs';

/** Linux capability number of CAP_NET_ADMIN (include/uapi/linux/capability.h). */
const CAP_NET_ADMIN = 12;

export type LocalPortType = 'internal' | 'memory';

/** The local port's type and why (logged at start, shown in `show` under `switch.local_port`). */
export interface LocalPortChoice {
  type: LocalPortType;
  reason: string;
}

/**
 * True when CAP_NET_ADMIN is in this process's effective capability set (`CapEff` of
 * /proc/self/status, a hex bit mask; proc(5)). False when it cannot be read.
 */
export function hasNetAdmin(status?: string): boolean {
  let text = status;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return false;
    }
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(text);
  if (!m) return false;
  return (BigInt(`0x${m[1]}`) >> BigInt(CAP_NET_ADMIN)) & 1n ? true : false;
}

/** `internal` with CAP_NET_ADMIN, `memory` without; `forced` (tests, embedding) wins. */
export function chooseLocalPort(forced?: LocalPortType, status?: string): LocalPortChoice {
  if (forced) return { type: forced, reason: 'set by the embedding program' };
  return hasNetAdmin(status)
    ? { type: 'internal', reason: 'CAP_NET_ADMIN: a TAP interface named after the bridge' }
    : { type: 'memory', reason: 'no CAP_NET_ADMIN: a memory port, no host interface' };
}
