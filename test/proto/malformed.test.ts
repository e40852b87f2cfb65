/**
 * One row per error case of RFC 4271 §6 and RFC 7606: how it is classified and the exact
 * NOTIFICATION it maps to (sent for session resets; logged for the milder classes).
 */
import { describe, expect, it } from 'vitest';
import {
  BgpError,
  type CodecContext,
  type ErrorHandling,
  decodeMessage,
  encodeOpen,
  fromHex,
  lastErrorText,
  notificationFor,
  notificationText,
  toHex,
  validateOpen,
  type OpenExpectation,
  type OpenMessage,
} from '../../proto/index.js';
import { ctx2, ctx4, msg, update } from './vectors.js';

const ORIGIN = '400101 00';
const AS_PATH = '400200';
const NEXT_HOP = '400304 c0000201';
const BASE = ORIGIN + AS_PATH + NEXT_HOP;
const NLRI = '18 c63364';

interface Row {
  name: string;
  bytes: Uint8Array | (() => void);
  ctx?: CodecContext;
  handling: ErrorHandling;
  notification: string; // code subcode data, hex
  discarded?: number;
}

/** The error a message produces: thrown (session reset) or recorded on the decoded UPDATE. */
function classify(row: Row): BgpError {
  try {
    if (typeof row.bytes === 'function') row.bytes();
    else {
      const m = decodeMessage(row.bytes, row.ctx ?? ctx4);
      if (m.type === 'UPDATE' && m.errors[0]) {
        if (m.errors[0].handling === 'treat-as-withdraw') {
          expect(m.treatAsWithdraw).toBe(true);
        } else {
          expect(m.treatAsWithdraw).toBe(false);
          expect(m.discarded).toContain(row.discarded);
        }
        return m.errors[0];
      }
    }
  } catch (e) {
    if (e instanceof BgpError) return e;
    throw e;
  }
  throw new Error('no error found');
}

const head = (len: number, type: number) => `${'ff'.repeat(16)}${len.toString(16).padStart(4, '0')}${type.toString(16).padStart(2, '0')}`;
const badMarker = fromHex(`${'ff'.repeat(15)}fe 0013 04`);

const open = (o: Partial<OpenMessage> = {}): OpenMessage => ({
  type: 'OPEN',
  version: 4,
  myAs: 64512,
  holdTime: 90,
  bgpId: '10.0.0.2',
  capabilities: [{ kind: 'as4', asn: 64512 }],
  as4: 64512,
  ...o,
});
/** An OPEN without the AS4 capability. */
const twoOctet = (myAs: number): OpenMessage => ({ type: 'OPEN', version: 4, myAs, holdTime: 90, bgpId: '10.0.0.2', capabilities: [] });
const expectation: OpenExpectation = { peerAs: 64512, localBgpId: '10.0.0.1' };
const check = (o: OpenMessage, e: Partial<OpenExpectation> = {}) => () => validateOpen(decodeMessage(encodeOpen(o), ctx4) as OpenMessage, { ...expectation, ...e });

