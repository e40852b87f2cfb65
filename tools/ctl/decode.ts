/**
 * petrelctl decode: BGP messages to JSON (or readable lines).
 *   decode <hex...>             one or more messages as hex (concatenated messages are split); '-' reads stdin
 *   decode --pcap <file>        every BGP message in a pcap/pcapng capture, per TCP direction
 * Capabilities negotiated by the OPENs in a capture decide how later UPDATEs of that connection
 * decode (4-octet AS, ADD-PATH, extended messages); --as2 / --add-path set them for hex input.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  BgpError,
  bgpMessagesFromCapture,
  type CodecContext,
  decodeMessage,
  defaultCodecContext,
  formatMessage,
  fromHex,
  MessageFramer,
  messageToJson,
  negotiateContext,
  type OpenMessage,
  toHex,
} from '../../proto/index.js';

export interface DecodedRecord {
  frame?: number;
  time?: number;
  src?: string;
  dst?: string;
  hex: string;
  message?: Record<string, unknown>;
  text?: string;
  error?: { code: number; subcode: number; handling: string; message: string; data: string };
}

function decodeOne(bytes: Uint8Array, ctx: CodecContext): Pick<DecodedRecord, 'message' | 'text' | 'error'> {
  try {
    const m = decodeMessage(bytes, ctx);
    return { message: messageToJson(m), text: formatMessage(m) };
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    return { error: { code: e.code, subcode: e.subcode, handling: e.handling, message: e.message, data: toHex(e.data) } };
  }
}

/** Splits concatenated messages in hex text and decodes each. A framing error ends the list with an error record. */
export function decodeHex(hex: string, ctx: CodecContext = defaultCodecContext()): DecodedRecord[] {
  const framer = new MessageFramer({ extendedMessage: ctx.extendedMessage });
  const bytes = fromHex(hex);
  framer.push(bytes);
  const out: DecodedRecord[] = [];
  try {
    for (let m = framer.next(); m; m = framer.next()) out.push({ hex: toHex(m), ...decodeOne(m, ctx) });
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    out.push({ hex: toHex(bytes), error: { code: e.code, subcode: e.subcode, handling: e.handling, message: e.message, data: toHex(e.data) } });
    return out;
  }
  if (framer.bufferedBytes > 0) throw new Error(`${framer.bufferedBytes} trailing bytes do not make a whole message`);
  return out;
}

/** Every BGP message of a capture, decoded with what each connection's OPENs negotiated. */
export function decodeCapture(file: Uint8Array, port = 179): DecodedRecord[] {
  const opens = new Map<string, OpenMessage>();
  const out: DecodedRecord[] = [];
  for (const c of bgpMessagesFromCapture(file, port)) {
    const from = `${c.src}:${c.srcPort}`;
    const to = `${c.dst}:${c.dstPort}`;
    // The receiver's view: its own OPEN is the local one.
    const local = opens.get(`${to}>${from}`);
    const remote = opens.get(`${from}>${to}`);
    const ctx = local && remote ? negotiateContext(local, remote) : defaultCodecContext();
    const rec: DecodedRecord = { frame: c.frame, time: c.time, src: from, dst: to, hex: toHex(c.bytes), ...decodeOne(c.bytes, ctx) };
    if (c.bytes[18] === 1 && rec.message) opens.set(`${from}>${to}`, decodeMessage(c.bytes, ctx) as OpenMessage);
    out.push(rec);
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface DecodeOptions {
  pcap?: string;
  port: string;
  as2?: boolean;
  addPath?: boolean;
  extended?: boolean;
  text?: boolean;
}

export function register(program: Command): void {
  program
    .command('decode')
    .description('decode BGP messages from hex or from a pcap/pcapng capture into JSON')
    .argument('[hex...]', "messages as hex (several may be concatenated); '-' reads hex from stdin")
    .option('--pcap <file>', 'decode every BGP message in this capture')
    .option('--port <port>', 'BGP TCP port in the capture', '179')
    .option('--as2', 'hex input: the session did not negotiate 4-octet AS numbers')
    .option('--add-path', 'hex input: ADD-PATH path identifiers on IPv4 and IPv6 NLRI')
    .option('--extended', 'hex input: RFC 8654 extended messages (up to 65535 bytes)')
    .option('--text', 'one readable line per message instead of JSON')
    .action(async (hexArgs: string[], opts: DecodeOptions) => {
      let records: DecodedRecord[];
      if (opts.pcap) {
        records = decodeCapture(new Uint8Array(await readFile(opts.pcap)), Number(opts.port));
      } else {
        const hex = hexArgs.length === 1 && hexArgs[0] === '-' ? await readStdin() : hexArgs.join('');
        if (hex.trim() === '') throw new Error('give messages as hex, or --pcap <file>');
        const ctx = defaultCodecContext();
        ctx.as4 = !opts.as2;
        ctx.addPathRx = { ipv4: !!opts.addPath, ipv6: !!opts.addPath };
        ctx.extendedMessage = !!opts.extended;
        records = decodeHex(hex, ctx);
      }
      if (opts.text) {
        for (const r of records) {
          const where = r.frame !== undefined ? `frame ${r.frame} ${r.src} > ${r.dst}: ` : '';
          process.stdout.write(`${where}${r.text ?? `ERROR ${r.error?.code}/${r.error?.subcode} ${r.error?.message}`}\n`);
        }
      } else {
        process.stdout.write(`${JSON.stringify(records.map(({ text: _t, ...r }) => r), null, 2)}\n`);
      }
      if (records.some((r) => r.error)) process.exitCode = 1;
    });
}
