/**
 * Parse, generate and mirror for every message and attribute type, from hand-written vectors
 * (mqtt-packet's testParseGenerate: one object/bytes pair gives three tests).
 */
import { describe, expect, it } from 'vitest';
import {
  type BgpMessage,
  type CodecContext,
  decodeMessage,
  decodeShutdownCommunication,
  encodeEndOfRib,
  encodeKeepalive,
  encodeMessage,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeShutdownCommunication,
  formatMessage,
  messageToJson,
  toHex,
} from '../../proto/index.js';
import { ctx2, ctx4, ctxAddPath, msg, update } from './vectors.js';

const clean = { treatAsWithdraw: false, discarded: [], errors: [] };
const none = new Uint32Array(0);

function parseGenerate(name: string, object: BgpMessage, bytes: Uint8Array, ctx: CodecContext = ctx4): void {
  describe(name, () => {
    it('parses', () => expect(decodeMessage(bytes, ctx)).toEqual(object));
    it('generates', () => expect(toHex(encodeMessage(object, ctx))).toBe(toHex(bytes)));
    it('mirrors', () => expect(toHex(encodeMessage(decodeMessage(bytes, ctx), ctx))).toBe(toHex(bytes)));
    it('formats', () => {
      expect(formatMessage(object)).toMatch(new RegExp(`^${object.type}`));
      expect(() => JSON.stringify(messageToJson(object))).not.toThrow();
    });
  });
}

parseGenerate('KEEPALIVE', { type: 'KEEPALIVE' }, msg(4, ''));

parseGenerate('NOTIFICATION Hold timer expired', { type: 'NOTIFICATION', code: 4, subcode: 0, data: new Uint8Array(0) }, msg(3, '0400'));
parseGenerate(
  'NOTIFICATION Cease/Administrative shutdown with an RFC 8203 communication',
  { type: 'NOTIFICATION', code: 6, subcode: 2, data: encodeShutdownCommunication('maintenance'), shutdownCommunication: 'maintenance' },
  msg(3, '0602 0b 6d61696e74656e616e6365'),
);
parseGenerate(
  'NOTIFICATION Bad message length with data',
  { type: 'NOTIFICATION', code: 1, subcode: 2, data: Uint8Array.of(0x10, 0x01) },
  msg(3, '0102 1001'),
);
parseGenerate('ROUTE-REFRESH request', { type: 'ROUTE-REFRESH', afi: 1, safi: 1, subtype: 0 }, msg(5, '0001 00 01'));
parseGenerate('ROUTE-REFRESH BoRR (RFC 7313)', { type: 'ROUTE-REFRESH', afi: 2, safi: 1, subtype: 1 }, msg(5, '0002 01 01'));
parseGenerate('ROUTE-REFRESH EoRR (RFC 7313)', { type: 'ROUTE-REFRESH', afi: 1, safi: 1, subtype: 2 }, msg(5, '0001 02 01'));

parseGenerate(
  'OPEN with every capability',
  {
    type: 'OPEN',
    version: 4,
    myAs: 23456,
    holdTime: 180,
    bgpId: '10.0.0.1',
    as4: 4200000000,
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'routeRefresh' },
      { kind: 'enhancedRouteRefresh' },
      { kind: 'as4', asn: 4200000000 },
      { kind: 'gracefulRestart', restartState: true, notification: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
      { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 3 }, { afi: 2, safi: 1, sendReceive: 1 }] },
      { kind: 'extendedMessage' },
      { kind: 'fqdn', hostname: 'node1', domain: 'example.com' },
      { kind: 'llgr', families: [{ afi: 1, safi: 1, forwardingPreserved: true, staleTime: 3600 }] },
      { kind: 'unknown', code: 128, bytes: new Uint8Array(0) },
      { kind: 'unknown', code: 99, bytes: Uint8Array.of(1, 2) },
    ],
  },
  msg(
    1,
    '04 5ba0 00b4 0a000001 4f 02 4d' +
      '0104 0001 00 01' +
      '0104 0002 00 01' +
      '0200' +
      '4600' +
      '4104 fa56ea00' +
      '4006 c078 0001 01 80' +
      '4508 0001 01 03 0002 01 01' +
      '0600' +
      '4912 05 6e6f646531 0b 6578616d706c652e636f6d' +
      '4707 0001 01 80 000e10' +
      '8000' +
      '6302 0102',
  ),
);

parseGenerate('OPEN without optional parameters', { type: 'OPEN', version: 4, myAs: 64512, holdTime: 0, bgpId: '192.0.2.1', capabilities: [] }, msg(1, '04 fc00 0000 c0000201 00'));

