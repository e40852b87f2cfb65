/** Reading calicoctl's (and `petrelctl node status`'s) `IPv4 BGP status` / `IPv6 BGP status` box tables. */

export interface StatusRow {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

/** Rows of one family's table; a wrapped INFO cell continues on the next line and is joined. */
export function parseNodeStatus(text: string, family: 4 | 6 = 4): StatusRow[] {
  const section = family === 4 ? (text.split('IPv4 BGP status')[1]?.split('IPv6 BGP status')[0] ?? '') : (text.split('IPv6 BGP status')[1] ?? '');
  const rows: StatusRow[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === 'PEER ADDRESS') continue;
    const prev = rows.at(-1);
    if (cells[0] === '' && prev) {
      rows[rows.length - 1] = { ...prev, info: `${prev.info} ${cells[4] ?? ''}`.trim() };
      continue;
    }
    rows.push({ peerAddress: cells[0] ?? '', peerType: cells[1] ?? '', state: cells[2] ?? '', since: cells[3] ?? '', info: cells[4] ?? '' });
  }
  return rows;
}
