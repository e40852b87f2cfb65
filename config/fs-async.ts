/**
 * Promise forms of the node:fs calls the daemon's start path makes (the file datastore, the control
 * socket), without loading node:fs/promises at start: that module loads Node's FileHandle and
 * readline machinery, about 0.6 ms of CPU per start that thirty daemons starting at once on two
 * cores pay thirty times (issue 10, mesh cell). Path calls go through the callback API; `open` (a FileHandle, for the
 * fsync'd writes) loads node:fs/promises on its first use.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

export const readFile = promisify(fs.readFile);
export const writeFile = promisify(fs.writeFile);
export const stat = promisify(fs.stat);
export const readdir = promisify(fs.readdir);
export const mkdir = promisify(fs.mkdir);
export const rename = promisify(fs.rename);
export const unlink = promisify(fs.unlink);
export const link = promisify(fs.link);
export const lstat = promisify(fs.lstat);
export const chmod = promisify(fs.chmod);
export const chown = promisify(fs.chown);

type FsPromises = typeof import('node:fs/promises');
let fsPromises: FsPromises | undefined;

/** node:fs/promises' open (a FileHandle), the module loaded on the first call. */
export function open(...args: Parameters<FsPromises['open']>): ReturnType<FsPromises['open']> {
  fsPromises ??= createRequire(import.meta.url)('node:fs/promises') as FsPromises;
  return fsPromises.open(...args);
}