const ROWS: Row[] = [
  // RFC 4271 §6.1 message header errors
  { name: '6.1 marker not all ones', bytes: badMarker, handling: 'session-reset', notification: '0101' },
  { name: '6.1 length field below 19', bytes: fromHex(`${head(18, 4)}`), handling: 'session-reset', notification: '0102 0012' },
  { name: '6.1 length field disagrees with the message', bytes: fromHex(`${head(23, 4)}`), handling: 'session-reset', notification: '0102 0017' },
  { name: '6.1 KEEPALIVE longer than 19', bytes: fromHex(`${head(20, 4)}00`), handling: 'session-reset', notification: '0102 0014' },
  { name: '6.1 OPEN shorter than 29', bytes: fromHex(`${head(28, 1)}${'00'.repeat(9)}`), handling: 'session-reset', notification: '0102 001c' },
  { name: '6.1 unknown message type', bytes: fromHex(`${head(19, 9)}`), handling: 'session-reset', notification: '0103 09' },
  { name: '6.1 extended length without RFC 8654', bytes: fromHex(`${head(4097, 2)}${'00'.repeat(4078)}`), handling: 'session-reset', notification: '0102 1001' },

  // RFC 4271 §6.2 OPEN message errors, RFC 5492
  { name: '6.2 unsupported version', bytes: check(open({ version: 3 })), handling: 'session-reset', notification: '0201 0004' },
  { name: '6.2 bad peer AS', bytes: check(twoOctet(64513)), handling: 'session-reset', notification: '0202' },
  { name: '6.2 bad peer AS from the AS4 capability', bytes: check(open({ capabilities: [{ kind: 'as4', asn: 4200000000 }] })), handling: 'session-reset', notification: '0202' },
  { name: '6.2 BGP identifier 0.0.0.0', bytes: check(open({ bgpId: '0.0.0.0' })), handling: 'session-reset', notification: '0203' },
  { name: '6.2 BGP identifier equal to ours (iBGP)', bytes: check(open({ bgpId: '10.0.0.1' })), handling: 'session-reset', notification: '0203' },
  { name: '6.2 BGP identifier multicast', bytes: check(open({ bgpId: '224.0.0.5' })), handling: 'session-reset', notification: '0203' },
  { name: '6.2 unsupported optional parameter', bytes: msg(1, '04 fc00 005a 0a000002 04 01 02 0000'), handling: 'session-reset', notification: '0204' },
  { name: '6.2 optional parameters overrun', bytes: msg(1, '04 fc00 005a 0a000002 05 02 06 0000'), handling: 'session-reset', notification: '0200' },
  { name: '6.2 capability overruns its parameter', bytes: msg(1, '04 fc00 005a 0a000002 04 02 02 4104'), handling: 'session-reset', notification: '0200' },
  { name: '6.2 hold time 1', bytes: check(open({ holdTime: 1 })), handling: 'session-reset', notification: '0206' },
  { name: '6.2 hold time 2', bytes: check(open({ holdTime: 2 })), handling: 'session-reset', notification: '0206' },
  { name: '6.2 hold time below the configured minimum', bytes: check(open({ holdTime: 5 }), { minHoldTime: 10 }), handling: 'session-reset', notification: '0206' },
  {
    name: 'RFC 5492 required capability missing (data: the capability)',
    bytes: check(open(), { requiredCapabilities: [{ kind: 'multiprotocol', afi: 2, safi: 1 }] }),
    handling: 'session-reset',
    notification: '0207 0104 0002 0001',
  },

  // RFC 4271 §6.3 / RFC 7606 UPDATE message errors
  { name: '6.3 withdrawn routes length overruns the message', bytes: msg(2, '0010 0000'), handling: 'session-reset', notification: '0301' },
  { name: '6.3 total path attribute length overruns the message', bytes: msg(2, '0000 0010 400101 00'), handling: 'session-reset', notification: '0301' },
  { name: 'RFC 7606 §4 attribute overruns the attribute field', bytes: update('', `${BASE} 400504 0000`, NLRI), handling: 'treat-as-withdraw', notification: '0301' },
  { name: 'RFC 7606 §4 too few bytes left for an attribute header', bytes: update('', `${BASE} 40`, NLRI), handling: 'treat-as-withdraw', notification: '0301' },
  { name: '6.3 unrecognized well-known attribute', bytes: update('', `${BASE} 406301 00`, NLRI), handling: 'session-reset', notification: '0302 406301 00' },
  { name: '6.3 missing ORIGIN', bytes: update('', AS_PATH + NEXT_HOP, NLRI), handling: 'treat-as-withdraw', notification: '0303 01' },
  { name: '6.3 missing AS_PATH', bytes: update('', ORIGIN + NEXT_HOP, NLRI), handling: 'treat-as-withdraw', notification: '0303 02' },
  { name: '6.3 missing NEXT_HOP', bytes: update('', ORIGIN + AS_PATH, NLRI), handling: 'treat-as-withdraw', notification: '0303 03' },
  { name: '6.3 ORIGIN flags (optional bit set)', bytes: update('', `c00101 00 ${AS_PATH}${NEXT_HOP}`, NLRI), handling: 'treat-as-withdraw', notification: '0304 c0010100' },
  { name: '6.3 LOCAL_PREF flags (not transitive)', bytes: update('', `${BASE} 000504 00000064`, NLRI), handling: 'treat-as-withdraw', notification: '0304 00050400000064' },
  { name: '6.3 ORIGIN length', bytes: update('', `400102 0000 ${AS_PATH}${NEXT_HOP}`, NLRI), handling: 'treat-as-withdraw', notification: '0305 4001020000' },
  { name: '6.3 ORIGIN value', bytes: update('', `400101 03 ${AS_PATH}${NEXT_HOP}`, NLRI), handling: 'treat-as-withdraw', notification: '0306 40010103' },
  { name: '6.3 NEXT_HOP length', bytes: update('', `${ORIGIN}${AS_PATH} 400305 c000020100`, NLRI), handling: 'treat-as-withdraw', notification: '0305 400305c000020100' },
  { name: '6.3 NEXT_HOP 0.0.0.0', bytes: update('', `${ORIGIN}${AS_PATH} 400304 00000000`, NLRI), handling: 'treat-as-withdraw', notification: '0308 40030400000000' },
  { name: '6.3 NEXT_HOP multicast', bytes: update('', `${ORIGIN}${AS_PATH} 400304 e0000005`, NLRI), handling: 'treat-as-withdraw', notification: '0308 400304e0000005' },
  { name: '6.3 MULTI_EXIT_DISC length', bytes: update('', `${BASE} 800403 000000`, NLRI), handling: 'treat-as-withdraw', notification: '0305 800403000000' },
  { name: '6.3 LOCAL_PREF length', bytes: update('', `${BASE} 400502 0000`, NLRI), handling: 'treat-as-withdraw', notification: '0305 4005020000' },
  { name: 'RFC 7606 §7.6 ATOMIC_AGGREGATE length', bytes: update('', `${BASE} 400601 00`, NLRI), handling: 'attribute-discard', notification: '0305 40060100', discarded: 6 },
  { name: 'RFC 7606 §7.7 AGGREGATOR length', bytes: update('', `${BASE} c00707 00fde8c0000201`, NLRI), handling: 'attribute-discard', notification: '0305 c0070700fde8c0000201', discarded: 7 },
  { name: 'RFC 7606 §7.8 COMMUNITIES length', bytes: update('', `${BASE} c00803 fde800`, NLRI), handling: 'treat-as-withdraw', notification: '0305 c00803fde800' },
  { name: 'RFC 7606 §7.9 ORIGINATOR_ID length', bytes: update('', `${BASE} 800903 0a0000`, NLRI), handling: 'treat-as-withdraw', notification: '0305 8009030a0000' },
  { name: 'RFC 7606 §7.10 CLUSTER_LIST length', bytes: update('', `${BASE} 800a06 0a0000030a00`, NLRI), handling: 'treat-as-withdraw', notification: '0305 800a060a0000030a00' },
  { name: 'RFC 7606 §7.14 EXTENDED_COMMUNITIES length', bytes: update('', `${BASE} c01007 0002fde8000000`, NLRI), handling: 'treat-as-withdraw', notification: '0305 c010070002fde8000000' },
  { name: 'RFC 8092 LARGE_COMMUNITIES length', bytes: update('', `${BASE} c0200a 0000fde8000000010000`, NLRI), handling: 'treat-as-withdraw', notification: '0305 c0200a0000fde8000000010000' },
  { name: '6.3 AS_PATH bad segment type', bytes: update('', `${ORIGIN} 400206 05 01 0000fde8 ${NEXT_HOP}`, NLRI), handling: 'treat-as-withdraw', notification: '030b' },
  { name: 'RFC 7606 §7.2 AS_PATH zero-length segment', bytes: update('', `${ORIGIN} 400202 0200 ${NEXT_HOP}`, NLRI), handling: 'treat-as-withdraw', notification: '030b' },
  { name: 'RFC 7606 §7.2 AS_PATH segment overrun', bytes: update('', `${ORIGIN} 400206 0202 0000fde8 ${NEXT_HOP}`, NLRI), handling: 'treat-as-withdraw', notification: '030b' },
  { name: 'RFC 6793 §6 AS4_PATH malformed (2-octet session)', bytes: update('', `${ORIGIN} 400204 0201 5ba0 ${NEXT_HOP} c01103 0201 00`, NLRI), ctx: ctx2, handling: 'attribute-discard', notification: '0309 c011030201' + '00', discarded: 17 },
  { name: 'RFC 6793 §6 AS4_PATH with a confederation segment', bytes: update('', `${ORIGIN} 400204 0201 5ba0 ${NEXT_HOP} c01106 0301 fa56ea00`, NLRI), ctx: ctx2, handling: 'attribute-discard', notification: '0309 c011060301fa56ea00', discarded: 17 },
  { name: 'RFC 6793 §6 AS4_AGGREGATOR length', bytes: update('', `${ORIGIN} 400204 0201 5ba0 ${NEXT_HOP} c01207 fa56ea00c00002`, NLRI), ctx: ctx2, handling: 'attribute-discard', notification: '0305 c01207fa56ea00c00002', discarded: 18 },
  { name: 'RFC 7606 §3g repeated attribute', bytes: update('', `${BASE} 400101 01`, NLRI), handling: 'attribute-discard', notification: '0301', discarded: 1 },
  { name: 'RFC 7606 §3g repeated MP_REACH_NLRI', bytes: update('', `${ORIGIN}${AS_PATH} 800e0d 0001 01 04 c0000201 00 18 c63364 800e0d 0001 01 04 c0000201 00 18 c63364`), handling: 'session-reset', notification: '0301' },
  { name: 'RFC 7606 §7.11 MP_REACH_NLRI bad next hop length', bytes: update('', `${ORIGIN}${AS_PATH} 800e0a 0002 01 05 0000000000 00`), handling: 'session-reset', notification: '0309 800e0a000201050000000000' + '00' },
  { name: 'RFC 7606 §7.11 MP_REACH_NLRI prefix overrun', bytes: update('', `${ORIGIN}${AS_PATH} 800e0c 0001 01 04 c0000201 00 18 c633`), handling: 'session-reset', notification: '0309 800e0c00010104c00002010018c633' },
  { name: 'RFC 7606 §7.11 MP_UNREACH_NLRI too short', bytes: update('', '800f02 0002'), handling: 'session-reset', notification: '0309 800f020002' },
  { name: 'RFC 7606 §3c MP_REACH_NLRI flags', bytes: update('', `${ORIGIN}${AS_PATH} c00e0d 0001 01 04 c0000201 00 18 c63364`), handling: 'session-reset', notification: '0304 c00e0d00010104c0000201' + '0018c63364' },
  { name: 'RFC 4760 MP_REACH_NLRI for an unsupported family', bytes: update('', `${BASE} 800e0d 0019 01 04 c0000201 00 18 c63364`, NLRI), handling: 'attribute-discard', notification: '0309', discarded: 14 },
  { name: '6.3 NLRI prefix length above 32', bytes: update('', BASE, '21 c0000201 00'), handling: 'session-reset', notification: '030a' },
  { name: '6.3 NLRI prefix overruns the message', bytes: update('', BASE, '18 c633'), handling: 'session-reset', notification: '030a' },
  { name: '6.3 withdrawn prefix length above 32', bytes: update('21 c000020100', ''), handling: 'session-reset', notification: '030a' },

  // RFC 7313 §5 ROUTE-REFRESH errors
  { name: 'RFC 7313 ROUTE-REFRESH length not 23', bytes: msg(5, '0001 00 01 00'), handling: 'session-reset', notification: `0701 ${head(24, 5)}0001000100` },
];

