/** A process a test started inside a network namespace, with its output kept for failure messages. */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../../tools/lab/netns.js';

export class NsProcess {
  out = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;

  constructor(readonly what: string, ns: string, argv: readonly string[], env: NodeJS.ProcessEnv = {}) {
    // `ip netns exec` execs the command: the child's PID is the daemon's own.
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.out += d.toString();
      if (this.out.length > 400_000) this.out = this.out.slice(-200_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('exit', (code, signal) => (this.exit = { code, signal }));
  }

  tail(lines = 15): string {
    return `--- ${this.what} (${this.exit ? `exited ${JSON.stringify(this.exit)}` : 'running'}):\n${this.out.trimEnd().split('\n').slice(-lines).join('\n')}`;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(sig);
  }

  waitExit(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return waitFor(`${this.what} to exit`, () => this.exit, timeoutMs, 25);
  }

  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGKILL');
    await this.waitExit().catch(() => undefined);
  }
}