describe('OPEN with more than 255 bytes of capabilities (RFC 9072 extended optional parameters)', () => {
  const caps = Array.from({ length: 70 }, (_, i) => ({ kind: 'multiprotocol' as const, afi: 1, safi: i + 1 }));
  const bytes = encodeOpen({ version: 4, myAs: 64512, holdTime: 90, bgpId: '10.0.0.9', capabilities: caps });
  it('uses the 255/255 marker and 2-octet lengths', () => {
    expect(toHex(bytes.subarray(19 + 9, 19 + 9 + 6))).toBe(`ffff${(420 + 3).toString(16).padStart(4, '0')}02${(420).toString(16).padStart(4, '0')}`.slice(0, 12));
  });
  it('round-trips', () => expect(decodeMessage(bytes, ctx4)).toEqual({ type: 'OPEN', version: 4, myAs: 64512, holdTime: 90, bgpId: '10.0.0.9', capabilities: caps }));
});

// ---------------------------------------------------------------- UPDATE

parseGenerate(
  'UPDATE with every attribute type',
  {
    type: 'UPDATE',
    withdrawn: none,
    attrs: {
      origin: 0,
      asPath: [
        { type: 2, asns: [65000, 65001] },
        { type: 1, asns: [65536] },
      ],
      nextHop: '192.0.2.1',
      med: 50,
      localPref: 100,
      atomicAggregate: true,
      aggregator: { asn: 65000, address: '192.0.2.1' },
      communities: [0xfde80001, 0xffffff01],
      originatorId: '10.0.0.2',
      clusterList: ['10.0.0.3', '10.0.0.4'],
      extCommunities: [0x0002fde800000064n],
      largeCommunities: [[65000, 1, 2]],
      unknown: [{ flags: 0xe0, code: 99, value: Uint8Array.of(0xab, 0xcd) }],
    },
    nlri: Uint32Array.of(0xc6336400, 24, 0x0a000000, 16, 0xc0000201, 32, 0, 0),
    ...clean,
  },
  update(
    '',
    '400101 00' +
      '400210 02 02 0000fde8 0000fde9 01 01 00010000' +
      '400304 c0000201' +
      '800404 00000032' +
      '400504 00000064' +
      '400600' +
      'c00708 0000fde8 c0000201' +
      'c00808 fde80001 ffffff01' +
      '800904 0a000002' +
      '800a08 0a000003 0a000004' +
      'c01008 0002fde800000064' +
      'c0200c 0000fde8 00000001 00000002' +
      'e06302 abcd',
    '18 c63364 10 0a00 20 c0000201 00',
  ),
);

parseGenerate(
  'UPDATE withdrawing IPv4 routes',
  { type: 'UPDATE', withdrawn: Uint32Array.of(0x0a300000, 26, 0xc0a80000, 16), attrs: null, nlri: none, ...clean },
  update('1a 0a300000 10 c0a8', ''),
);

parseGenerate('UPDATE End-of-RIB IPv4', { type: 'UPDATE', withdrawn: none, attrs: null, nlri: none, endOfRib: { afi: 1, safi: 1 }, ...clean }, update('', ''));

parseGenerate(
  'UPDATE End-of-RIB IPv6',
  { type: 'UPDATE', withdrawn: none, attrs: null, nlri: none, mpUnreach: { afi: 2, safi: 1, withdrawn: none }, endOfRib: { afi: 2, safi: 1 }, ...clean },
  update('', '800f03 0002 01'),
);

parseGenerate(
  'UPDATE End-of-RIB of a family we do not carry (VPNv4)',
  { type: 'UPDATE', withdrawn: none, attrs: null, nlri: none, mpUnreach: { afi: 1, safi: 128, withdrawn: none }, endOfRib: { afi: 1, safi: 128 }, ...clean },
  update('', '800f03 0001 80'),
);

parseGenerate(
  'UPDATE with MP_REACH_NLRI for IPv6 (global and link-local next hop)',
  {
    type: 'UPDATE',
    withdrawn: none,
    attrs: { origin: 0, asPath: [], localPref: 100, unknown: [] },
    nlri: none,
    mpReach: {
      afi: 2,
      safi: 1,
      nextHop: ['2001:db8::1', 'fe80::1'],
      nlri: Uint32Array.of(0x20010db8, 0x00010000, 0, 0, 48, 0x20010db8, 0x00020000, 0, 0, 64),
    },
    ...clean,
  },
  update('', '400101 00 400200 400504 00000064 800e35 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 30 20010db80001 40 20010db800020000'),
);

