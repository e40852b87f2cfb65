/**
 * The seed corpus: every BGP message of the real BIRD session capture, hand-made messages of
 * every type and shape the codec knows (each with the codec context it is meant for), and the
 * kept corpus files (hex, one message or stream per file).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bgpMessagesFromCapture,
  defaultCodecContext,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeShutdownCommunication,
  encodeUpdate,
  encodeUpdates,
  encodeWithdrawals,
  fromHex,
  type Capability,
  type CodecContext,
  type PathAttributes,
} from '../../proto/index.js';

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly ctx: CodecContext;
}

export const CTX_AS4: CodecContext = defaultCodecContext();
export const CTX_AS2: CodecContext = { ...CTX_AS4, as4: false };
export const CTX_ADDPATH: CodecContext = { ...CTX_AS4, addPathRx: { ipv4: true, ipv6: true }, addPathTx: { ipv4: true, ipv6: true } };
export const CTX_EXTENDED: CodecContext = { ...CTX_AS4, extendedMessage: true };
export const CONTEXTS: readonly CodecContext[] = [CTX_AS4, CTX_AS2, CTX_ADDPATH, CTX_EXTENDED];

/** The repository root: the nearest folder above this module (source or dist/) holding package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The shared fixtures sit beside the repository (../shared), on developer machines and in CI alike. */
export const BIRD_PCAP = join(repoRoot(), '..', 'shared', 'fixtures', 'bird2-wire', 'session.pcap');

/** Every message of a capture, with the context the BIRD session negotiated (4-octet AS, no ADD-PATH). */
export function pcapSeeds(path = BIRD_PCAP): Seed[] {
  const msgs = bgpMessagesFromCapture(new Uint8Array(readFileSync(path)));
  return msgs.map((m, i) => ({ name: `pcap-${i}-frame${m.frame}`, bytes: m.bytes, ctx: CTX_AS4 }));
}

const ALL_CAPS: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'multiprotocol', afi: 2, safi: 1 },
  { kind: 'routeRefresh' },
  { kind: 'extendedMessage' },
  { kind: 'gracefulRestart', restartState: true, notification: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
  { kind: 'as4', asn: 4200000001 },
  { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 3 }, { afi: 2, safi: 1, sendReceive: 1 }] },
  { kind: 'enhancedRouteRefresh' },
  { kind: 'llgr', families: [{ afi: 1, safi: 1, forwardingPreserved: false, staleTime: 3600 }] },
  { kind: 'fqdn', hostname: 'node-1', domain: 'cluster.local' },
  { kind: 'unknown', code: 200, bytes: Uint8Array.of(1, 2, 3) },
];

const FULL_ATTRS: PathAttributes = {
  origin: 0,
  asPath: [
    { type: 2, asns: [64512, 4200000001, 65000] },
    { type: 1, asns: [65001, 65002] },
  ],
  nextHop: '10.0.1.12',
  med: 10,
  localPref: 100,
  atomicAggregate: true,
  aggregator: { asn: 4200000001, address: '10.0.0.1' },
  communities: [0xfde80001, 0xffffff01],
  extCommunities: [0x0002fde800000064n],
  largeCommunities: [[64512, 1, 2]],
  originatorId: '10.0.1.13',
  clusterList: ['10.0.0.1', '10.0.0.2'],
  unknown: [{ flags: 0xe0, code: 99, value: Uint8Array.of(9, 9, 9) }],
};

const V6_ATTRS: PathAttributes = { origin: 0, asPath: [], nextHop: 'fd00::12', nextHopLinkLocal: 'fe80::1', localPref: 100, unknown: [] };

function v4(...cidrs: [string, number][]): Uint32Array {
  const out: number[] = [];
  for (const [a, len] of cidrs) {
    const v = a.split('.').reduce((x, o) => ((x << 8) | Number(o)) >>> 0, 0);
    out.push(v, len);
  }
  return Uint32Array.from(out);
}

