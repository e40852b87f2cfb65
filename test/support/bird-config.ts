/**
 * Pieces of the BIRD 2 configs the labs run: a BGP protocol with the lab's short timers (so a
 * refused first dial costs seconds, not Calico's defaults) and a kernel protocol exporting what BGP
 * learned (proto bird routes in the namespace, as on a router).
 */

export interface BirdBgpSession {
  readonly name: string;
  readonly local: string;
  readonly neighbor: string;
  readonly channel: 'ipv4' | 'ipv6';
  readonly localAs?: number;
  readonly neighborAs?: number;
  /** The channel's body; by default BIRD takes everything and announces nothing. */
  readonly filters?: string;
  /** `error wait time` bounds in seconds. */
  readonly errorWait?: readonly [number, number];
  /** More lines inside the protocol (passive on, graceful restart, hold time...). */
  readonly extra?: readonly string[];
}

export function birdBgpProtocol(s: BirdBgpSession): string {
  const [waitMin, waitMax] = s.errorWait ?? [1, 3];
  return [
    `protocol bgp ${s.name} {`,
    `  local ${s.local} as ${s.localAs ?? 64512};`,
    `  neighbor ${s.neighbor} as ${s.neighborAs ?? 64512};`,
    '  direct;',
    ...(s.extra ?? []).map((l) => `  ${l}`),
    '  connect delay time 1;',
    '  connect retry time 2;',
    `  error wait time ${waitMin}, ${waitMax};`,
    `  ${s.channel} { ${s.filters ?? 'import all; export none;'} };`,
    '}',
  ].join('\n');
}

/** A kernel protocol that installs BGP-learned routes of one family and learns nothing. */
export function birdKernelProtocol(channel: 'ipv4' | 'ipv6', extra = ''): string {
  return `protocol kernel { learn off; scan time 2; ${extra ? `${extra} ` : ''}${channel} { import none; export where source = RTS_BGP; }; }`;
}