parseGenerate(
  'UPDATE with MP_UNREACH_NLRI for IPv6',
  { type: 'UPDATE', withdrawn: none, attrs: null, nlri: none, mpUnreach: { afi: 2, safi: 1, withdrawn: Uint32Array.of(0x20010db8, 0x00010000, 0, 0, 48) }, ...clean },
  update('', '800f0a 0002 01 30 20010db80001'),
);

parseGenerate(
  'UPDATE with IPv4 NLRI in MP_REACH_NLRI',
  {
    type: 'UPDATE',
    withdrawn: none,
    attrs: { origin: 2, asPath: [], unknown: [] },
    nlri: none,
    mpReach: { afi: 1, safi: 1, nextHop: ['192.0.2.1'], nlri: Uint32Array.of(0xc6336400, 24) },
    ...clean,
  },
  update('', '400101 02 400200 800e0d 0001 01 04 c0000201 00 18 c63364'),
);

parseGenerate(
  'UPDATE with ADD-PATH path identifiers (RFC 7911)',
  {
    type: 'UPDATE',
    withdrawn: Uint32Array.of(0xc6336400, 24),
    withdrawnPathIds: Uint32Array.of(1),
    attrs: { origin: 0, asPath: [], nextHop: '192.0.2.1', unknown: [] },
    nlri: Uint32Array.of(0xc6336500, 24),
    nlriPathIds: Uint32Array.of(2),
    ...clean,
  },
  update('00000001 18 c63364', '400101 00 400200 400304 c0000201', '00000002 18 c63365'),
  ctxAddPath,
);

parseGenerate(
  'UPDATE on a 2-octet AS session: AS4_PATH and AS4_AGGREGATOR merged (RFC 6793)',
  {
    type: 'UPDATE',
    withdrawn: none,
    attrs: {
      origin: 0,
      asPath: [{ type: 2, asns: [65000, 4200000000, 4200000001, 65001] }],
      nextHop: '192.0.2.1',
      aggregator: { asn: 4200000000, address: '192.0.2.1' },
      unknown: [],
    },
    nlri: Uint32Array.of(0xc6336400, 24),
    ...clean,
  },
  update(
    '',
    '400101 00 40020a 02 04 fde8 5ba0 5ba0 fde9 400304 c0000201 c00706 5ba0 c0000201 c01112 02 04 0000fde8 fa56ea00 fa56ea01 0000fde9 c01208 fa56ea00 c0000201',
    '18 c63364',
  ),
  ctx2,
);

