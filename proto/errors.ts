/**
 * BGP errors as data: every error carries the NOTIFICATION it would cause (code, subcode, data)
 * and how RFC 7606 says to handle it. Decoders throw session-reset errors and collect the milder
 * ones on the decoded UPDATE; the session layer decides what to do with them.
 */
import { HeaderSubcode, NotifCode, OpenSubcode, UpdateSubcode } from './constants.js';

/** RFC 7606 §2 error-handling approaches (AFI/SAFI disable is not used). */
export type ErrorHandling = 'session-reset' | 'treat-as-withdraw' | 'attribute-discard';

const EMPTY = new Uint8Array(0);

export class BgpError extends Error {
  override readonly name = 'BgpError';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  readonly handling: ErrorHandling;
  /** What exactly was wrong, for logs (not sent on the wire). */
  readonly detail: string | undefined;

  constructor(code: number, subcode: number, data: Uint8Array = EMPTY, handling: ErrorHandling = 'session-reset', detail?: string) {
    const text = notificationText(code, subcode);
    super(detail ? `${text}: ${detail}` : text);
    this.code = code;
    this.subcode = subcode;
    this.data = data;
    this.handling = handling;
    this.detail = detail;
  }

  /** A stable identifier for logs and metrics, e.g. BGP_ERR_BAD_PEER_AS (from the text table). */
  get kind(): string {
    return `BGP_ERR_${notificationText(this.code, this.subcode).toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/_$/, '')}`;
  }

  /** A copy of this error with another handling class (the NOTIFICATION stays the same). */
  withHandling(handling: ErrorHandling): BgpError {
    return new BgpError(this.code, this.subcode, this.data, handling, this.detail);
  }
}

export function isBgpError(e: unknown): e is BgpError {
  return e instanceof BgpError;
}

// (code, subcode) → text, phrased as BIRD prints it ("BGP Error: <text>", "Received: <text>").
const TEXTS: ReadonlyMap<number, string> = new Map([
  [0x0100, 'Invalid message header'],
  [0x0101, 'Connection not synchronized'],
  [0x0102, 'Bad message length'],
  [0x0103, 'Bad message type'],
  [0x0200, 'Invalid OPEN message'],
  [0x0201, 'Unsupported version number'],
  [0x0202, 'Bad peer AS'],
  [0x0203, 'Bad BGP identifier'],
  [0x0204, 'Unsupported optional parameter'],
  [0x0205, 'Authentication failure'],
  [0x0206, 'Unacceptable hold time'],
  [0x0207, 'Required capability missing'],
  [0x0208, 'No supported AFI/SAFI'],
  [0x020b, 'Role mismatch'],
  [0x0300, 'Invalid UPDATE message'],
  [0x0301, 'Malformed attribute list'],
  [0x0302, 'Unrecognized well-known attribute'],
  [0x0303, 'Missing mandatory attribute'],
  [0x0304, 'Invalid attribute flags'],
  [0x0305, 'Invalid attribute length'],
  [0x0306, 'Invalid ORIGIN attribute'],
  [0x0307, 'AS routing loop'],
  [0x0308, 'Invalid NEXT_HOP attribute'],
  [0x0309, 'Optional attribute error'],
  [0x030a, 'Invalid network field'],
  [0x030b, 'Malformed AS_PATH'],
  [0x0400, 'Hold timer expired'],
  [0x0500, 'Finite state machine error'],
  [0x0501, 'Unexpected message in OpenSent state'],
  [0x0502, 'Unexpected message in OpenConfirm state'],
  [0x0503, 'Unexpected message in Established state'],
  [0x0600, 'Cease'],
  [0x0601, 'Maximum number of prefixes reached'],
  [0x0602, 'Administrative shutdown'],
  [0x0603, 'Peer de-configured'],
  [0x0604, 'Administrative reset'],
  [0x0605, 'Connection rejected'],
  [0x0606, 'Other configuration change'],
  [0x0607, 'Connection collision resolution'],
  [0x0608, 'Out of Resources'],
  [0x0609, 'Hard reset'],
  [0x060a, 'BFD session down'],
  [0x0700, 'Invalid ROUTE-REFRESH message'],
  [0x0701, 'Invalid ROUTE-REFRESH message length'],
]);

/** Human text for a NOTIFICATION code/subcode, as BIRD words it; unknown pairs read "Unknown error c.s". */
export function notificationText(code: number, subcode: number): string {
  return TEXTS.get(code * 256 + subcode) ?? `Unknown error ${code}.${subcode}`;
}

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 255, n & 255);
}

/** Factories for the errors the framer and the OPEN checks raise. */
export const headerError = {
  notSynchronized: () => new BgpError(NotifCode.MESSAGE_HEADER_ERROR, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED),
  badLength: (len: number) => new BgpError(NotifCode.MESSAGE_HEADER_ERROR, HeaderSubcode.BAD_MESSAGE_LENGTH, u16(len), 'session-reset', `length ${len}`),
  badType: (type: number) => new BgpError(NotifCode.MESSAGE_HEADER_ERROR, HeaderSubcode.BAD_MESSAGE_TYPE, Uint8Array.of(type), 'session-reset', `type ${type}`),
};

export const openError = {
  malformed: (detail: string) => new BgpError(NotifCode.OPEN_MESSAGE_ERROR, OpenSubcode.UNSPECIFIC, EMPTY, 'session-reset', detail),
  /** Data: the largest version we support (RFC 4271 §6.2). */
  unsupportedVersion: (version: number) => new BgpError(NotifCode.OPEN_MESSAGE_ERROR, OpenSubcode.UNSUPPORTED_VERSION_NUMBER, u16(4), 'session-reset', `version ${version}`),
  badPeerAs: (asn: number) => new BgpError(NotifCode.OPEN_MESSAGE_ERROR, OpenSubcode.BAD_PEER_AS, EMPTY, 'session-reset', `AS ${asn}`),
  badBgpId: (id: string) => new BgpError(NotifCode.OPEN_MESSAGE_ERROR, OpenSubcode.BAD_BGP_IDENTIFIER, EMPTY, 'session-reset', id),
  unsupportedOptionalParameter: (type: number) =>
    new BgpError(NotifCode.OPEN_MESSAGE_ERROR, OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, EMPTY, 'session-reset', `parameter ${type}`),
  unacceptableHoldTime: (hold: number) => new BgpError(NotifCode.OPEN_MESSAGE_ERROR, OpenSubcode.UNACCEPTABLE_HOLD_TIME, EMPTY, 'session-reset', `hold time ${hold}`),
  /** Data: the capabilities (code, length, value) we require and the peer did not offer (RFC 5492 §5). */
  unsupportedCapability: (caps: Uint8Array) => new BgpError(NotifCode.OPEN_MESSAGE_ERROR, OpenSubcode.UNSUPPORTED_CAPABILITY, caps),
};

export function updateError(subcode: number, handling: ErrorHandling, data: Uint8Array = EMPTY, detail?: string): BgpError {
  return new BgpError(NotifCode.UPDATE_MESSAGE_ERROR, subcode, data, handling, detail);
}

export { UpdateSubcode };

/**
 * BIRD's "Last error" wording in `show protocols`: 'BGP Error: <text>' for a NOTIFICATION we sent,
 * 'Received: <text>' for one the peer sent.
 */
export function lastErrorText(direction: 'sent' | 'received', code: number, subcode: number): string {
  return `${direction === 'sent' ? 'BGP Error' : 'Received'}: ${notificationText(code, subcode)}`;
}
