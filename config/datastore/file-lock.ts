/**
 * A lock file that serialises writers across processes on one machine: created with O_EXCL,
 * holding `pid:token`. A lock whose pid is dead is taken over by renaming it away first (rename is
 * atomic, so only one waiter wins the takeover).
 */
import { nodeCrypto } from '../crypto.js';
import { link, open, readFile, rename, unlink } from '../fs-async.js';
import { DatastoreError } from '../errors.js';

/** Whether a process with this pid exists (EPERM: it exists but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function acquireFileLock(lockPath: string, timeoutMs = 30_000): Promise<() => Promise<void>> {
  const token = `${process.pid}:${nodeCrypto().randomUUID()}`;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(token);
      await fh.close();
      return async () => {
        const holder = await readFile(lockPath, 'utf8').catch(() => '');
        if (holder === token) await unlink(lockPath).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DatastoreError(`cannot create lock ${lockPath}: ${(e as Error).message}`);
    }
    const holder = await readFile(lockPath, 'utf8').catch(() => '');
    const pid = Number(holder.split(':')[0]);
    if (holder && pid > 0 && !processAlive(pid)) {
      const aside = `${lockPath}.stale-${token}`;
      try {
        await rename(lockPath, aside);
        const taken = await readFile(aside, 'utf8').catch(() => '');
        if (taken === holder) await unlink(aside).catch(() => undefined);
        else await link(aside, lockPath).then(() => unlink(aside)).catch(() => unlink(aside).catch(() => undefined));
      } catch {
        /* someone else took it over first */
      }
      continue;
    }
    if (Date.now() > deadline) throw new DatastoreError(`timed out after ${timeoutMs} ms waiting for lock ${lockPath} (held by ${holder || 'unknown'})`);
    // Back off with jitter so many waiters do not retry in lockstep.
    await pause(Math.min(50, 2 + attempt) + Math.random() * 10);
  }
}
