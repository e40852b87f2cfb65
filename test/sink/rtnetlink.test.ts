/**
 * The rtnetlink encoder, byte for byte. Each expected body was captured from iproute2 itself
 * (`strace -e sendmsg -xx ip route replace ...`, interface 3 being the device) for the same
 * route; only the header differs: ip asks for an ACK on every message and numbers them from the
 * clock, the sink leaves the ACK to the helper and numbers them itself.
 */
import { describe, expect, it } from 'vitest';
import { MessageWriter, NLM_F_ACK, protocolNumber, RTM_DELROUTE, RTM_NEWROUTE, tableNumber } from '../../daemon/sink/rtnetlink.js';
import type { SinkRoute } from '../../daemon/model.js';
import { keyedRoute } from '../../daemon/sink/route.js';
import { cidrToKey } from '../../daemon/rib/keys.js';

const bird = { protocol: 12, table: 254 };

/** The header the sink writes, then the rtmsg and attributes iproute2 wrote (the `\xNN` text of strace). */
function message(type: number, flags: number, seq: number, ipBody: string): string {
  const body = Buffer.from(ipBody.replace(/\\x/g, ''), 'hex');
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, body]).toString('hex');
}
const REPLACE = 0x501; // NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE
const DELETE = 0x001;

function replaced(route: SinkRoute, target = bird, oif?: number): string {
  const w = new MessageWriter(64);
  w.replace(route, target, 7, oif);
  return w.take().toString('hex');
}

function removed(route: SinkRoute, target = bird): string {
  const w = new MessageWriter(64);
  w.remove(route, target, 7);
  return w.take().toString('hex');
}

