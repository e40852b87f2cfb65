/**
 * The real BIRD 2.0.12 session in ../shared/fixtures/bird2-wire: every message decodes, matches
 * what tshark printed for it, and re-encodes to the same bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BgpMessage,
  bgpMessagesFromCapture,
  decodeMessage,
  encodeMessage,
  negotiateContext,
  prefixTexts,
  readCapture,
  toHex,
  type CodecContext,
  type OpenMessage,
} from '../../proto/index.js';

const dir = join(import.meta.dirname, '../../../shared/fixtures/bird2-wire');
const pcap = new Uint8Array(readFileSync(join(dir, 'session.pcap')));
const tshark = readFileSync(join(dir, 'session.txt'), 'utf8');
const summary = readFileSync(join(dir, 'session-summary.txt'), 'utf8');

/** tshark's BGP sections per frame number. */
function tsharkSections(): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const block of tshark.split(/^(?=Frame \d+: )/m)) {
    const frame = Number(/^Frame (\d+):/.exec(block)?.[1]);
    const parts = block.split(/^Border Gateway Protocol - /m).slice(1);
    if (parts.length > 0) out.set(frame, parts);
  }
  return out;
}

const all = (text: string, re: RegExp) => [...text.matchAll(new RegExp(re.source, 'gm'))].map((m) => m[1] ?? '');
const one = (text: string, re: RegExp) => re.exec(text)?.[1];

/** The fields tshark shows, in the vocabulary of our decoded values. */
function tsharkFields(section: string): Record<string, unknown> {
  const type = Number(one(section, /^\s+Type: .* \((\d+)\)$/m));
  const f: Record<string, unknown> = { length: Number(one(section, /^\s+Length: (\d+)$/m)), type };
  if (type === 1) {
    f.myAs = Number(one(section, /My AS: (\d+)/));
    f.holdTime = Number(one(section, /Hold Time: (\d+)/));
    f.bgpId = one(section, /BGP Identifier: (\S+)/);
    f.capabilityCodes = all(section, /^\s+Capability: .*\n\s+Type: .*\((\d+)\)$/).map(Number);
    f.as4 = Number(one(section, /AS Number: (\d+)/));
    f.restartTime = Number(one(section, /= Time: (\d+)/));
    f.addPath = all(section, /Send\/Receive: .*\((\d+)\)/).map(Number);
  } else if (type === 2) {
    const prefixes = (lenLabel: string, prefixLabel: string) => {
      const lens = all(section, new RegExp(`${lenLabel}: (\\d+)`));
      return all(section, new RegExp(`${prefixLabel}: (\\S+)`)).map((p, i) => `${p}/${lens[i]}`);
    };
    f.withdrawn = prefixes('Withdrawn route prefix length', 'Withdrawn prefix');
    f.nlri = prefixes('NLRI prefix length', 'NLRI prefix');
    f.origin = one(section, /Origin: \w+ \((\d)\)/);
    f.nextHop = one(section, /Next hop: (\S+)/);
    f.localPref = one(section, /Local preference: (\d+)/);
    f.asPathEmpty = /AS_PATH: empty/.test(section) || undefined;
  } else if (type === 3) {
    f.code = Number(one(section, /Major error Code: .*\((\d+)\)/));
    f.subcode = Number(one(section, /Minor error Code.*\((\d+)\)/));
  } else if (type === 5) {
    f.afi = Number(one(section, /\(AFI\): .*\((\d+)\)/));
    f.subtype = Number(one(section, /Subtype: .*\((\d+)\)/));
    f.safi = Number(one(section, /\(SAFI\): .*\((\d+)\)/));
  }
  return f;
}

const TYPE_CODES = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, 'ROUTE-REFRESH': 5 } as const;

