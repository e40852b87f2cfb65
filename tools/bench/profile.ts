/**
 * Summaries of V8 CPU profiles (`node --cpu-prof`): self time per function across every
 * .cpuprofile in a directory, so a cell that misses its goal comes with where the time went.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
}

/** Top `limit` functions by self time, as "ms  share  name (file:line)" lines. */
export function summariseProfiles(dir: string, limit: number): string[] {
  if (!existsSync(dir)) return ['(no profiles)'];
  const self = new Map<string, number>();
  let totalMs = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const samples = p.samples.length || 1;
    const msPerSample = (p.endTime - p.startTime) / 1000 / samples;
    for (const n of p.nodes) {
      const hits = n.hitCount ?? 0;
      if (hits === 0) continue;
      const file = n.callFrame.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
      const key = `${n.callFrame.functionName || '(anonymous)'} (${file || 'native'}${file ? `:${n.callFrame.lineNumber + 1}` : ''})`;
      self.set(key, (self.get(key) ?? 0) + hits * msPerSample);
      totalMs += hits * msPerSample;
    }
  }
  if (totalMs === 0) return ['(no samples)'];
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)} %  ${k}`);
}
