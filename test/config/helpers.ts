/** Test helpers for config/: a real etcd process on loopback, temp dirs, and a compiled copy of config/ for child processes. */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../tools/lab/netns.js';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export async function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `pt-cfg-${tag}-`));
}

export interface EtcdProcess {
  readonly url: string;
  readonly clientUrl: string;
  stop(): Promise<void>;
}

/** Starts a single-member etcd on random loopback ports with a temp data dir; stop() kills it by PID. */
export async function startEtcd(): Promise<EtcdProcess> {
  const dataDir = await tempDir('etcd');
  const clientPort = await freePort();
  const peerPort = await freePort();
  const name = `pt-cfg-${process.pid}`;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child: ChildProcess = spawn(
    'etcd',
    ['--name', name, '--data-dir', dataDir, '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `${name}=${peerUrl}`, '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async () => {
    if (!exited && child.pid !== undefined) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor('etcd health', async () => {
      if (exited) throw new Error(`etcd exited: ${stderr}`);
      const r = await fetch(`${clientUrl}/health`).catch(() => undefined);
      return r?.ok ? ((await r.json()) as { health: string }).health === 'true' : false;
    }, 20_000, 50);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `etcd:${clientUrl}`, clientUrl, stop };
}

/** Compiles config/ (and what it imports) to plain JS in a temp dir so child processes can load it. */
export async function compileConfigForChildren(entries: readonly string[] = ['config/index.ts']): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await tempDir('build');
  const root = resolve('.');
  await run('npx', ['tsc', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--strict', '--outDir', dir, '--rootDir', root, ...entries.map((e) => join(root, e))], { cwd: root }).catch((e: { stdout?: string }) => {
    // Type errors elsewhere still emit JS; only a missing output is fatal (checked by the caller's import).
    if (!e.stdout) throw e;
  });
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
