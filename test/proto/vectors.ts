/** Helpers for hand-written message vectors: hex bodies get their header here. */
import { fromHex, toHex } from '../../proto/index.js';

/** A whole message from a type and a body written as hex (spaces allowed). */
export function msg(type: number, bodyHex: string): Uint8Array {
  const body = fromHex(bodyHex);
  const len = 19 + body.length;
  return fromHex(`${'ff'.repeat(16)}${len.toString(16).padStart(4, '0')}${type.toString(16).padStart(2, '0')}${toHex(body)}`);
}

/** An UPDATE from withdrawn, attribute and NLRI hex; the two length fields are computed. */
export function update(withdrawnHex: string, attrsHex: string, nlriHex = ''): Uint8Array {
  const w = fromHex(withdrawnHex);
  const a = fromHex(attrsHex);
  const len2 = (n: number) => n.toString(16).padStart(4, '0');
  return msg(2, `${len2(w.length)}${toHex(w)}${len2(a.length)}${toHex(a)}${nlriHex}`);
}

export const ctx4 = { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false };
export const ctx2 = { ...ctx4, as4: false };
export const ctxAddPath = { ...ctx4, addPathRx: { ipv4: true, ipv6: true }, addPathTx: { ipv4: true, ipv6: true } };
