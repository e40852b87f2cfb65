/**
 * Codec benchmark: a full table of distinct IPv4 prefixes (1,000,000 by default) spread over a few
 * thousand attribute sets, packed as many NLRI per UPDATE as fit. Measures encoding (encodeUpdates)
 * and decoding (framing 64 KiB reads + decodeMessage) on one core and prints prefixes per second
 * each way and heap used.
 *
 *   node dist/tools/bench/codec.js [--prefixes N] [--sets N] [--runs N] [--quick] [--add-path] [--json]
 */
import { arch, cpus, loadavg } from 'node:os';
import {
  type CodecContext,
  decodeMessage,
  defaultCodecContext,
  encodeUpdates,
  MessageFramer,
  type PathAttributes,
  formatIpv4,
  maskOf,
} from '../../proto/index.js';

export interface CodecBenchOptions {
  prefixes: number;
  sets: number;
  runs: number;
  addPath: boolean;
}

export interface CodecBenchResult {
  prefixes: number;
  sets: number;
  messages: number;
  tableBytes: number;
  /** Wall-clock seconds (median of the runs). */
  encodeSeconds: number;
  decodeSeconds: number;
  /** CPU seconds of this process (median), robust when other work shares the cores. */
  encodeCpuSeconds: number;
  decodeCpuSeconds: number;
  encodePrefixesPerSecond: number;
  decodePrefixesPerSecond: number;
  heapUsedMiB: number;
  node: string;
  cpu: string;
}

/** A deterministic PRNG (mulberry32) so every run measures the same table. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prefix lengths roughly as in the IPv4 DFZ: ~60 % /24, the rest /8../23 weighted toward /20../23. */
function drawLength(r: () => number): number {
  const x = r();
  if (x < 0.6) return 24;
  if (x < 0.9) return 20 + Math.floor(r() * 4);
  if (x < 0.99) return 16 + Math.floor(r() * 4);
  return 8 + Math.floor(r() * 8);
}

/** `count` distinct prefixes, sorted by address as a table dump would be. */
export function makeTable(count: number, seed = 1): Uint32Array {
  const r = rng(seed);
  const seen = new Set<number>();
  const keys: number[] = [];
  while (keys.length < count) {
    const len = drawLength(r);
    const addr = (Math.floor(r() * 4294967296) & maskOf(len)) >>> 0;
    const key = addr * 64 + len;
    if (seen.has(key)) continue;
    seen.add(key);
    keys.push(key);
  }
  keys.sort((a, b) => a - b);
  const out = new Uint32Array(count * 2);
  keys.forEach((k, i) => {
    out[i * 2] = Math.floor(k / 64);
    out[i * 2 + 1] = k % 64;
  });
  return out;
}

/** Attribute sets as an eBGP full-table feed looks: AS paths of 2..7 hops, a few communities, some MEDs. */
export function makeAttributeSets(count: number, seed = 2): PathAttributes[] {
  const r = rng(seed);
  const sets: PathAttributes[] = [];
  for (let i = 0; i < count; i++) {
    const hops = 2 + Math.floor(r() * 6);
    const asns = [64512, ...Array.from({ length: hops - 1 }, () => 1 + Math.floor(r() * 400000))];
    const a: PathAttributes = { origin: r() < 0.9 ? 0 : 2, asPath: [{ type: 2, asns }], nextHop: formatIpv4(0x0a000001 + (i % 4)), unknown: [] };
    if (r() < 0.5) a.med = Math.floor(r() * 1000);
    const nComm = Math.floor(r() * 4);
    if (nComm > 0) a.communities = Array.from({ length: nComm }, () => ((64512 << 16) | Math.floor(r() * 65536)) >>> 0);
    sets.push(a);
  }
  return sets;
}

