/**
 * Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over the
 * target, fsync the directory. After a crash at any point the target holds either the old or the new
 * content, never a mix (POSIX rename is atomic within a filesystem; the directory fsync makes the rename
 * itself durable).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `data`. Creates missing parent directories (mode 0700). The file gets `mode`
 * (default 0600). Throws the underlying fs error; the temp file is removed on failure.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}