describe('rtnetlink route messages', () => {
  it('IPv4 via a gateway through a device, onlink (the IPIP route)', () => {
    // ip route replace 10.244.2.0/26 via 172.16.30.8 dev d0 onlink proto bird
    expect(replaced({ prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.30.8', dev: 'd0', onlink: true }, bird, 3)).toBe(
      message(RTM_NEWROUTE, REPLACE, 7, '\\x02\\x1a\\x00\\x00\\xfe\\x0c\\x00\\x01\\x04\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x0a\\xf4\\x02\\x00\\x08\\x00\\x05\\x00\\xac\\x10\\x1e\\x08\\x08\\x00\\x04\\x00\\x03\\x00\\x00\\x00'),
    );
  });

  it('IPv4 through a device alone is link scope', () => {
    // ip route replace 10.244.3.0/26 dev d0 proto bird
    expect(replaced({ prefix: '10.244.3.0/26', type: 'unicast', dev: 'd0' }, bird, 3)).toBe(
      message(RTM_NEWROUTE, REPLACE, 7, '\\x02\\x1a\\x00\\x00\\xfe\\x0c\\xfd\\x01\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x0a\\xf4\\x03\\x00\\x08\\x00\\x04\\x00\\x03\\x00\\x00\\x00'),
    );
  });

  it('IPv4 blackhole, and a table past 255 with a metric (RTA_TABLE, RTA_PRIORITY)', () => {
    // ip route replace blackhole 10.244.1.0/26 proto bird
    expect(replaced({ prefix: '10.244.1.0/26', type: 'blackhole' })).toBe(message(RTM_NEWROUTE, REPLACE, 7, '\\x02\\x1a\\x00\\x00\\xfe\\x0c\\x00\\x06\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x0a\\xf4\\x01\\x00'));
    // ip route replace 10.244.4.0/26 via 172.16.30.8 dev d0 onlink proto bird table 300 metric 7
    expect(replaced({ prefix: '10.244.4.0/26', type: 'unicast', via: '172.16.30.8', dev: 'd0', onlink: true, metric: 7 }, { protocol: 12, table: 300 }, 3)).toBe(
      message(
        RTM_NEWROUTE,
        REPLACE,
        7,
        '\\x02\\x1a\\x00\\x00\\x00\\x0c\\x00\\x01\\x04\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x0a\\xf4\\x04\\x00\\x08\\x00\\x05\\x00\\xac\\x10\\x1e\\x08\\x08\\x00\\x0f\\x00\\x2c\\x01\\x00\\x00\\x08\\x00\\x06\\x00\\x07\\x00\\x00\\x00\\x08\\x00\\x04\\x00\\x03\\x00\\x00\\x00',
      ),
    );
  });

  it('IPv6 via a gateway, onlink, with a metric and with a small table', () => {
    // ip route replace fd00:1::/122 via fd00::8 dev d0 onlink proto bird metric 1024
    expect(replaced({ prefix: 'fd00:1::/122', type: 'unicast', via: 'fd00::8', dev: 'd0', onlink: true, metric: 1024 }, bird, 3)).toBe(
      message(
        RTM_NEWROUTE,
        REPLACE,
        7,
        '\\x0a\\x7a\\x00\\x00\\xfe\\x0c\\x00\\x01\\x04\\x00\\x00\\x00\\x14\\x00\\x01\\x00\\xfd\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x14\\x00\\x05\\x00\\xfd\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x08\\x00\\x06\\x00\\x00\\x04\\x00\\x00\\x08\\x00\\x04\\x00\\x03\\x00\\x00\\x00',
      ),
    );
    // ip route replace fd00:2::/122 via fd00::8 dev d0 onlink proto bird table 100
    expect(replaced({ prefix: 'fd00:2::/122', type: 'unicast', via: 'fd00::8', dev: 'd0', onlink: true }, { protocol: 12, table: 100 }, 3)).toBe(
      message(
        RTM_NEWROUTE,
        REPLACE,
        7,
        '\\x0a\\x7a\\x00\\x00\\x64\\x0c\\x00\\x01\\x04\\x00\\x00\\x00\\x14\\x00\\x01\\x00\\xfd\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x14\\x00\\x05\\x00\\xfd\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x08\\x00\\x04\\x00\\x03\\x00\\x00\\x00',
      ),
    );
  });

  it('IPv6 blackhole', () => {
    // ip route replace blackhole fd00:1::/64 proto bird
    expect(replaced({ prefix: 'fd00:1::/64', type: 'blackhole' })).toBe(
      message(RTM_NEWROUTE, REPLACE, 7, '\\x0a\\x40\\x00\\x00\\xfe\\x0c\\x00\\x06\\x00\\x00\\x00\\x00\\x14\\x00\\x01\\x00\\xfd\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'),
    );
  });

  it('deletes by prefix, protocol, table and metric: IPv4 any scope, IPv6 universe', () => {
    // ip route del 10.244.3.0/26 proto bird
    expect(removed({ prefix: '10.244.3.0/26', type: 'unicast', via: '10.0.0.1', dev: 'd0' })).toBe(
      message(RTM_DELROUTE, DELETE, 7, '\\x02\\x1a\\x00\\x00\\xfe\\x0c\\xff\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x0a\\xf4\\x03\\x00'),
    );
    // ip route del 10.244.4.0/26 proto bird table 300 metric 7
    expect(removed({ prefix: '10.244.4.0/26', type: 'blackhole', metric: 7 }, { protocol: 12, table: 300 })).toBe(
      message(RTM_DELROUTE, DELETE, 7, '\\x02\\x1a\\x00\\x00\\x00\\x0c\\xff\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x0a\\xf4\\x04\\x00\\x08\\x00\\x0f\\x00\\x2c\\x01\\x00\\x00\\x08\\x00\\x06\\x00\\x07\\x00\\x00\\x00'),
    );
    // ip route del fd00:1::/122 proto bird
    expect(removed({ prefix: 'fd00:1::/122', type: 'blackhole' })).toBe(
      message(RTM_DELROUTE, DELETE, 7, '\\x0a\\x7a\\x00\\x00\\xfe\\x0c\\x00\\x00\\x00\\x00\\x00\\x00\\x14\\x00\\x01\\x00\\xfd\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'),
    );
  });

  it('writes many messages back to back, growing its buffer, and starts afresh after take()', () => {
    const w = new MessageWriter(64);
    for (let i = 0; i < 1000; i++) w.replace({ prefix: `10.${i >> 8}.${i & 255}.0/24`, type: 'unicast', via: '192.168.0.1' }, bird, i + 1);
    expect(w.count).toBe(1000);
    const buf = w.take();
    expect(buf.length).toBe(1000 * 44);
    let at = 0;
    for (let i = 0; i < 1000; i++) {
      expect(buf.readUInt32LE(at)).toBe(44);
      expect(buf.readUInt16LE(at + 6) & NLM_F_ACK).toBe(0);
      expect(buf.readUInt32LE(at + 8)).toBe(i + 1);
      expect([...buf.subarray(at + 32, at + 36)]).toEqual([10, i >> 8, i & 255, 0]);
      at += 44;
    }
    expect(w.count).toBe(0);
    expect(w.length).toBe(0);
    // A bare address is a host route.
    w.remove({ prefix: '10.1.2.3', type: 'blackhole' }, bird, 1);
    expect(w.take()[17]).toBe(32);
  });

  it('writes each route the same whether or not it follows a route with the same next hop', () => {
    const shapes: SinkRoute[] = [
      { prefix: '10.1.0.0/24', type: 'unicast', via: '172.16.30.8' },
      { prefix: '10.1.1.0/24', type: 'unicast', via: '172.16.30.8' },
      { prefix: '10.1.2.128/25', type: 'unicast', via: '172.16.30.9' },
      { prefix: '10.1.3.0/24', type: 'unicast', via: '172.16.30.9', dev: 'd0', onlink: true },
      { prefix: '10.1.4.0/24', type: 'unicast', via: '172.16.30.9', dev: 'd0', onlink: true },
      { prefix: '10.1.5.0/24', type: 'unicast', via: '172.16.30.9', dev: 'd0', onlink: true, metric: 5 },
      { prefix: 'fd00:9::/64', type: 'unicast', via: 'fd00::9', metric: 5 },
      { prefix: '10.1.6.0/24', type: 'blackhole', metric: 5 },
      { prefix: '10.1.7.1/32', type: 'blackhole', metric: 5 },
      { prefix: '0.0.0.0/0', type: 'blackhole', metric: 5 },
    ];
    const oif = (r: SinkRoute) => (r.dev !== undefined ? 3 : undefined);
    const together = new MessageWriter(64);
    shapes.forEach((r, i) => {
      together.replace(r, bird, i + 1, oif(r));
      if (i === 4) together.remove(r, bird, 99);
    });
    const alone = shapes.map((r, i) => {
      const w = new MessageWriter(64);
      w.replace(r, bird, i + 1, oif(r));
      if (i === 4) w.remove(r, bird, 99);
      return w.take().toString('hex');
    });
    expect(together.take().toString('hex')).toBe(alone.join(''));
    // A different table is a different template.
    const w = new MessageWriter(64);
    w.replace(shapes[0]!, bird, 1);
    w.replace(shapes[1]!, { protocol: 12, table: 300 }, 2);
    const other = new MessageWriter(64);
    other.replace(shapes[1]!, { protocol: 12, table: 300 }, 2);
    expect(w.take().subarray(44).toString('hex')).toBe(other.take().toString('hex'));
  });

  it('writes an engine route (prefix as its RIB key) byte for byte as the same route with prefix text', () => {
    const text: SinkRoute[] = [
      { prefix: '10.1.0.0/24', type: 'unicast', via: '172.16.30.8' },
      { prefix: '10.1.1.0/24', type: 'unicast', via: '172.16.30.8' },
      { prefix: '200.1.2.128/25', type: 'unicast', via: '172.16.30.9', dev: 'd0', onlink: true },
      { prefix: '255.255.255.255/32', type: 'blackhole', metric: 5 },
      { prefix: '0.0.0.0/0', type: 'blackhole' },
      { prefix: 'fd00:9::/64', type: 'unicast', via: 'fd00::9', metric: 5 },
    ];
    const keyed = text.map((r) => keyedRoute(cidrToKey(r.prefix), r.type, r.via, r.dev, r.onlink, r.metric));
    const oif = (r: SinkRoute) => (r.dev !== undefined ? 3 : undefined);
    const encode = (routes: readonly SinkRoute[]) => {
      const w = new MessageWriter(64);
      routes.forEach((r, i) => w.replace(r, bird, i + 1, oif(r)));
      routes.forEach((r, i) => w.remove(r, bird, 100 + i));
      return w.take().toString('hex');
    };
    expect(encode(keyed)).toBe(encode(text));
    // Mixed: a keyed route after a text one with the same next hop reuses its message, and back.
    expect(encode([text[0]!, keyed[1]!, text[1]!])).toBe(encode([text[0]!, text[1]!, text[1]!]));
  });

  it('knows protocol and table numbers, and leaves other names to iproute2', () => {
    expect(protocolNumber('bird')).toBe(12);
    expect(protocolNumber('42')).toBe(42);
    expect(protocolNumber('mine')).toBeUndefined();
    expect(tableNumber(undefined)).toBe(254);
    expect(tableNumber('main')).toBe(254);
    expect(tableNumber(100)).toBe(100);
    expect(tableNumber('300')).toBe(300);
    expect(tableNumber('mytable')).toBeUndefined();
  });
});
