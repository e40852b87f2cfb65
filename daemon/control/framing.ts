/**
 * BIRD's control-socket line framing, both directions.
 * Writer: `DDDD-text` (more follows), ` text` (more, same code as the previous line), `DDDD text`
 * (final line). Reader: the inverse, tolerant of `+` async lines.
 */

/** One reply line before framing. `final` ends the reply. */
export interface ReplyLine {
  readonly code: number;
  readonly text: string;
  readonly final?: boolean;
}

export type Dialect = 'bird1' | 'bird2';

export const line = (code: number, text: string): ReplyLine => ({ code, text });
export const finalLine = (code: number, text = ''): ReplyLine => ({ code, text, final: true });

const code4 = (code: number) => String(code).padStart(4, '0');

/**
 * Frames reply lines for one connection. BIRD writes the short ` text` form whenever the code did
 * not change; BIRD 2 forgets the previous code after a final line, BIRD 1.6 does not.
 */
export class LineFramer {
  private lastCode: number | undefined;

  constructor(private readonly dialect: Dialect) {}

  frame(l: ReplyLine): string {
    if (l.final) {
      this.lastCode = this.dialect === 'bird1' ? l.code : undefined;
      return `${code4(l.code)} ${l.text}\n`;
    }
    const prefix = l.code === this.lastCode ? ' ' : `${code4(l.code)}-`;
    this.lastCode = l.code;
    return prefix + l.text + '\n';
  }
}

/** A reply line as a client reads it. */
export interface ParsedLine {
  readonly code: number;
  readonly text: string;
  readonly final: boolean;
  /** The raw line without its LF. */
  readonly raw: string;
}

export class FramingError extends Error {
  constructor(readonly rawLine: string) {
    super(`unexpected line from the control socket: ${JSON.stringify(rawLine)}`);
    this.name = 'FramingError';
  }
}

/** Incremental reader: feed chunks, get parsed lines; `+` async lines are dropped. */
export class LineReader {
  private buffer = '';
  private lastCode: number | undefined;

  push(chunk: string): ParsedLine[] {
    this.buffer += chunk;
    const out: ParsedLine[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const raw = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      const parsed = this.parse(raw);
      if (parsed) out.push(parsed);
    }
    return out;
  }

  private parse(raw: string): ParsedLine | undefined {
    if (raw.startsWith('+')) return undefined;
    if (raw.startsWith(' ')) {
      if (this.lastCode === undefined) throw new FramingError(raw);
      return { code: this.lastCode, text: raw.slice(1), final: false, raw };
    }
    const m = /^(\d{4})([- ])/.exec(raw);
    if (!m) throw new FramingError(raw);
    const code = Number(m[1]);
    this.lastCode = code;
    return { code, text: raw.slice(5), final: m[2] === ' ', raw };
  }
}
