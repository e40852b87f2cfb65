/**
 * Calico's validation rules, with Calico's messages. validateResource checks one resource;
 * validateSet checks rules across resources (duplicates, overlapping pools).
 */
import type { ConfigIssue } from './errors.js';
import { overlaps, parseAddress, parseCidr, parseCidrLoose, type Cidr } from './cidr.js';
import { ADDRESS_FAMILIES_ANNOTATION, MESH_ADDRESS_FAMILIES_ANNOTATION, type BGPConfiguration, type BGPPeer, type CalicoNode, type IPPool, type Resource } from './resources.js';
import { parseSelector } from './selector.js';
import { CALICO_DEFAULTS } from '../daemon/model.js';

const LINK_LOCAL_V4 = parseCidr('169.254.0.0/16');
const LINK_LOCAL_V6 = parseCidr('fe80::/10');

function issueFor(r: Resource, field: string, message: string): ConfigIssue {
  const lines = r.origin?.fieldLines ?? {};
  // Point at the field if it has a line, else its nearest ancestor, else the resource.
  let line: number | undefined;
  for (let p = field; p && line === undefined; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') line = lines[p];
  return { file: r.origin?.file ?? '<datastore>', line: line ?? r.origin?.line ?? 0, kind: r.kind, name: r.metadata.name, field, message };
}

export function validateResource(r: Resource): ConfigIssue[] {
  switch (r.kind) {
    case 'IPPool':
      return validatePool(r);
    case 'BGPPeer':
      return validatePeer(r);
    case 'BGPConfiguration':
      return validateBgpConfig(r);
    case 'Node':
      return validateNode(r);
    case 'BlockAffinity':
    case 'IPAMBlock':
      return validateCidrField(r, 'spec.cidr', r.spec.cidr);
    case 'IPAMConfiguration':
      return [];
  }
}

function validateCidrField(r: Resource, field: string, text: string | undefined): ConfigIssue[] {
  if (!text) return [issueFor(r, field, `${field.slice(field.lastIndexOf('.') + 1)} is required`)];
  try {
    parseCidr(text);
    return [];
  } catch {
    return [issueFor(r, field, `invalid CIDR "${text}"`)];
  }
}

function checkSelector(r: Resource, field: string, sel: string | undefined, out: ConfigIssue[]): void {
  if (sel === undefined) return;
  try {
    parseSelector(sel);
  } catch (e) {
    out.push(issueFor(r, field, `invalid selector: ${(e as Error).message}`));
  }
}

function validatePool(p: IPPool): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const s = p.spec;
  if (!s.cidr) return [issueFor(p, 'spec.cidr', 'cidr is required')];
  let c: ReturnType<typeof parseCidrLoose>;
  try {
    c = parseCidrLoose(s.cidr);
  } catch {
    return [issueFor(p, 'spec.cidr', `invalid CIDR "${s.cidr}"`)];
  }
  if (c.hostBitsSet) out.push(issueFor(p, 'spec.cidr', 'IPPool CIDR is not strictly masked'));
  const blockSize = s.blockSize ?? (c.family === 4 ? CALICO_DEFAULTS.blockSizeV4 : CALICO_DEFAULTS.blockSizeV6);
  if (c.family === 4 && (blockSize < 20 || blockSize > 32)) out.push(issueFor(p, 'spec.blockSize', 'IPv4 block size must be between 20 and 32'));
  else if (c.family === 6 && (blockSize < 116 || blockSize > 128)) out.push(issueFor(p, 'spec.blockSize', 'IPv6 block size must be between 116 and 128'));
  else if (!s.disabled && c.len > blockSize) out.push(issueFor(p, 'spec.cidr', `IP pool size is too small (min /${blockSize}) for use with Calico IPAM`));
  const ipip = (s.ipipMode ?? 'Never') !== 'Never';
  const vxlan = (s.vxlanMode ?? 'Never') !== 'Never';
  if (ipip && vxlan) out.push(issueFor(p, 'spec.vxlanMode', 'Cannot enable both VXLAN and IPIP on the same IPPool'));
  if (ipip && c.family === 6) out.push(issueFor(p, 'spec.ipipMode', 'IPIP is not supported on an IPv6 IP pool'));
  if (c.family === 4 && overlaps(c, LINK_LOCAL_V4)) out.push(issueFor(p, 'spec.cidr', 'IPPool CIDR overlaps with IPv4 Link Local range 169.254.0.0/16'));
  if (c.family === 6 && overlaps(c, LINK_LOCAL_V6)) out.push(issueFor(p, 'spec.cidr', 'IPPool CIDR overlaps with IPv6 Link Local range fe80::/10'));
  checkSelector(p, 'spec.nodeSelector', s.nodeSelector, out);
  checkSelector(p, 'spec.namespaceSelector', s.namespaceSelector, out);
  return out;
}

