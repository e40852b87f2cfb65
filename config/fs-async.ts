/**
 * Promise forms of the node:fs calls the daemon's start path makes (the file datastore, the control
 * socket), without loading node:fs/promises at start: that module loads Node's FileHandle and
 * readline machinery, about 0.6 ms of CPU per start that thirty daemons starting at once on two
 * cores pay thirty times (issue 10, mesh cell). Path calls go through the callback API; `open` (a FileHandle, for the
 * fsync'd writes) loads node:fs/promises on its first use. Named imports: a namespace import of a
 * Node module makes the bundle copy every export of it at start.
 */
import { chmod as chmodCb, chown as chownCb, link as linkCb, lstat as lstatCb, mkdir as mkdirCb, readdir as readdirCb, readFile as readFileCb, rename as renameCb, stat as statCb, unlink as unlinkCb, writeFile as writeFileCb } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

export const readFile = promisify(readFileCb);
export const writeFile = promisify(writeFileCb);
export const stat = promisify(statCb);
export const readdir = promisify(readdirCb);
export const mkdir = promisify(mkdirCb);
export const rename = promisify(renameCb);
export const unlink = promisify(unlinkCb);
export const link = promisify(linkCb);
export const lstat = promisify(lstatCb);
export const chmod = promisify(chmodCb);
export const chown = promisify(chownCb);

type FsPromises = typeof import('node:fs/promises');
let fsPromises: FsPromises | undefined;

/** node:fs/promises' open (a FileHandle), the module loaded on the first call. */
export function open(...args: Parameters<FsPromises['open']>): ReturnType<FsPromises['open']> {
  fsPromises ??= createRequire(import.meta.url)('node:fs/promises') as FsPromises;
  return fsPromises.open(...args);
}
