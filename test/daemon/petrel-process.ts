/** Runs the daemon as the `petrel` bin does (`node dist/petrel.cjs`: the bundle through its code cache) and follows its JSON log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { waitFor } from '../../tools/lab/netns.js';

export const MAIN = resolve(import.meta.dirname, '../../dist/petrel.cjs');

export function ensureBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
}

export type LogLine = Record<string, unknown> & { msg?: string; peer?: string };

export class PetrelProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}, command: readonly string[] = [process.execPath, MAIN]) {
    const [cmd, ...pre] = command;
    this.child = spawn(cmd as string, [...pre, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          /* not JSON */
        }
      }
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('exit', (code, signal) => (this.exit = { code, signal }));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(sig);
  }

  /** Waits for a log line matching `pred` (counting only lines after index `from`). */
  waitLog(what: string, pred: (l: LogLine) => boolean, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    return waitFor(what, () => this.logs.slice(from).find(pred), timeoutMs, 25).catch((e: Error) => {
      throw new Error(`${e.message}\n--- stderr:\n${this.stderr}\n--- last logs:\n${this.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`);
    });
  }

  waitExit(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return waitFor('process exit', () => this.exit, timeoutMs, 25);
  }

  /** SIGKILL if still running (teardown). */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.waitExit().catch(() => {});
  }
}

export const established = (peer?: string) => (l: LogLine) => l.msg === 'session established' && (peer === undefined || l.peer === peer);
export const stateChange = (to: string, peer?: string) => (l: LogLine) => l.msg === 'state change' && l.to === to && (peer === undefined || l.peer === peer);