/** Hand-made messages of every type: OPENs, UPDATEs (v4, v6, ADD-PATH, 2-octet AS, EoR), NOTIFICATIONs, KEEPALIVE, ROUTE-REFRESH. */
export function handMadeSeeds(): Seed[] {
  const s: Seed[] = [];
  const add = (name: string, bytes: Uint8Array, ctx: CodecContext = CTX_AS4) => s.push({ name, bytes, ctx });
  add('open-all-caps', encodeOpen({ version: 4, myAs: 23456, holdTime: 90, bgpId: '10.0.0.1', capabilities: ALL_CAPS }));
  add('open-bare', encodeOpen({ version: 4, myAs: 64512, holdTime: 0, bgpId: '10.0.0.2', capabilities: [] }));
  // RFC 9072 extended optional parameters: enough capabilities to pass 255 bytes.
  const many: Capability[] = Array.from({ length: 70 }, (_, i) => ({ kind: 'multiprotocol', afi: 1, safi: (i % 250) + 1 }));
  add('open-extended-params', encodeOpen({ version: 4, myAs: 64512, holdTime: 3, bgpId: '10.0.0.3', capabilities: many }));
  const nlri = v4(['10.48.0.0', 26], ['10.48.0.64', 26], ['0.0.0.0', 0], ['192.168.1.1', 32]);
  add('update-v4-full', encodeUpdate({ withdrawn: v4(['10.1.0.0', 16]), attrs: FULL_ATTRS, nlri }, CTX_AS4));
  add('update-v4-full-as2', encodeUpdate({ withdrawn: new Uint32Array(0), attrs: FULL_ATTRS, nlri }, CTX_AS2), CTX_AS2);
  const ap = Uint32Array.from([1, 2, 3, 4]);
  add('update-v4-addpath', encodeUpdate({ withdrawn: v4(['10.9.0.0', 24]), withdrawnPathIds: Uint32Array.of(7), attrs: FULL_ATTRS, nlri, nlriPathIds: ap }, CTX_ADDPATH), CTX_ADDPATH);
  const v6 = Uint32Array.from([0xfd000000, 0, 0, 0, 48, 0xfd000000, 0x10000, 0, 0, 64, 0x20010db8, 0, 0, 1, 128]);
  for (const [i, m] of encodeUpdates(V6_ATTRS, 2, v6, CTX_AS4).entries()) add(`update-v6-${i}`, m);
  for (const [i, m] of encodeUpdates(V6_ATTRS, 2, v6, CTX_ADDPATH, Uint32Array.of(1, 2, 3)).entries()) add(`update-v6-addpath-${i}`, m, CTX_ADDPATH);
  for (const [i, m] of encodeWithdrawals(1, nlri, CTX_AS4).entries()) add(`withdraw-v4-${i}`, m);
  for (const [i, m] of encodeWithdrawals(2, v6, CTX_AS4).entries()) add(`withdraw-v6-${i}`, m);
  add('eor-v4', encodeEndOfRib(1, 1));
  add('eor-v6', encodeEndOfRib(2, 1));
  // Many prefixes: a message near the 4096 limit, and one above it for extended sessions.
  const big = new Uint32Array(2 * 900);
  for (let i = 0; i < 900; i++) {
    big[2 * i] = (0x0a000000 + i * 256) >>> 0;
    big[2 * i + 1] = 24;
  }
  const packed = encodeUpdates(FULL_ATTRS, 1, big, CTX_AS4);
  if (packed[0]) add('update-v4-packed', packed[0]);
  const packedExt = encodeUpdates(FULL_ATTRS, 1, big, CTX_EXTENDED);
  if (packedExt[0]) add('update-v4-extended', packedExt[0], CTX_EXTENDED);
  add('notification-cease-shutdown', encodeNotification(6, 2, encodeShutdownCommunication('maintenance – back soon')));
  add('notification-update-error', encodeNotification(3, 1));
  add('notification-header-len', encodeNotification(1, 2, Uint8Array.of(0x10, 0x01)));
  add('keepalive', encodeKeepalive());
  add('refresh-normal', encodeRouteRefresh(1, 1, 0));
  add('refresh-borr', encodeRouteRefresh(1, 1, 1));
  add('refresh-eorr', encodeRouteRefresh(2, 1, 2));
  return s;
}

/** A kept corpus file: `<name>.hex`, first line optionally `# ctx: as4|as2|addpath|extended`, the rest hex. */
export function parseCorpusFile(name: string, text: string): Seed {
  const m = /^#\s*ctx:\s*(\w+)/m.exec(text);
  const ctx = m?.[1] === 'as2' ? CTX_AS2 : m?.[1] === 'addpath' ? CTX_ADDPATH : m?.[1] === 'extended' ? CTX_EXTENDED : CTX_AS4;
  const hex = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('');
  return { name, bytes: fromHex(hex), ctx };
}

export function ctxName(ctx: CodecContext): string {
  if (!ctx.as4) return 'as2';
  if (ctx.addPathRx.ipv4 || ctx.addPathRx.ipv6) return 'addpath';
  if (ctx.extendedMessage) return 'extended';
  return 'as4';
}

export function corpusSeeds(dir: string): Seed[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.hex')).sort();
  } catch {
    return [];
  }
  return files.map((f) => parseCorpusFile(f, readFileSync(join(dir, f), 'utf8')));
}

/** Everything: capture, hand-made, kept corpus. */
export function allSeeds(corpusDir?: string): Seed[] {
  return [...pcapSeeds(), ...handMadeSeeds(), ...(corpusDir ? corpusSeeds(corpusDir) : [])];
}
