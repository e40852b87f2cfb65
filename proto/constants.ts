/**
 * IANA numbers of BGP-4 as `as const` objects, with the union types derived from them.
 * Names follow the RFCs so code reads like the spec.
 */

export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654: the limit once both sides advertised the extended message capability. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;
/** RFC 6793: the 2-octet stand-in for a 4-octet AS number. */
export const AS_TRANS = 23456;

export const MsgType = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, ROUTE_REFRESH: 5 } as const;
export type MsgTypeCode = (typeof MsgType)[keyof typeof MsgType];

/** Minimum length of each message type (RFC 4271 §4, RFC 2918). */
export const MIN_LENGTH: Readonly<Record<number, number>> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

export const Afi = { IPV4: 1, IPV6: 2 } as const;
export const Safi = { UNICAST: 1, MULTICAST: 2 } as const;

export const AttrFlag = { OPTIONAL: 0x80, TRANSITIVE: 0x40, PARTIAL: 0x20, EXTENDED_LENGTH: 0x10 } as const;

export const AttrType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  ORIGINATOR_ID: 9,
  CLUSTER_LIST: 10,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  EXTENDED_COMMUNITIES: 16,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITIES: 32,
} as const;

export const AsPathSegmentType = { AS_SET: 1, AS_SEQUENCE: 2, AS_CONFED_SEQUENCE: 3, AS_CONFED_SET: 4 } as const;

export const Origin = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;

export const CapCode = {
  MULTIPROTOCOL: 1,
  ROUTE_REFRESH: 2,
  EXTENDED_MESSAGE: 6,
  GRACEFUL_RESTART: 64,
  AS4: 65,
  ADD_PATH: 69,
  ENHANCED_ROUTE_REFRESH: 70,
  LLGR: 71,
  FQDN: 73,
} as const;

export const OptParamType = { CAPABILITIES: 2, EXTENDED_LENGTH: 255 } as const;

export const NotifCode = {
  MESSAGE_HEADER_ERROR: 1,
  OPEN_MESSAGE_ERROR: 2,
  UPDATE_MESSAGE_ERROR: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM_ERROR: 5,
  CEASE: 6,
  ROUTE_REFRESH_MESSAGE_ERROR: 7,
} as const;

export const HeaderSubcode = { CONNECTION_NOT_SYNCHRONIZED: 1, BAD_MESSAGE_LENGTH: 2, BAD_MESSAGE_TYPE: 3 } as const;

export const OpenSubcode = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION_NUMBER: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  /** Deprecated by RFC 4271. */
  AUTHENTICATION_FAILURE: 5,
  UNACCEPTABLE_HOLD_TIME: 6,
  /** RFC 5492 */
  UNSUPPORTED_CAPABILITY: 7,
  /** RFC 9234 */
  ROLE_MISMATCH: 11,
} as const;

export const UpdateSubcode = {
  UNSPECIFIC: 0,
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  /** Deprecated by RFC 4271. */
  AS_ROUTING_LOOP: 7,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608 */
export const FsmSubcode = {
  UNSPECIFIED: 0,
  UNEXPECTED_MESSAGE_IN_OPENSENT: 1,
  UNEXPECTED_MESSAGE_IN_OPENCONFIRM: 2,
  UNEXPECTED_MESSAGE_IN_ESTABLISHED: 3,
} as const;

/** RFC 4486 (+ RFC 8203 communication on 2 and 4, RFC 9384 hard reset) */
export const CeaseSubcode = {
  MAXIMUM_PREFIXES_REACHED: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;

/** RFC 7313 */
export const RouteRefreshSubcode = { INVALID_MESSAGE_LENGTH: 1 } as const;

/** RFC 7313 ROUTE-REFRESH message subtypes. */
export const RefreshSubtype = { NORMAL: 0, BORR: 1, EORR: 2 } as const;
