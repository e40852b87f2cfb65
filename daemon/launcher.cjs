#!/usr/bin/env -S node --v8-pool-size=1
'use strict';
/**
 * The bin runs Node with one V8 platform worker thread instead of four (`--v8-pool-size=1`): the
 * daemon's work is on its main thread, and four workers compiling in parallel (TurboFan, while a
 * table or a burst of routes arrives) take every core of a small node from the main thread and the
 * netlink helper. Measured on 2 cores (issue 10, kernel cell, 10k routes): 80-109 ms with four,
 * 58-74 ms with one, and 10-20 % less CPU; ingest and propagate no worse. `node dist/petrel.cjs`
 * skips the shebang and runs with Node's default pool.
 *
 * `petrel`: the start path of the daemon (dist/petrel.cjs, the package's bin; scripts/bundle.mjs
 * copies this file there). It runs the one-file bundle dist/petrel-daemon.cjs through a V8 code
 * cache made at build time (dist/petrel-daemon.cjs.cache), so a starting daemon neither parses nor
 * compiles the ~450 KB of JavaScript it runs: about 15 ms of CPU less per start, which thirty
 * daemons starting at once on two cores pay thirty times (issue 10, mesh cell).
 *
 * Written in CommonJS on purpose: a CommonJS entry does not start Node's ESM loader (a few ms).
 *
 * The cache is only an accelerator. It is used when its header names the build of the bundle (the
 * bundle's last line, `//# petrel-build=<id>`; V8's own check compares only the source length);
 * V8 then still rejects it when it was made by another Node/V8 version or with other V8 flags.
 * Missing, stale or rejected, the bundle is compiled as usual. PETREL_CODE_CACHE=off skips it,
 * PETREL_CODE_CACHE=<file> reads another file; the daemon logs which case it was ('control socket
 * ready', field codeCache; PETREL_CODE_CACHE_REPORT=1 also prints it on stderr at once, as the build
 * checks). PETREL_CODE_CACHE_WRITE=<file> (the build's training run) writes the cache at exit, once
 * the daemon has run, so the functions V8 compiled lazily are in it too. V8 flags set at run time
 * (v8.setFlagsFromString) change the flags V8 checks: set them here, before the compile, or the
 * cache made at exit is rejected at every start.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { createRequire } = require('node:module');
const vm = require('node:vm');
const v8 = require('node:v8');

const file = join(__dirname, 'petrel-daemon.cjs');
const MAGIC = 'petrel-code-cache ';

/** The cache's code for build `id`, or why there is none. */
function readCache(id) {
  const setting = process.env.PETREL_CODE_CACHE;
  if (setting === 'off') return { state: 'off' };
  let buf;
  try {
    buf = readFileSync(setting || `${file}.cache`);
  } catch {
    return { state: 'missing' };
  }
  const nl = buf.indexOf(10);
  if (id === undefined || nl < 0 || buf.toString('latin1', 0, nl) !== MAGIC + id) return { state: 'stale' };
  return { state: 'accepted', data: buf.subarray(nl + 1) };
}

let source = readFileSync(file, 'utf8');
// A hashbang line is a comment only at the very start of a script; inside the wrapper it must be one.
if (source.startsWith('#!')) source = `//${source}`;
const idAt = source.lastIndexOf('\n//# petrel-build=');
const id = idAt >= 0 ? source.slice(idAt + 18).trim() : undefined;
const cache = readCache(id);
// The module wrapper on a line of its own (lineOffset -1): stack traces keep the bundle's lines.
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${source}\n})`, {
  filename: file,
  lineOffset: -1,
  ...(cache.data ? { cachedData: cache.data } : {}),
});
const codeCache = cache.data && script.cachedDataRejected ? 'rejected' : cache.state;
if (process.env.PETREL_CODE_CACHE_REPORT) process.stderr.write(`petrel: code cache ${codeCache}\n`);

const out = process.env.PETREL_CODE_CACHE_WRITE;
if (out) {
  delete process.env.PETREL_CODE_CACHE_WRITE;
  process.on('exit', () => {
    // The flags as they were at the compile (see below), or V8 rejects the cache at every start.
    v8.setFlagsFromString('--lazy-feedback-allocation');
    writeFileSync(out, Buffer.concat([Buffer.from(`${MAGIC}${id}\n`, 'latin1'), script.createCachedData()]));
  });
}

const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(file), mod, file, __dirname);
const started = mod.exports.main(process.argv, { codeCache });
// V8 gives a function its feedback vector (what its inline caches learn) only once it has run a
// while; until then every property access and call in it takes the generic, slow path. Start-up
// code runs once, so that is right for it; but the session code runs a few dozen times per peer
// and mostly never gets there. Once started, functions get feedback from their first call. Set
// after the cached compile: the code cache is checked against the flags in force then.
if (started && typeof started.then === 'function') {
  started.then(() => {
    if (process.env.PETREL_EAGER_FEEDBACK !== 'off') v8.setFlagsFromString('--no-lazy-feedback-allocation');
  });
}