describe('malformed messages (RFC 4271 §6, RFC 7606)', () => {
  it.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const err = classify(row);
    expect(err.handling).toBe(row.handling);
    const body = row.notification.replace(/\s/g, '');
    expect(toHex(notificationFor(err))).toBe(`${head(19 + body.length / 2, 3)}${body}`);
  });

  it('still decodes the routes of a treat-as-withdraw UPDATE so they can be withdrawn', () => {
    const m = decodeMessage(update('', `400101 03 ${AS_PATH}${NEXT_HOP}`, NLRI), ctx4);
    expect(m.type === 'UPDATE' && [m.treatAsWithdraw, Array.from(m.nlri)]).toEqual([true, [0xc6336400, 24]]);
  });

  it('keeps the rest of the attributes when one is discarded', () => {
    const m = decodeMessage(update('', `${BASE} 400601 00 400504 00000064`, NLRI), ctx4);
    expect(m.type === 'UPDATE' && [m.treatAsWithdraw, m.attrs?.localPref, m.attrs?.atomicAggregate, m.discarded]).toEqual([false, 100, undefined, [6]]);
  });

  it('does not require mandatory attributes in an UPDATE that only withdraws', () => {
    const m = decodeMessage(update('18 c63364', '', ''), ctx4);
    expect(m.type === 'UPDATE' && [m.treatAsWithdraw, m.errors]).toEqual([false, []]);
  });

  it('accepts an OPEN that passes every check', () => {
    expect(check(open())).not.toThrow();
    expect(check(open({ bgpId: '10.0.0.1' }), { peerAs: 64512, localAs: 65000 })).not.toThrow();
    expect(check(open({ holdTime: 0 }), { minHoldTime: 10 })).not.toThrow();
  });

  it('words errors as BIRD does', () => {
    expect(classify(ROWS[0]!).message).toBe('Connection not synchronized');
    expect(() => check(twoOctet(1))()).toThrow(/^Bad peer AS/);
  });
});