/** Splits the table into one contiguous run of prefixes per attribute set (sizes vary, as in real tables). */
function assign(prefixCount: number, sets: number, seed = 3): number[] {
  const r = rng(seed);
  const weights = Array.from({ length: sets }, () => 0.2 + r() * 1.8);
  const total = weights.reduce((a, b) => a + b, 0);
  const bounds: number[] = [0];
  let acc = 0;
  for (let i = 0; i < sets; i++) {
    acc += weights[i]!;
    bounds.push(i === sets - 1 ? prefixCount : Math.min(prefixCount, Math.round((acc / total) * prefixCount)));
  }
  return bounds;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function runCodecBench(opts: CodecBenchOptions): CodecBenchResult {
  const ctx: CodecContext = defaultCodecContext();
  if (opts.addPath) ctx.addPathTx = ctx.addPathRx = { ipv4: true, ipv6: false };
  const table = makeTable(opts.prefixes);
  const bounds = assign(opts.prefixes, opts.sets);
  const pathIds = opts.addPath ? Uint32Array.from({ length: opts.prefixes }, (_, i) => i & 7) : undefined;

  const encodeTimes: number[] = [];
  const decodeTimes: number[] = [];
  const encodeCpu: number[] = [];
  const decodeCpu: number[] = [];
  let messages: Uint8Array[] = [];
  let heapUsed = 0;
  for (let run = 0; run <= opts.runs; run++) {
    // Fresh attribute objects each run so the per-set encoding cache starts cold, as for a new peer.
    const sets = makeAttributeSets(opts.sets);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const out: Uint8Array[] = [];
    for (let s = 0; s < sets.length; s++) {
      const from = bounds[s]!;
      const to = bounds[s + 1]!;
      if (to <= from) continue;
      for (const m of encodeUpdates(sets[s]!, 1, table.subarray(from * 2, to * 2), ctx, pathIds?.subarray(from, to))) out.push(m);
    }
    const enc = seconds(t0);
    const encCpu = cpuSeconds(c0);
    messages = out;

    // The wire as TCP would deliver it: one stream read in 64 KiB chunks.
    const total = out.reduce((n, m) => n + m.length, 0);
    const stream = new Uint8Array(total);
    let o = 0;
    for (const m of out) {
      stream.set(m, o);
      o += m.length;
    }
    const c1 = process.cpuUsage();
    const t1 = process.hrtime.bigint();
    const framer = new MessageFramer();
    let decoded = 0;
    for (let off = 0; off < stream.length; off += 65536) {
      framer.push(stream.subarray(off, Math.min(stream.length, off + 65536)));
      for (let m = framer.next(); m; m = framer.next()) {
        const d = decodeMessage(m, ctx);
        if (d.type === 'UPDATE') decoded += d.nlri.length / 2;
      }
    }
    const dec = seconds(t1);
    const decCpu = cpuSeconds(c1);
    if (decoded !== opts.prefixes) throw new Error(`decoded ${decoded} prefixes, expected ${opts.prefixes}`);
    heapUsed = Math.max(heapUsed, process.memoryUsage().heapUsed);
    if (run > 0) {
      // Run 0 warms the JIT and is not counted.
      encodeTimes.push(enc);
      decodeTimes.push(dec);
      encodeCpu.push(encCpu);
      decodeCpu.push(decCpu);
    }
  }
  const encodeSeconds = median(encodeTimes);
  const decodeSeconds = median(decodeTimes);
  return {
    prefixes: opts.prefixes,
    sets: opts.sets,
    messages: messages.length,
    tableBytes: messages.reduce((n, m) => n + m.length, 0),
    encodeSeconds,
    decodeSeconds,
    encodeCpuSeconds: median(encodeCpu),
    decodeCpuSeconds: median(decodeCpu),
    encodePrefixesPerSecond: opts.prefixes / encodeSeconds,
    decodePrefixesPerSecond: opts.prefixes / decodeSeconds,
    heapUsedMiB: heapUsed / 2 ** 20,
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores, ${arch()})`,
  };
}

function parseArgs(argv: string[]): CodecBenchOptions & { json: boolean } {
  const opts = { prefixes: 1_000_000, sets: 2000, runs: 5, addPath: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => Number(argv[++i]);
    if (a === '--prefixes') opts.prefixes = num();
    else if (a === '--sets') opts.sets = num();
    else if (a === '--runs') opts.runs = Math.max(1, num());
    else if (a === '--quick') opts.runs = 1;
    else if (a === '--add-path') opts.addPath = true;
    else if (a === '--json') opts.json = true;
  }
  return opts;
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const opts = parseArgs(process.argv.slice(2));
  const r = runCodecBench(opts);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const rate = (x: number) => `${(x / 1e6).toFixed(2)} M prefixes/s`;
    process.stdout.write(
      [
        `codec: ${r.prefixes.toLocaleString('en')} IPv4 prefixes, ${r.sets} attribute sets${opts.addPath ? ', ADD-PATH' : ''} → ${r.messages} UPDATEs, ${(r.tableBytes / 2 ** 20).toFixed(1)} MiB (median of ${opts.runs} runs after a warm-up)`,
        `  encode: ${(r.encodeSeconds * 1000).toFixed(0)} ms  ${rate(r.encodePrefixesPerSecond)}  (cpu ${(r.encodeCpuSeconds * 1000).toFixed(0)} ms)`,
        `  decode: ${(r.decodeSeconds * 1000).toFixed(0)} ms  ${rate(r.decodePrefixesPerSecond)}  (cpu ${(r.decodeCpuSeconds * 1000).toFixed(0)} ms; framing + decodeMessage)`,
        `  load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores`,
        `  heap used: ${r.heapUsedMiB.toFixed(0)} MiB   node ${r.node}, ${r.cpu}`,
      ].join('\n') + '\n',
    );
  }
}
