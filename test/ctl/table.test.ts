import { describe, expect, it } from 'vitest';
import { renderBoxTable, tabwriter, titleCase, wrapString } from '../../tools/ctl/table.js';

describe('tablewriter v0.0.5 emulation', () => {
  it('renders calicoctl node status table (calico-behaviour.md §6)', () => {
    const out = renderBoxTable(['Peer address', 'Peer type', 'State', 'Since', 'Info'], [
      ['172.17.8.102', 'node-to-node mesh', 'up', '23:30:04', 'Established'],
    ]);
    expect(out).toBe([
      '+--------------+-------------------+-------+----------+-------------+',
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
      '+--------------+-------------------+-------+----------+-------------+',
      '| 172.17.8.102 | node-to-node mesh | up    | 23:30:04 | Established |',
      '+--------------+-------------------+-------+----------+-------------+',
      '',
    ].join('\n'));
  });

  it('renders ipam show with numbers right-aligned (calico-behaviour.md §7)', () => {
    const out = renderBoxTable(['Grouping', 'CIDR', 'IPs total', 'IPs in use', 'IPs free'], [
      ['IP Pool', '10.244.0.0/24', '256', '11 (4%)', '245 (96%)'],
      ['Block', '10.244.0.128/26', '64', '8 (12%)', '56 (88%)'],
    ]);
    expect(out).toBe([
      '+----------+-----------------+-----------+------------+-----------+',
      '| GROUPING |      CIDR       | IPS TOTAL | IPS IN USE | IPS FREE  |',
      '+----------+-----------------+-----------+------------+-----------+',
      '| IP Pool  | 10.244.0.0/24   |       256 | 11 (4%)    | 245 (96%) |',
      '| Block    | 10.244.0.128/26 |        64 | 8 (12%)    | 56 (88%)  |',
      '+----------+-----------------+-----------+------------+-----------+',
      '',
    ].join('\n'));
  });

  it('wraps a long info cell into a 30-wide column with blank filler cells', () => {
    const out = renderBoxTable(['Peer address', 'Peer type', 'State', 'Since', 'Info'], [
      ['172.31.38.139', 'node-to-node mesh', 'start', '05:53:30', 'Active Socket: Connection refused'],
      ['172.31.38.140', 'node-to-node mesh', 'up', '05:53:31', 'Established'],
    ]);
    expect(out).toBe([
      '+---------------+-------------------+-------+----------+--------------------------------+',
      '| PEER ADDRESS  |     PEER TYPE     | STATE |  SINCE   |              INFO              |',
      '+---------------+-------------------+-------+----------+--------------------------------+',
      '| 172.31.38.139 | node-to-node mesh | start | 05:53:30 | Active Socket: Connection      |',
      '|               |                   |       |          | refused                        |',
      '| 172.31.38.140 | node-to-node mesh | up    | 05:53:31 | Established                    |',
      '+---------------+-------------------+-------+----------+--------------------------------+',
      '',
    ].join('\n'));
  });

  it('wraps with minimal raggedness, not greedily', () => {
    // Greedy would give "aaaa bb" / "cccc dddd" / ... ; min-raggedness balances the lines.
    expect(wrapString('Active Socket: Connection refused', 30)).toEqual(['Active Socket: Connection', 'refused']);
    expect(wrapString('aaa bb cc ddddd', 6)).toEqual(['aaa', 'bb cc', 'ddddd']);
    expect(wrapString('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x']);
    expect(wrapString('', 30)).toEqual(['']);
  });

  it('formats headers like tablewriter Title()', () => {
    expect(titleCase('peer_address')).toBe('PEER ADDRESS');
    expect(titleCase('v1.2')).toBe('V1.2');
    expect(titleCase('a.b')).toBe('A B');
  });
});

describe('Go text/tabwriter emulation (minwidth 5, padding 3)', () => {
  it('aligns columns and leaves the last cell unpadded', () => {
    const text = 'NAME\tASN\tIPV4\tIPV6\ncentos7-small1.example.com\t(64512)\t192.168.100.2/24\t\n';
    expect(tabwriter(text)).toBe(
      'NAME                         ASN       IPV4               IPV6\n' +
      'centos7-small1.example.com   (64512)   192.168.100.2/24   \n');
  });
  it('applies the minimum width and breaks column blocks at lines without the column', () => {
    const text = 'a\tb\tc\nlonger\tx\n\nz\tq\n';
    expect(tabwriter(text)).toBe('a        b    c\nlonger   x\n\nz    q\n');
  });
});