describe('attribute details', () => {
  it('chooses the extended length flag only when the value needs it, and reads it either way', () => {
    const communities = Array.from({ length: 70 }, (_, i) => 0xfde80000 + i);
    const value = communities.map((c) => c.toString(16)).join('');
    const bytes = update('', `400101 00 400200 400304 c0000201 d0080118 ${value}`, '18 c63364');
    const m = decodeMessage(bytes, ctx4);
    expect(m.type === 'UPDATE' && m.attrs?.communities).toEqual(communities);
    expect(toHex(encodeMessage(m, ctx4))).toBe(toHex(bytes));
    const shortExt = decodeMessage(update('', '50010001 00 400200 400304 c0000201', '18 c63364'), ctx4);
    expect(shortExt.type === 'UPDATE' && shortExt.attrs?.origin).toBe(0);
  });

  it('passes unknown optional transitive attributes on with the Partial bit and drops unknown non-transitive ones', () => {
    const m = decodeMessage(update('', '400101 00 400200 400304 c0000201 c06301 07 806401 00', '18 c63364'), ctx4);
    expect(m.type === 'UPDATE' && m.attrs?.unknown).toEqual([{ flags: 0xe0, code: 99, value: Uint8Array.of(7) }]);
    expect(toHex(encodeMessage(m, ctx4))).toBe(toHex(update('', '400101 00 400200 400304 c0000201 e06301 07', '18 c63364')));
  });

  it('keeps the leading AS_PATH ASes that AS4_PATH does not cover (RFC 6793 §4.2.3)', () => {
    const m = decodeMessage(
      update('', '400101 00 40020c 02 05 fde7 fde8 5ba0 5ba0 fde9 400304 c0000201 c01112 02 04 0000fde8 fa56ea00 fa56ea01 0000fde9', '18 c63364'),
      ctx2,
    );
    expect(m.type === 'UPDATE' && m.attrs?.asPath).toEqual([{ type: 2, asns: [64999, 65000, 4200000000, 4200000001, 65001] }]);
  });

  it('ignores AS4_PATH when it is longer than AS_PATH, and AS4_* when AGGREGATOR is not AS_TRANS', () => {
    const longer = decodeMessage(update('', '400101 00 400204 02 01 5ba0 400304 c0000201 c0110a 02 02 fa56ea00 fa56ea01', '18 c63364'), ctx2);
    expect(longer.type === 'UPDATE' && longer.attrs?.asPath).toEqual([{ type: 2, asns: [23456] }]);
    const oldAggregator = decodeMessage(
      update('', '400101 00 400204 02 01 5ba0 400304 c0000201 c00706 fde8 c0000201 c0110a 02 01 fa56ea00 c01208 fa56ea00 c0000201', '18 c63364'),
      ctx2,
    );
    expect(oldAggregator.type === 'UPDATE' && [oldAggregator.attrs?.asPath, oldAggregator.attrs?.aggregator]).toEqual([
      [{ type: 2, asns: [23456] }],
      { asn: 65000, address: '192.0.2.1' },
    ]);
  });

  it('discards AS4_PATH and AS4_AGGREGATOR between two 4-octet speakers (RFC 6793 §4.1)', () => {
    const m = decodeMessage(update('', '400101 00 400206 02 01 0000fde8 400304 c0000201 c01106 02 01 fa56ea00', '18 c63364'), ctx4);
    expect(m.type === 'UPDATE' && [m.attrs?.asPath, m.discarded, m.errors]).toEqual([[{ type: 2, asns: [65000] }], [17], []]);
  });

  it('encodes AS_TRANS with AS4_PATH and AS4_AGGREGATOR for a 2-octet peer', () => {
    const m = decodeMessage(update('', '400101 00 40020a 02 02 0000fde8 fa56ea00 400304 c0000201', '18 c63364'), ctx4);
    expect(toHex(encodeMessage(m, ctx2))).toBe(toHex(update('', '400101 00 400206 02 02 fde8 5ba0 400304 c0000201 c0110a 02 02 0000fde8 fa56ea00', '18 c63364')));
  });

  it('clears host bits beyond the prefix length', () => {
    const m = decodeMessage(update('', '400101 00 400200 400304 c0000201', '17 c63365'), ctx4);
    expect(m.type === 'UPDATE' && Array.from(m.nlri)).toEqual([0xc6336400, 23]);
  });
});

describe('message builders', () => {
  it('KEEPALIVE, ROUTE-REFRESH and End-of-RIB bytes', () => {
    expect(toHex(encodeKeepalive())).toBe(`${'ff'.repeat(16)}001304`);
    expect(toHex(encodeRouteRefresh(1, 1, 1))).toBe(`${'ff'.repeat(16)}00170500010101`);
    expect(toHex(encodeEndOfRib(1, 1))).toBe(`${'ff'.repeat(16)}00170200000000`);
    expect(toHex(encodeEndOfRib(2, 1))).toBe(`${'ff'.repeat(16)}001d0200000006800f03000201`);
  });

  it('NOTIFICATION with a shutdown communication cut at 255 bytes on a character boundary', () => {
    const long = 'é'.repeat(200);
    const data = encodeShutdownCommunication(long);
    expect(data[0]).toBe(254);
    expect(decodeShutdownCommunication(data)).toBe('é'.repeat(127));
    expect(toHex(encodeNotification(6, 4, encodeShutdownCommunication('')))).toBe(`${'ff'.repeat(16)}0016030604` + '00');
    expect(decodeShutdownCommunication(Uint8Array.of(5, 0x41))).toBeUndefined();
  });
});

describe('external peers', () => {
  it('drops LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from an eBGP peer without an error', () => {
    const bytes = update('', '400101 00 400206 02 01 0000fde8 400304 c0000201 400504 00000064 800904 0a000002 800a04 0a000003', '18 c63364');
    const m = decodeMessage(bytes, { ...ctx4, ebgp: true });
    expect(m.type === 'UPDATE' && [m.attrs?.localPref, m.attrs?.originatorId, m.attrs?.clusterList, m.discarded, m.errors, m.treatAsWithdraw]).toEqual([
      undefined,
      undefined,
      undefined,
      [5, 9, 10],
      [],
      false,
    ]);
    const ibgp = decodeMessage(bytes, ctx4);
    expect(ibgp.type === 'UPDATE' && ibgp.attrs?.localPref).toBe(100);
  });
});
