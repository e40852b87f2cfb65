/** Bounded pings from a namespace, read from ping's summary line. */
import { nsExec, NetnsError } from '../../tools/lab/netns.js';

export interface PingResult {
  readonly transmitted: number;
  readonly received: number;
  readonly lost: number;
  readonly error?: string;
}

export function parsePing(out: string): PingResult | undefined {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
  if (!m) return undefined;
  const transmitted = Number(m[1]);
  const received = Number(m[2]);
  return { transmitted, received, lost: transmitted - received };
}

/** `ping -c 3 -W 1` (ping -6 for an IPv6 address); resolves to the replies received, 0 when ping fails. */
export async function pingReceived(fromNs: string, to: string): Promise<number> {
  const family = to.includes(':') ? ['-6'] : [];
  try {
    const out = await nsExec(fromNs, 'ping', [...family, '-c', '3', '-W', '1', '-i', '0.2', to], { timeoutMs: 10_000 });
    return parsePing(out)?.received ?? 0;
  } catch (e) {
    if (e instanceof NetnsError) return parsePing(e.stderr)?.received ?? 0;
    throw e;
  }
}
