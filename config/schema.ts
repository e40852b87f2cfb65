/**
 * The shape of each resource kind: which fields exist and what type each holds. Used to reject
 * unknown fields and wrong types with the field's path; semantic rules live in validate.ts.
 */
import type { ResourceKind } from './resources.js';

export type FieldType =
  | 'string'
  | 'number'
  | 'boolean'
  | 'asn'
  | 'duration'
  | 'port'
  | 'labels'
  | 'any'
  | { readonly enum: readonly string[] }
  | { readonly list: FieldType }
  | { readonly fields: Readonly<Record<string, FieldType>> };

const secretRef: FieldType = { fields: { secretKeyRef: { fields: { name: 'string', key: 'string' } }, value: 'string' } };
const cidrList: FieldType = { list: { fields: { cidr: 'string' } } };
const familyList: FieldType = { list: { enum: ['IPv4', 'IPv6'] } };

export const METADATA_FIELDS: Readonly<Record<string, FieldType>> = {
  name: 'string',
  labels: 'labels',
  annotations: 'labels',
  namespace: 'string',
  uid: 'any',
  resourceVersion: 'any',
  creationTimestamp: 'any',
  generation: 'any',
};

export const SPEC_FIELDS: Readonly<Record<ResourceKind, Readonly<Record<string, FieldType>>>> = {
  BGPConfiguration: {
    asNumber: 'asn',
    nodeToNodeMeshEnabled: 'boolean',
    listenPort: 'port',
    logSeverityScreen: 'string',
    bindMode: { enum: ['None', 'NodeIP'] },
    nodeMeshPassword: secretRef,
    nodeMeshMaxRestartTime: 'duration',
    communities: { list: { fields: { name: 'string', value: 'string' } } },
    prefixAdvertisements: { list: { fields: { cidr: 'string', communities: { list: 'string' } } } },
    serviceClusterIPs: cidrList,
    serviceExternalIPs: cidrList,
    serviceLoadBalancerIPs: cidrList,
    ignoredInterfaces: { list: 'string' },
    localWorkloadPeeringIPV4: 'string',
    localWorkloadPeeringIPV6: 'string',
    serviceLoadBalancerAggregation: { enum: ['Enabled', 'Disabled'] },
    nodeMeshAddressFamilies: familyList,
  },
  BGPPeer: {
    node: 'string',
    nodeSelector: 'string',
    peerIP: 'string',
    peerSelector: 'string',
    asNumber: 'asn',
    localASNumber: 'asn',
    sourceAddress: { enum: ['UseNodeIP', 'None'] },
    keepOriginalNextHop: 'boolean',
    nextHopMode: { enum: ['Auto', 'Self', 'Keep'] },
    maxRestartTime: 'duration',
    password: secretRef,
    ttlSecurity: 'number',
    numAllowedLocalASNumbers: 'number',
    reversePeering: { enum: ['Auto', 'Manual'] },
    filters: { list: 'string' },
    keepaliveTime: 'duration',
    holdTime: 'duration',
    maxPrefixes: 'number',
    maxPrefixesAction: { enum: ['reset', 'warn'] },
    passive: 'boolean',
    addressFamilies: familyList,
  },
  IPPool: {
    cidr: 'string',
    blockSize: 'number',
    ipipMode: { enum: ['Always', 'CrossSubnet', 'Never'] },
    vxlanMode: { enum: ['Always', 'CrossSubnet', 'Never'] },
    natOutgoing: 'boolean',
    disabled: 'boolean',
    disableBGPExport: 'boolean',
    nodeSelector: 'string',
    namespaceSelector: 'string',
    allowedUses: { list: { enum: ['Workload', 'Tunnel', 'LoadBalancer'] } },
    assignmentMode: { enum: ['Automatic', 'Manual'] },
  },
  Node: {
    bgp: {
      fields: {
        ipv4Address: 'string',
        ipv6Address: 'string',
        asNumber: 'asn',
        routeReflectorClusterID: 'string',
        ipv4IPIPTunnelAddr: 'string',
      },
    },
    // Fields calicoctl exports that Petrel does not use but must accept.
    orchRefs: 'any',
    addresses: 'any',
    ipv4VXLANTunnelAddr: 'string',
    ipv6VXLANTunnelAddr: 'string',
    vxlanTunnelMACAddr: 'string',
    vxlanTunnelMACAddrV6: 'string',
    wireguard: 'any',
    interfaces: 'any',
  },
  BlockAffinity: {
    state: { enum: ['pending', 'confirmed', 'pendingDeletion'] },
    node: 'string',
    cidr: 'string',
    deleted: 'any',
  },
  IPAMBlock: {
    cidr: 'string',
    affinity: 'string',
    allocations: { list: { fields: { ordinal: 'number', handle: 'string', node: 'string' } } },
  },
  IPAMConfiguration: {
    strictAffinity: 'boolean',
    maxBlocksPerHost: 'number',
    autoAllocateBlocks: 'boolean',
  },
};

/** Go duration text (`120s`, `1m30s`, `500ms`) or a number of seconds → seconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  if (!/^(\d+(?:\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(v)) {
    if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
    throw new Error(`invalid duration "${v}"`);
  }
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  let total = 0;
  for (const m of v.matchAll(re)) total += Number(m[1]) * (unit[m[2] as string] ?? 0);
  return total;
}

/** An AS number: plain, numeric text, or asdot (`1.10` = 1*65536+10). */
export function parseAsn(v: string | number): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`invalid AS number ${v}`);
    return v;
  }
  const dot = /^(\d+)\.(\d+)$/.exec(v);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    if (hi > 0xffff || lo > 0xffff) throw new Error(`invalid AS number "${v}"`);
    return hi * 65536 + lo;
  }
  if (/^\d+$/.test(v)) return parseAsn(Number(v));
  throw new Error(`invalid AS number "${v}"`);
}
