/**
 * Default file locations of the daemon and the CLI.
 *
 * Root (uid 0), following the FHS like Open vSwitch (/var/run/openvswitch, /var/log/openvswitch):
 *   run dir   /run/tsvs            socket /run/tsvs/tsvs.sock, pidfile /run/tsvs/tsvs.pid
 *   log file  /var/log/tsvs/tsvs.log
 *   config    /var/lib/tsvs/config.json   (state the daemon writes, hence /var/lib rather than /etc)
 * Any other user:
 *   run dir   $XDG_RUNTIME_DIR/tsvs, else /tmp/tsvs-$UID   (socket, pidfile and log file inside it)
 *   config    $XDG_STATE_HOME/tsvs/config.json, else ~/.local/state/tsvs/config.json
 * The socket path can always be overridden with `--socket PATH` or the environment variable TSVS_SOCKET.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Environment variable naming the control socket (the `--socket` flag wins over it). */
export const SOCKET_ENV = 'TSVS_SOCKET';

/** Longest unix socket path Linux accepts (sizeof(sockaddr_un.sun_path) - 1 = 107 bytes). */
export const MAX_SOCKET_PATH_BYTES = 107;

type Env = Record<string, string | undefined>;

function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/** Directory for the socket and pidfile (and the log file of a non-root daemon). */
export function defaultRunDir(env: Env = process.env, uid: number = currentUid()): string {
  if (uid === 0) return '/run/tsvs';
  if (env['XDG_RUNTIME_DIR']) return join(env['XDG_RUNTIME_DIR'], 'tsvs');
  return `/tmp/tsvs-${uid}`;
}

export function defaultSocketPath(env: Env = process.env, uid: number = currentUid()): string {
  return join(defaultRunDir(env, uid), 'tsvs.sock');
}

export function defaultPidfilePath(env: Env = process.env, uid: number = currentUid()): string {
  return join(defaultRunDir(env, uid), 'tsvs.pid');
}

export function defaultLogFilePath(env: Env = process.env, uid: number = currentUid()): string {
  return uid === 0 ? '/var/log/tsvs/tsvs.log' : join(defaultRunDir(env, uid), 'tsvs.log');
}

export function defaultConfigPath(env: Env = process.env, uid: number = currentUid()): string {
  if (uid === 0) return '/var/lib/tsvs/config.json';
  const state = env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state');
  return join(state, 'tsvs', 'config.json');
}

/** The socket to use: an explicit flag, else $TSVS_SOCKET, else the default above. */
export function resolveSocketPath(flag?: string, env: Env = process.env): string {
  if (flag) return flag;
  if (env[SOCKET_ENV]) return env[SOCKET_ENV];
  return defaultSocketPath(env);
}
