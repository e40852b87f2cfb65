/** What a session negotiated that changes how the same bytes decode and encode (GoBGP's MarshallingOption). */
export interface CodecContext {
  /** RFC 6793: both sides advertised 4-octet AS numbers. */
  as4: boolean;
  /** RFC 7911: path identifiers present on received NLRI, per family. */
  addPathRx: { ipv4: boolean; ipv6: boolean };
  /** RFC 7911: path identifiers to put on sent NLRI, per family. */
  addPathTx: { ipv4: boolean; ipv6: boolean };
  /** RFC 8654: messages up to 65535 bytes. */
  extendedMessage: boolean;
  /**
   * The peer is external. When true, LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST received from it
   * are dropped (RFC 7606 §7.5, RFC 4456 §8); when absent the session is taken as internal.
   */
  ebgp?: boolean;
}

export function defaultCodecContext(): CodecContext {
  return { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false };
}
