/**
 * Pidfile: the daemon's pid in decimal and a newline, written atomically at start and removed at stop
 * (only if it still holds our pid). A pidfile naming a live process other than us refuses the start;
 * one naming a dead process is stale and replaced.
 */
import { readFile, unlink } from 'node:fs/promises';
import { isProcessAlive } from '@tsvs/control';
import { writeFileAtomic } from './config/atomic-write.js';

export async function readPidfile(path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Writes our pid. Throws if the file names another live process. */
export async function writePidfile(path: string, pid = process.pid): Promise<void> {
  const old = await readPidfile(path);
  if (old !== null && old !== pid && isProcessAlive(old)) {
    throw new Error(`pidfile ${path} names running process ${old}: is another daemon running?`);
  }
  await writeFileAtomic(path, `${pid}\n`, 0o644);
}

export async function removePidfile(path: string, pid = process.pid): Promise<void> {
  if ((await readPidfile(path)) === pid) await unlink(path).catch(() => undefined);
}
