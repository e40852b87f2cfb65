/**
 * The shapes the RouteEngine exchanges with sessions and the control socket.
 */
import type { CodecContext, EncodedAttributes } from '../../proto/index.js';
import type { Family, SinkRoute } from '../model.js';
import type { LocalKind, RouteAttrs } from './attrs.js';

/** An established session, as the engine needs to know it. */
export interface EnginePeer {
  /** BIRD protocol name (Mesh_10_0_1_20, ...): the key of every other call. */
  readonly name: string;
  readonly peerIp: string;
  readonly peerAs: number;
  readonly localAs: number;
  readonly ibgp: boolean;
  /** The peer's BGP identifier (dotted quad). */
  readonly neighborId: string;
  /** Our address on this session: the "next hop self" for IPv4 routes (and IPv6 on a v6 session). */
  readonly localAddress: string;
  /** Our IPv6 next hop when IPv6 routes travel on an IPv4 session. */
  readonly localAddress6?: string;
  readonly keepOriginalNextHop: boolean;
  readonly rrClient: boolean;
  /** ADD-PATH negotiated for sending / receiving (all negotiated families). */
  readonly addPathTx: boolean;
  readonly addPathRx: boolean;
  readonly as4: boolean;
  readonly extendedMessage?: boolean;
  /** The negotiated codec context; when given it wins over as4, addPathTx/Rx and extendedMessage. */
  readonly context?: CodecContext;
  /** Families negotiated on the session; routes of other families are neither sent nor expected. */
  readonly families: readonly Family[];
  readonly maxPrefixes?: number;
  readonly maxPrefixesAction: 'reset' | 'warn';
  readonly allowLocalAs?: number;
}

/** Where the engine writes a peer's UPDATE messages (the session's transmit queue). */
export interface PeerOutput {
  send(msgs: Uint8Array[]): void;
}

/** The codec's encoders, injected so the RIB can be tested without bytes. */
export interface UpdateEncoder {
  /** Announcements of `prefixes` (packed, see rib/keys.ts packKeys) with one attribute set; many NLRI per message. */
  updates(attrs: RouteAttrs, family: Family, prefixes: Uint32Array, ctx: CodecContext, pathIds?: Uint32Array): Uint8Array[];
  /**
   * updates() for a set whose attribute bytes are at hand (`enc` = the codec's
   * encodeAttributeParts(attrs, ctx.as4)); optional, the engine falls back to updates().
   */
  updatesEncoded?(enc: EncodedAttributes, attrs: RouteAttrs, family: Family, prefixes: Uint32Array, ctx: CodecContext, pathIds?: Uint32Array): Uint8Array[];
  withdrawals(family: Family, prefixes: Uint32Array, ctx: CodecContext, pathIds?: Uint32Array): Uint8Array[];
  endOfRib(family: Family): Uint8Array;
}

/** A decoded UPDATE: the codec's UpdateMessage satisfies it. */
export interface RibUpdate {
  /** IPv4 withdrawn routes, [addr, len, ...]. */
  readonly withdrawn: Uint32Array;
  readonly attrs: RouteAttrs | null;
  /** IPv4 NLRI, [addr, len, ...]. */
  readonly nlri: Uint32Array;
  readonly nlriPathIds?: Uint32Array;
  readonly withdrawnPathIds?: Uint32Array;
  readonly mpReach?: { readonly afi: number; readonly safi: number; readonly nextHop: readonly string[]; readonly nlri: Uint32Array; readonly pathIds?: Uint32Array };
  readonly mpUnreach?: { readonly afi: number; readonly safi: number; readonly withdrawn: Uint32Array; readonly pathIds?: Uint32Array };
  readonly endOfRib?: { readonly afi: number; readonly safi: number };
  /** RFC 7606: the attributes were malformed in a way that turns every NLRI into a withdrawal. */
  readonly treatAsWithdraw: boolean;
}

export interface PeerUpdateResult {
  /** The peer now holds more prefixes than its limit and the action is 'reset': send Cease 6/1. */
  readonly maxPrefixExceeded: boolean;
  /** Prefixes held from this peer after the update. */
  readonly prefixes: number;
}

/** One route of `show route`: every candidate of a network, the primary one first. */
export interface RouteEntry {
  readonly prefix: string;
  readonly family: Family;
  readonly type: 'unicast' | 'blackhole';
  /** BIRD protocol name: the peer's (Mesh_...), or static1 / kernel1 for own routes. */
  readonly protocol: string;
  readonly since: Date;
  readonly primary: boolean;
  /** BIRD's route preference: 200 static, 100 BGP, 10 kernel. */
  readonly preference: number;
  readonly via?: string;
  readonly dev?: string;
  readonly onlink?: boolean;
  /** The peer the route came from, for BGP routes. */
  readonly fromAddress?: string;
  readonly ibgp?: boolean;
  readonly local?: LocalKind;
  readonly pathId: number;
  readonly attrs: RouteAttrs;
  /** What the kernel holds for this network when this is the primary route (null: nothing). */
  readonly kernel?: SinkRoute | null;
  /** The kernel refused this network's route (BIRD's `!`). */
  readonly kernelRejected?: boolean;
}

export interface RouteFilter {
  /** Exact network, CIDR text. */
  readonly prefix?: string;
  /** The longest-matching network holding this address (`show route for`). */
  readonly forAddress?: string;
  /** Only routes of this protocol (peer name, static1, kernel1). */
  readonly protocol?: string;
  /** Only primary routes. */
  readonly primaryOnly?: boolean;
  readonly family?: Family;
}

export interface RouteCount {
  /** Every candidate route held (own and learned). */
  readonly routes: number;
  /** Networks with a best route. */
  readonly networks: number;
  readonly primary: number;
  readonly byFamily: { readonly 4: { routes: number; networks: number }; readonly 6: { routes: number; networks: number } };
  readonly attributeSets: number;
}