/** `ip`, `ip:port` or `[ip6]:port` → parts; throws on bad text. */
export function parsePeerIp(text: string): { ip: string; port?: number } {
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket) {
    parseAddress(bracket[1] as string);
    return { ip: bracket[1] as string, port: Number(bracket[2]) };
  }
  const v4port = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (v4port) {
    parseAddress(v4port[1] as string);
    return { ip: v4port[1] as string, port: Number(v4port[2]) };
  }
  parseAddress(text);
  return { ip: text };
}

function validatePeer(p: BGPPeer): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const s = p.spec;
  if (s.node && s.nodeSelector) out.push(issueFor(p, 'spec.nodeSelector', 'Node field must be empty when NodeSelector is specified'));
  if (s.peerIP && s.peerSelector) out.push(issueFor(p, 'spec.peerSelector', 'PeerIP field must be empty when PeerSelector is specified'));
  if (s.asNumber !== undefined && s.peerSelector) out.push(issueFor(p, 'spec.asNumber', 'ASNumber field must be empty when PeerSelector is specified'));
  if (!s.peerIP && !s.peerSelector) out.push(issueFor(p, 'spec.peerIP', 'Either PeerIP or PeerSelector must be specified'));
  if (s.keepOriginalNextHop && s.nextHopMode) out.push(issueFor(p, 'spec.nextHopMode', 'NextHopMode cannot be set together with KeepOriginalNextHop'));
  if (s.peerIP) {
    try {
      const { port } = parsePeerIp(s.peerIP);
      if (port !== undefined && (port < 1 || port > 65535)) out.push(issueFor(p, 'spec.peerIP', `invalid port in peerIP "${s.peerIP}"`));
    } catch {
      out.push(issueFor(p, 'spec.peerIP', `invalid peerIP "${s.peerIP}": expected an IP, IPv4:port or [IPv6]:port`));
    }
  }
  if (s.ttlSecurity !== undefined && (!Number.isInteger(s.ttlSecurity) || s.ttlSecurity < 1 || s.ttlSecurity > 255)) out.push(issueFor(p, 'spec.ttlSecurity', 'ttlSecurity must be between 1 and 255'));
  if (s.maxPrefixes !== undefined && (!Number.isInteger(s.maxPrefixes) || s.maxPrefixes < 1)) out.push(issueFor(p, 'spec.maxPrefixes', 'maxPrefixes must be a positive integer'));
  checkSelector(p, 'spec.nodeSelector', s.nodeSelector, out);
  checkSelector(p, 'spec.peerSelector', s.peerSelector, out);
  checkFamilies(p, 'spec.addressFamilies', s.addressFamilies, out);
  checkFamilyAnnotation(p, ADDRESS_FAMILIES_ANNOTATION, 'spec.addressFamilies', s.addressFamilies !== undefined, out);
  return out;
}

/** Fields only the `default` BGPConfiguration may set, with the name Calico's message uses. */
const DEFAULT_ONLY: readonly (readonly [keyof BGPConfiguration['spec'], string])[] = [
  ['asNumber', 'ASNumber'],
  ['nodeToNodeMeshEnabled', 'NodeToNodeMeshEnabled'],
  ['serviceClusterIPs', 'ServiceClusterIPs'],
  ['serviceExternalIPs', 'ServiceExternalIPs'],
  ['serviceLoadBalancerIPs', 'ServiceLoadBalancerIPs'],
  ['nodeMeshPassword', 'NodeMeshPassword'],
  ['nodeMeshMaxRestartTime', 'NodeMeshMaxRestartTime'],
  ['bindMode', 'BindMode'],
  ['nodeMeshAddressFamilies', 'NodeMeshAddressFamilies'],
];

/** A Petrel address-family list: at least one family, none twice. */
function checkFamilies(r: Resource, field: string, list: readonly string[] | undefined, out: ConfigIssue[]): void {
  if (list === undefined) return;
  if (list.length === 0) out.push(issueFor(r, field, `${field.slice(field.lastIndexOf('.') + 1)} must list at least one of IPv4, IPv6 (leave it out for one session per family)`));
  const dup = list.find((f, i) => list.indexOf(f) !== i);
  if (dup !== undefined) out.push(issueFor(r, field, `${dup} is listed twice`));
}

