/**
 * One long-lived `ip -o -force -batch -` fed over stdin, so a burst of kernel changes costs no
 * process spawn per batch (a fork of a 100+ MB Node process plus ip's start-up: several ms each,
 * tens under load). Each submission is its lines followed by a sentinel command whose answer says
 * ip has got past them; errors come back as `Command failed -:N` with ip's running line number,
 * which maps them to the submitted line.
 *
 * stderr is merged into stdout (`sh -c '... exec "$@" 2>&1'`) so that one ordered stream carries
 * everything: an error printed for line N always arrives before the sentinel after it. With two
 * pipes Node could read the sentinel before an earlier error and report a failed route as done.
 *
 * The process is started on demand, dropped when it dies (the submissions it had not answered are
 * reported as aborted), and closed after an idle period; while idle it does not keep Node alive.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { classifyBatchOutput, SENTINEL_LINE } from './iproute.js';
import { ChildLease } from './child-lease.js';

export interface BatchAnswer {
  /** 1-based line of the submission → the error ip printed for it. */
  readonly errors: ReadonlyMap<number, string>;
  /** Set when ip stopped before it answered the whole submission: lines without an error are of unknown fate. */
  readonly aborted?: string;
}

export interface BatchProcessOptions {
  /** Prepended to the command (e.g. ['ip', 'netns', 'exec', 'ns1']). */
  readonly commandPrefix?: readonly string[];
  /** The iproute2 binary; 'ip'. */
  readonly ipCommand?: string;
  /** A submission not answered within this long kills the process (its submissions abort). */
  readonly timeoutMs?: number;
  /** Close the process after this long without work; 120 s. */
  readonly idleMs?: number;
}

interface Job {
  /** ip's line number of the job's first line (1-based, counted over the process' life). */
  readonly first: number;
  /** ip's line number of the job's sentinel. */
  readonly sentinel: number;
  readonly errors: Map<number, string>;
  readonly resolve: (a: BatchAnswer) => void;
}

/** Restart before ip's line counter (an int) could wrap, at a quiet moment. */
const MAX_LINES_PER_PROCESS = 1_000_000_000;

export class IpBatchProcess {
  private readonly argv: readonly string[];
  private readonly timeoutMs: number;
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly jobs: Job[] = [];
  /** Lines written to the current process. */
  private written = 0;
  /** Output lines of ip not yet attributed to a line number (the error text before `Command failed`). */
  private pendingText: string[] = [];
  private partial = '';
  private readonly lease: ChildLease;
  /** Whether the process and its pipes currently keep Node running. */
  /** Processes started (for tests). */
  spawned = 0;

  constructor(opts: BatchProcessOptions = {}) {
    const ip = opts.ipCommand ?? 'ip';
    // setpriv (util-linux) makes ip die with this process: lines still queued in its stdin must not
    // reach the kernel after the daemon is gone (a restarted daemon's fresh routes would go).
    const run = 'if command -v setpriv >/dev/null 2>&1; then exec setpriv --pdeathsig KILL "$@" 2>&1; fi; exec "$@" 2>&1';
    this.argv = [...(opts.commandPrefix ?? []), 'sh', '-c', run, 'sh', ip, '-o', '-force', '-batch', '-'];
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.lease = new ChildLease(this.timeoutMs, opts.idleMs ?? 120_000, () => this.close());
  }

  /** Runs `lines` (each one batch command without its newline) and reports what failed. */
  run(lines: readonly string[]): Promise<BatchAnswer> {
    if (lines.length === 0) return Promise.resolve({ errors: new Map() });
    if (this.written > MAX_LINES_PER_PROCESS && this.jobs.length === 0) this.close();
    const child = this.child ?? this.start();
    return new Promise<BatchAnswer>((resolve) => {
      const first = this.written + 1;
      this.written += lines.length + 1;
      this.jobs.push({ first, sentinel: this.written, errors: new Map(), resolve });
      this.busy();
      child.stdin.write(`${lines.join('\n')}\n${SENTINEL_LINE}\n`);
    });
  }

  /** Starts the process now if it is not running, so the next batch does not wait for a spawn. */
  warm(): void {
    if (this.child) return;
    this.start();
    this.busy();
  }

  /** Ends the process (stdin EOF); submissions still running are reported as aborted when it exits. */
  close(): void {
    this.lease.stopIdle();
    this.child?.stdin.end();
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.argv[0]!, this.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.spawned++;
    this.child = child;
    this.lease.started();
    this.written = 0;
    this.pendingText = [];
    this.partial = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => this.onOutput(d));
    // Only the shell's own complaints (e.g. ip missing) can land here.
    child.stderr.on('data', (d: string) => this.pendingText.push(...d.split('\n').filter((l) => l.trim() !== '')));
    // A process that died closes its stdin: 'close' reports it, not an EPIPE throw.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => this.onExit(child, `cannot run ip: ${e.message}`));
    child.on('close', (code, signal) => this.onExit(child, `exit ${signal ?? `code ${String(code)}`}`));
    return child;
  }

  private onOutput(data: string): void {
    const text = this.partial + data;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const raw of lines) {
      const out = classifyBatchOutput(raw);
      if (out.kind === 'text') {
        if (out.text !== '') this.pendingText.push(out.text);
        continue;
      }
      const job = this.jobs[0];
      if (!job) continue;
      if (out.kind === 'failed' && out.line !== job.sentinel) {
        if (out.line >= job.first) job.errors.set(out.line - job.first + 1, this.pendingText.join('; ') || 'failed');
        this.pendingText = [];
        continue;
      }
      // The sentinel answered (its output, or its own failure, which still means ip got past the job).
      this.pendingText = [];
      this.jobs.shift();
      job.resolve({ errors: job.errors });
      this.busy();
    }
  }

  private onExit(child: ChildProcessWithoutNullStreams, how: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.lease.stop();
    const said = [...this.pendingText, this.partial.trim()].filter((l) => l !== '');
    const reason = `ip -batch aborted (${how})${said.length > 0 ? `: ${said.join('; ')}` : ''}`;
    for (const job of this.jobs.splice(0)) job.resolve({ errors: job.errors, aborted: reason });
  }

  /** Arms the timeout while work is outstanding, the idle close otherwise; refs the process only while busy. */
  private busy(): void {
    if (this.child) this.lease.update(this.child, this.jobs.length > 0, () => { this.pendingText.push(`no answer within ${this.timeoutMs} ms`); });
  }

}
