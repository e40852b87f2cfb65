/**
 * CPU time of a speaker process under test, read from /proc (the cells report it beside wall time:
 * on a shared two-core machine CPU compares changes where wall time is noise).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (ms) used so far by a speaker: its main thread, its other threads (V8's compiler and GC workers), its live child processes. */
export interface CpuSplit {
  readonly mainMs: number;
  readonly threadsMs: number;
  readonly childrenMs: number;
}

/**
 * CPU time used so far by process `pid`, split as CpuSplit: every thread of it and of its live
 * child processes (Petrel's netlink helper, where the kernel does the route inserts), from
 * /proc/.../schedstat (ns).
 */
export function cpuSplitOf(pid: number): CpuSplit {
  const ns = { main: 0, threads: 0, children: 0 };
  const visit = (p: number, child: boolean): void => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      try {
        const used = Number(readFileSync(`/proc/${p}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
        if (child) ns.children += used;
        else if (Number(t) === p) ns.main += used;
        else ns.threads += used;
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ')) if (c.trim() !== '') visit(Number(c), true);
      } catch {
        // the thread or process ended meanwhile
      }
    }
  };
  visit(pid, false);
  return { mainMs: ns.main / 1e6, threadsMs: ns.threads / 1e6, childrenMs: ns.children / 1e6 };
}
