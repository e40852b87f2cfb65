/**
 * Thin, typed wrappers over iproute2 for network namespaces: what the lab, the interop tests and
 * the benchmarks use to build hosts. Every call runs `ip` (or a command inside a namespace) and
 * throws NetnsError carrying the command and its stderr when it fails.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export class NetnsError extends Error {
  override readonly name = 'NetnsError';
  constructor(readonly command: string, readonly stderr: string) {
    super(`${command}: ${stderr.trim() || 'failed'}`);
  }
}

/** Runs a command and returns stdout; throws NetnsError with stderr on a non-zero exit. */
export async function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  if (opts.input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => reject(new NetnsError(`${cmd} ${args.join(' ')}`, e.message)));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new NetnsError(`${cmd} ${args.join(' ')}`, err))));
      child.stdin.end(opts.input);
    });
  }
  try {
    const { stdout } = await execFileP(cmd, [...args], { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new NetnsError(`${cmd} ${args.join(' ')}`, err.stderr ?? err.message);
  }
}

export const ip = (...args: string[]) => run('ip', args);

/** Runs a command inside namespace `ns`. */
export const nsExec = (ns: string, cmd: string, args: readonly string[] = [], opts: { input?: string; timeoutMs?: number } = {}) =>
  run('ip', ['netns', 'exec', ns, cmd, ...args], opts);

/** Spawns a long-running process inside namespace `ns` (caller owns its lifetime and kills it by PID). */
export function nsSpawn(ns: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.length > 0);
}

export async function addNamespace(ns: string): Promise<void> {
  if ((await listNamespaces()).includes(ns)) return;
  await ip('netns', 'add', ns);
  await nsExec(ns, 'ip', ['link', 'set', 'lo', 'up']);
}

export async function deleteNamespace(ns: string): Promise<void> {
  if (!(await listNamespaces()).includes(ns)) return;
  // Kill whatever still runs inside (only processes in a namespace we created).
  const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => '')).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await ip('netns', 'del', ns);
}

/**
 * A link between two namespaces: a veth pair, one end in each, with addresses and up.
 * `a`/`b` are [namespace, interface name, address/prefix or undefined].
 */
export async function addVethPair(a: readonly [string, string, string?], b: readonly [string, string, string?]): Promise<void> {
  const tmpA = `v${process.pid % 10000}${Math.floor(Math.random() * 1e5)}a`.slice(0, 15);
  const tmpB = `${tmpA.slice(0, 14)}b`;
  await ip('link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB);
  for (const [tmp, [ns, name, addr]] of [[tmpA, a], [tmpB, b]] as const) {
    await ip('link', 'set', tmp, 'netns', ns);
    await nsExec(ns, 'ip', ['link', 'set', tmp, 'name', name]);
    // An IPv6 address skips duplicate address detection: usable at once, not ~1 s later.
    if (addr) await nsExec(ns, 'ip', ['addr', 'add', addr, 'dev', name, ...(addr.includes(':') ? ['nodad'] : [])]);
    await nsExec(ns, 'ip', ['link', 'set', name, 'up']);
  }
}

/**
 * A shared L2 segment: a bridge inside a hub namespace, and a veth from each host namespace to it.
 */
export async function addBridge(hubNs: string, bridge: string): Promise<void> {
  await addNamespace(hubNs);
  await nsExec(hubNs, 'ip', ['link', 'add', bridge, 'type', 'bridge']).catch((e: NetnsError) => {
    if (!/File exists/.test(e.stderr)) throw e;
  });
  await nsExec(hubNs, 'ip', ['link', 'set', bridge, 'up']);
}

export async function attachToBridge(hubNs: string, bridge: string, hostNs: string, ifName: string, addr?: string): Promise<void> {
  const port = `${hostNs}-${ifName}`.replace(/[^A-Za-z0-9-]/g, '').slice(-15);
  await addVethPair([hubNs, port], [hostNs, ifName, addr]);
  await nsExec(hubNs, 'ip', ['link', 'set', port, 'master', bridge]);
}

/** `ip -json route show` inside a namespace, parsed. */
export async function routes(ns: string, args: readonly string[] = []): Promise<Array<Record<string, unknown>>> {
  const out = await nsExec(ns, 'ip', ['-json', 'route', 'show', ...args]);
  return out.trim() ? (JSON.parse(out) as Array<Record<string, unknown>>) : [];
}

/** Waits until `probe` returns a truthy value, polling every `intervalMs`, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