describe('notification texts (BIRD bgp_msg_table wording)', () => {
  it.each([
    [4, 0, 'Hold timer expired'],
    [2, 2, 'Bad peer AS'],
    [6, 1, 'Maximum number of prefixes reached'],
    [6, 2, 'Administrative shutdown'],
    [6, 3, 'Peer de-configured'],
    [6, 4, 'Administrative reset'],
    [6, 5, 'Connection rejected'],
    [6, 6, 'Other configuration change'],
    [6, 7, 'Connection collision resolution'],
    [6, 8, 'Out of Resources'],
    [5, 1, 'Unexpected message in OpenSent state'],
    [5, 2, 'Unexpected message in OpenConfirm state'],
    [5, 3, 'Unexpected message in Established state'],
    [7, 1, 'Invalid ROUTE-REFRESH message length'],
    [9, 9, 'Unknown error 9.9'],
  ])('%i/%i → %s', (code, subcode, text) => expect(notificationText(code, subcode)).toBe(text));

  it('matches the Last error lines BIRD printed in the control-socket fixtures', () => {
    expect(lastErrorText('sent', 4, 0)).toBe('BGP Error: Hold timer expired');
    expect(lastErrorText('sent', 2, 2)).toBe('BGP Error: Bad peer AS');
    expect(lastErrorText('received', 6, 2)).toBe('Received: Administrative shutdown');
  });

  it('gives each error a stable kind for logs and metrics', () => {
    expect(new BgpError(2, 2).kind).toBe('BGP_ERR_BAD_PEER_AS');
    expect(new BgpError(3, 8).kind).toBe('BGP_ERR_INVALID_NEXT_HOP_ATTRIBUTE');
    expect(new BgpError(6, 3).kind).toBe('BGP_ERR_PEER_DE_CONFIGURED');
  });
});