/** The same fields from our decoding. */
function ourFields(m: BgpMessage, bytes: Uint8Array): Record<string, unknown> {
  const f: Record<string, unknown> = { length: bytes.length, type: TYPE_CODES[m.type] };
  if (m.type === 'OPEN') {
    f.myAs = m.myAs;
    f.holdTime = m.holdTime;
    f.bgpId = m.bgpId;
    f.capabilityCodes = m.capabilities.map((c) => ({ multiprotocol: 1, routeRefresh: 2, gracefulRestart: 64, as4: 65, addPath: 69, enhancedRouteRefresh: 70, llgr: 71 } as Record<string, number>)[c.kind] ?? -1);
    f.as4 = m.as4;
    const gr = m.capabilities.find((c) => c.kind === 'gracefulRestart');
    f.restartTime = gr?.kind === 'gracefulRestart' ? gr.restartTime : undefined;
    f.addPath = m.capabilities.flatMap((c) => (c.kind === 'addPath' ? c.families.map((x) => x.sendReceive) : []));
  } else if (m.type === 'UPDATE') {
    f.withdrawn = prefixTexts(1, m.withdrawn);
    f.nlri = prefixTexts(1, m.nlri);
    f.origin = m.attrs ? String(m.attrs.origin) : undefined;
    f.nextHop = m.attrs?.nextHop;
    f.localPref = m.attrs?.localPref !== undefined ? String(m.attrs.localPref) : undefined;
    f.asPathEmpty = m.attrs && m.attrs.asPath.length === 0 ? true : undefined;
  } else if (m.type === 'NOTIFICATION') {
    f.code = m.code;
    f.subcode = m.subcode;
  } else if (m.type === 'ROUTE-REFRESH') {
    f.afi = m.afi;
    f.subtype = m.subtype;
    f.safi = m.safi;
  }
  return f;
}

describe('bird2-wire session.pcap', () => {
  const messages = bgpMessagesFromCapture(pcap);

  it('reads the capture: 51 frames, timestamps as tshark prints them', () => {
    const packets = readCapture(pcap);
    expect(packets).toHaveLength(51);
    const epoch = Number(one(tshark, /Epoch Time: ([\d.]+) seconds/));
    expect(packets[0]?.time).toBeCloseTo(epoch, 5);
  });

  it('finds every BGP message session-summary.txt lists, in order, in the same frames and directions', () => {
    const expected = summary
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map(([frame, , src, , dst, type]) => `${frame} ${src}>${dst} ${type}`);
    const ours = messages.map((m) => `${m.frame} ${m.src}>${m.dst} type=${m.bytes[18]}`);
    expect(ours).toEqual(expected);
  });

  it('decodes every message with the fields tshark shows, and re-encodes to the same bytes', () => {
    const sections = tsharkSections();
    // Negotiate from the two OPENs the way a session would.
    const opens = messages.filter((m) => m.bytes[18] === 1).map((m) => decodeMessage(m.bytes, { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false }) as OpenMessage);
    const ctx: CodecContext = negotiateContext(opens[0]!, opens[1]!);
    expect(ctx).toEqual({ as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false });
    const perFrame = new Map<number, number>();
    let checked = 0;
    for (const cap of messages) {
      const m = decodeMessage(cap.bytes, ctx);
      const idx = perFrame.get(cap.frame) ?? 0;
      perFrame.set(cap.frame, idx + 1);
      const section = sections.get(cap.frame)?.[idx];
      expect(section, `tshark section for frame ${cap.frame}`).toBeDefined();
      expect(ourFields(m, cap.bytes), `frame ${cap.frame}`).toEqual(tsharkFields(section ?? ''));
      expect(toHex(encodeMessage(m, ctx)), `re-encoding frame ${cap.frame}`).toBe(toHex(cap.bytes));
      if (m.type === 'UPDATE') expect(m.errors).toEqual([]);
      checked++;
    }
    expect(checked).toBe(23);
  });

  it('recognises the End-of-RIB markers, the enhanced route refresh bracket and the Cease', () => {
    const ctx = negotiateContext({ capabilities: [{ kind: 'as4', asn: 64512 }] }, { capabilities: [{ kind: 'as4', asn: 64512 }] });
    const decoded = new Map(messages.map((m) => [m.frame, decodeMessage(m.bytes, ctx)]));
    expect(decoded.get(11)).toMatchObject({ type: 'UPDATE', endOfRib: { afi: 1, safi: 1 }, attrs: null });
    expect(decoded.get(14)).toMatchObject({ type: 'UPDATE', endOfRib: { afi: 1, safi: 1 } });
    expect(decoded.get(22)).toEqual({ type: 'ROUTE-REFRESH', afi: 1, safi: 1, subtype: 1 });
    expect(decoded.get(26)).toEqual({ type: 'ROUTE-REFRESH', afi: 1, safi: 1, subtype: 2 });
    expect(decoded.get(32)).toMatchObject({ type: 'NOTIFICATION', code: 6, subcode: 2 });
    const node = decoded.get(6) as OpenMessage;
    expect(node.capabilities).toContainEqual({
      kind: 'gracefulRestart',
      restartState: false,
      notification: false,
      restartTime: 120,
      families: [{ afi: 1, safi: 1, forwardingPreserved: false }],
    });
    expect(node.capabilities).toContainEqual({ kind: 'llgr', families: [] });
  });
});
