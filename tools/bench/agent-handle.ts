/**
 * The harness side of an agent: spawns tools/bench/agent.js inside a namespace, collects its JSON
 * events, and lets a cell wait for the ones it needs. Closing stdin ends the agent (and its sessions).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { AgentEvent, AgentSpec } from './agent.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The compiled agent: beside this file when running from dist/, else in dist/ (tests run the .ts sources). */
const AGENT_JS = existsSync(join(HERE, 'agent.js')) ? join(HERE, 'agent.js') : join(HERE, '..', '..', 'dist', 'tools', 'bench', 'agent.js');

export class AgentError extends Error {
  override readonly name = 'AgentError';
}

export class AgentHandle {
  readonly events: AgentEvent[] = [];
  private readonly waiters: Array<{ match: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }> = [];
  private exited = false;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) this.push(JSON.parse(line) as AgentEvent);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('exit', (code) => {
      this.exited = true;
      this.push({ ev: 'error', message: `agent exited (${code})${this.stderr ? `: ${this.stderr.trim().slice(-500)}` : ''}` });
    });
  }

  /** Starts an agent in namespace `ns` (or in the harness' own namespace when ns is undefined). */
  static start(ns: string | undefined, spec: AgentSpec): AgentHandle {
    const args = [AGENT_JS, JSON.stringify(spec)];
    const child = ns
      ? spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    return new AgentHandle(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private push(e: AgentEvent): void {
    this.events.push(e);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.match(e) || e.ev === 'error') {
        this.waiters.splice(i, 1);
        w.resolve(e);
      }
    }
  }

  /** Resolves with the first event (past or future) matching; rejects on an agent error or timeout. */
  async wait<E extends AgentEvent['ev']>(ev: E, id: string | undefined, timeoutMs: number): Promise<Extract<AgentEvent, { ev: E }>> {
    const match = (e: AgentEvent) => e.ev === ev && (id === undefined || ('id' in e && e.id === id));
    const seen = this.events.find(match) ?? this.events.find((e) => e.ev === 'error');
    const e =
      seen ??
      (await new Promise<AgentEvent>((resolve, reject) => {
        const timer = setTimeout(() => reject(new AgentError(`agent: no '${ev}'${id ? ` from ${id}` : ''} within ${timeoutMs} ms`)), timeoutMs);
        this.waiters.push({ match, resolve: (x) => (clearTimeout(timer), resolve(x)) });
      }));
    if (e.ev === 'error') throw new AgentError(`agent${'id' in e && e.id ? ` ${e.id}` : ''}: ${e.message}`);
    return e as Extract<AgentEvent, { ev: E }>;
  }

  /** Ends the agent: closes stdin (it exits), then kills it by PID if it lingers. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}
