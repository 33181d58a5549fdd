import { NetdevError } from '../netdev.js';
import { isNativeError } from './addon.js';

/**
 * The one-line error for a port that cannot be opened, e.g.
 * `cannot open system port veth0: Operation not permitted (needs root or CAP_NET_RAW)`.
 * `capability` names what EPERM / EACCES lack.
 */
export function openError(type: string, name: string, e: unknown, capability: string): NetdevError {
  if (isNativeError(e)) {
    const hint = e.code === 'EPERM' || e.code === 'EACCES' ? ` (needs root or ${capability})` : '';
    return new NetdevError(`cannot open ${type} port ${name}: ${e.reason}${hint}`);
  }
  return new NetdevError(`cannot open ${type} port ${name}: ${(e as Error).message.split('\n')[0]}`);
}

/** Linux interface names: 1..15 bytes, no '/', no whitespace, not '.' or '..' (dev_valid_name). */
export function checkIfName(type: string, name: string): void {
  if (!/^[^\s/:]{1,15}$/.test(name) || name === '.' || name === '..' || Buffer.byteLength(name) > 15) {
    throw new NetdevError(`cannot open ${type} port ${name}: not a valid interface name (1 to 15 bytes, no '/', ':' or spaces)`);
  }
}