/** The annotation form of an address-family list (`IPv4,IPv6`): known names, and not together with the spec field. */
function checkFamilyAnnotation(r: BGPPeer | BGPConfiguration, key: string, specField: string, specSet: boolean, out: ConfigIssue[]): void {
  const text = r.metadata.annotations?.[key];
  if (text === undefined) return;
  const field = `metadata.annotations.${key}`;
  if (specSet) out.push(issueFor(r, field, `set either ${specField} or the ${key} annotation, not both`));
  const list = text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const bad = list.find((x) => x !== 'IPv4' && x !== 'IPv6');
  if (bad !== undefined) out.push(issueFor(r, field, `"${bad}" is not an address family: use IPv4, IPv6 (comma-separated)`));
  checkFamilies(r, field, list, out);
}

function validateBgpConfig(c: BGPConfiguration): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (c.metadata.name !== 'default') {
    for (const [field, goName] of DEFAULT_ONLY) {
      if (c.spec[field] !== undefined) out.push(issueFor(c, `spec.${field}`, `Cannot set ${goName} on a non default BGP Configuration.`));
    }
  }
  for (const list of ['serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs'] as const) {
    c.spec[list]?.forEach((e, i) => out.push(...validateCidrField(c, `spec.${list}.${i}.cidr`, e.cidr)));
  }
  c.spec.prefixAdvertisements?.forEach((e, i) => out.push(...validateCidrField(c, `spec.prefixAdvertisements.${i}.cidr`, e.cidr)));
  checkFamilies(c, 'spec.nodeMeshAddressFamilies', c.spec.nodeMeshAddressFamilies, out);
  checkFamilyAnnotation(c, MESH_ADDRESS_FAMILIES_ANNOTATION, 'spec.nodeMeshAddressFamilies', c.spec.nodeMeshAddressFamilies !== undefined, out);
  if (c.metadata.name !== 'default' && c.metadata.annotations?.[MESH_ADDRESS_FAMILIES_ANNOTATION] !== undefined) {
    out.push(issueFor(c, `metadata.annotations.${MESH_ADDRESS_FAMILIES_ANNOTATION}`, 'Cannot set NodeMeshAddressFamilies on a non default BGP Configuration.'));
  }
  return out;
}

function validateNode(n: CalicoNode): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const bgp = n.spec.bgp;
  if (!bgp) return out;
  for (const [field, fam] of [['ipv4Address', 4], ['ipv6Address', 6]] as const) {
    const v = bgp[field];
    if (v === undefined) continue;
    try {
      const a = parseAddress(v.includes('/') ? v.slice(0, v.indexOf('/')) : v);
      if (a.family !== fam) throw new Error();
      if (v.includes('/')) parseCidrLoose(v);
    } catch {
      out.push(issueFor(n, `spec.bgp.${field}`, `invalid IPv${fam} address "${v}"`));
    }
  }
  const rr = bgp.routeReflectorClusterID;
  if (rr !== undefined && !/^\d+\.\d+\.\d+\.\d+$/.test(rr)) out.push(issueFor(n, 'spec.bgp.routeReflectorClusterID', `routeReflectorClusterID must be in IPv4 format, got "${rr}"`));
  return out;
}

/** Rules across resources: duplicate names and overlapping pools. Reported on the later resource. */
export function validateSet(resources: readonly Resource[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Map<string, Resource>();
  for (const r of resources) {
    const key = `${r.kind}/${r.metadata.name}`;
    const prev = seen.get(key);
    if (prev) out.push(issueFor(r, 'metadata.name', `duplicate ${r.kind} "${r.metadata.name}" (also at ${prev.origin?.file ?? '?'}:${prev.origin?.line ?? '?'})`));
    else seen.set(key, r);
  }
  const pools: { pool: IPPool; cidr: Cidr }[] = [];
  for (const r of resources) {
    if (r.kind !== 'IPPool') continue;
    let cidr: Cidr;
    try {
      cidr = parseCidr(r.spec.cidr);
    } catch {
      continue;
    }
    const clash = pools.find((p) => p.pool.metadata.name !== r.metadata.name && overlaps(p.cidr, cidr));
    if (clash) out.push(issueFor(r, 'spec.cidr', `IPPool(${r.metadata.name}) CIDR overlaps with IPPool(${clash.pool.metadata.name}) CIDR ${clash.pool.spec.cidr}`));
    pools.push({ pool: r, cidr });
  }
  return out;
}
