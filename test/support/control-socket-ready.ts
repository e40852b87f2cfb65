/** Waiting for a BIRD or petrel we started to answer `birdc show status` on its control socket. */
import { run, waitFor } from '../../tools/lab/netns.js';
import type { NsProcess } from './ns-process.js';

/** Resolves once `ctl` answers; fails at once, with the process's output, if the process exits first. */
export async function untilAnswering(proc: NsProcess, ctl: string, timeoutMs: number, what = `${proc.what} to answer on ${ctl}`): Promise<void> {
  await waitFor(what, async () => {
    if (proc.exit) throw new Error(proc.tail());
    return run('birdc', ['-s', ctl, 'show', 'status']).then(() => true);
  }, timeoutMs);
}
