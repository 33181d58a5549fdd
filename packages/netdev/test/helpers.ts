import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { ADDON_PATH } from '@tsvs/netdev';

/** Absolute path of a worker script in packages/netdev/test/workers. */
export const workerPath = fileURLToPath(new URL('./workers/netdev-worker.mjs', import.meta.url));

/**
 * Runs a worker (`path`: default workers/netdev-worker.mjs) and resolves with its final
 * `{ done: true, ... }` message; rejects on error or early exit.
 */
export function runWorker(
  data: Record<string, unknown>, onMessage?: (m: Record<string, unknown>) => void, path = workerPath,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(path, { workerData: data });
    let result: Record<string, unknown> | null = null;
    w.on('message', (m: Record<string, unknown>) => {
      if (m['done']) result = m;
      else onMessage?.(m);
    });
    w.on('error', reject);
    w.on('exit', (code) => (result ? resolve(result) : reject(new Error(`worker ${String(data['role'])} exited ${code} without a result`))));
  });
}

/**
 * Runs `body` (CommonJS) in a new worker thread, with `parentPort`, `fs` and `a` (the addon) in
 * scope after `prelude`; resolves with the first message it posts. For calls that act on the
 * calling thread only (thread names, scheduling).
 */
export function inAddonWorker(body: string, prelude = ''): Promise<unknown> {
  const src = `const { parentPort } = require('node:worker_threads'); const fs = require('node:fs');
    const a = require(${JSON.stringify(ADDON_PATH)}); ${prelude}
    ${body}`;
  return new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true });
    w.once('message', (m) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}
