/**
 * Long-lived lab processes (routers, daemons, etcd) started inside namespaces, detached so they
 * outlive `petrelctl lab up`. A process is identified by PID plus its kernel start time, so a
 * recycled PID is never mistaken for ours and never killed.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { waitFor } from './netns.js';

export interface ProcessRecord {
  readonly host: string;
  /** What it is: 'bird', 'gobgpd', 'gobgp-pump', 'petrel', 'etcd'. */
  readonly what: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  readonly startTime: string;
  readonly log: string;
  readonly argv: readonly string[];
}

/** Start time and state of a PID, or undefined when there is no such process. */
function procStat(pid: number): { startTime: string; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', startTime: rest[19] ?? '' };
  } catch {
    return undefined;
  }
}

export function isAlive(rec: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const s = procStat(rec.pid);
  return s !== undefined && s.startTime === rec.startTime && s.state !== 'Z' && s.state !== 'X';
}

/**
 * Spawns `argv` inside namespace `ns` (or in the current one when ns is undefined), detached,
 * stdout and stderr appended to `log`. `ip netns exec` execs the command, so the PID is the
 * command's own.
 */
export function spawnDetached(host: string, what: string, ns: string | undefined, argv: readonly string[], log: string, env: NodeJS.ProcessEnv = {}): ProcessRecord {
  const fd = openSync(log, 'a');
  try {
    const [cmd, args] = ns === undefined ? [argv[0]!, argv.slice(1)] : ['ip', ['netns', 'exec', ns, ...argv]];
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    child.on('error', () => undefined); // reported through the log and the liveness check
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
    const stat = procStat(pid);
    return { host, what, pid, startTime: stat?.startTime ?? '', log, argv: [...argv] };
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL if the process has not gone within `graceMs`. Only our own (verified) processes. */
export async function stopProcess(rec: ProcessRecord, graceMs = 3000): Promise<void> {
  if (!isAlive(rec)) return;
  try {
    process.kill(rec.pid, 'SIGTERM');
  } catch {
    return;
  }
  try {
    await waitFor(`${rec.what} (pid ${rec.pid}) to exit`, () => !isAlive(rec), graceMs, 50);
  } catch {
    if (isAlive(rec)) {
      try {
        process.kill(rec.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }
}
