/**
 * Text tables exactly as calicoctl prints them, so scripts and eyes that know calicoctl's output
 * see the same bytes:
 *  - renderBoxTable: olekukonko/tablewriter v0.0.5 with its defaults (`node status`, `ipam show`):
 *    `+---+` borders, upper-cased centred headers, one space of padding, numbers right-aligned,
 *    cells over 30 characters wrapped with minimal raggedness into extra lines.
 *  - tabwriter: Go's text/tabwriter (`get ... -o wide`), calicoctl's settings by default
 *    (minwidth 5, padding 3, space padding).
 * Widths count code points, which equals display width for the ASCII calicoctl prints.
 */

const MAX_CELL_WIDTH = 30;
const WRAP_PENALTY = 100_000;

/** tablewriter's test for "this cell is a number" (right-aligned). */
const DECIMAL = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/;

function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export interface BoxTableOptions {
  /** Wrap width for cells; tablewriter's default is 30. */
  readonly maxCellWidth?: number;
  /** Upper-case headers and turn `_` into spaces (tablewriter's AutoFormatHeaders, on by default). */
  readonly autoFormatHeaders?: boolean;
}

/** Splits on runs of whitespace, dropping empty words (tablewriter's splitWords). */
function splitWords(s: string): string[] {
  return s.split(/\s+/u).filter((w) => w.length > 0);
}

/**
 * Breaks words into lines of at most `limit` characters minimising the sum of squared slack of
 * every line but the last (tablewriter's WrapWords); a line that cannot fit costs a penalty.
 */
export function wrapWords(words: readonly string[], limit: number, spaceWidth = 1, penalty = WRAP_PENALTY): string[][] {
  const n = words.length;
  const widths = words.map(width);
  // lengthOf(i, j): width of words i..j joined by spaces.
  const lengthOf = (i: number, j: number): number => {
    let total = 0;
    for (let k = i; k <= j; k++) total += widths[k]! + (k > i ? spaceWidth : 0);
    return total;
  };
  const cost = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const breakAt = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (lengthOf(i, n - 1) <= limit) {
      cost[i] = 0;
      breakAt[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const len = lengthOf(i, j - 1);
      const slack = limit - len;
      let c = slack * slack + cost[j]!;
      if (len > limit) c += penalty;
      if (c < cost[i]!) {
        cost[i] = c;
        breakAt[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = breakAt[i]!) lines.push(words.slice(i, breakAt[i]));
  return lines;
}

/** tablewriter's WrapString: the lines of `s` wrapped to `limit` (raised to the longest word). */
export function wrapString(s: string, limit: number): string[] {
  if (s === ' ') return [' '];
  const words = splitWords(s);
  if (words.length === 0) return [''];
  const lim = Math.max(limit, ...words.map(width));
  return wrapWords(words, lim).map((line) => line.join(' '));
}

/** tablewriter's Title: `_` (and `.` not inside a number) become spaces, trimmed, upper case. */
export function titleCase(name: string): string {
  const chars = [...name];
  const numOrSpace = (c: string | undefined) => c !== undefined && /[0-9 ]/.test(c);
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '_') chars[i] = ' ';
    else if (chars[i] === '.') {
      if ((i !== 0 && !numOrSpace(chars[i - 1])) || (i !== chars.length - 1 && !numOrSpace(chars[i + 1]))) chars[i] = ' ';
    }
  }
  let out = chars.join('').trim();
  if (out.length === 0 && name.length > 0) out = ' ';
  return out.toUpperCase();
}

function padCentre(s: string, w: number): string {
  const gap = w - width(s);
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
}
function padRight(s: string, w: number): string {
  const gap = w - width(s);
  return gap > 0 ? s + ' '.repeat(gap) : s;
}
function padLeft(s: string, w: number): string {
  const gap = w - width(s);
  return gap > 0 ? ' '.repeat(gap) + s : s;
}

/** Accumulates column widths and row heights the way tablewriter's parseDimension does. */
class Dimensions {
  readonly colWidths: number[] = [];
  constructor(private readonly maxWidth: number) {}

  /** Splits a cell into its display lines and widens its column as needed. */
  cellLines(text: string, col: number): string[] {
    let paragraphs = text.split('\n');
    let maxW = Math.min(Math.max(0, ...paragraphs.map(width)), this.maxWidth);
    let newMax = maxW;
    const out: string[] = [];
    paragraphs.forEach((para, i) => {
      const lines = wrapString(para, maxW);
      for (const l of lines) newMax = Math.max(newMax, width(l));
      if (i > 0) out.push(' ');
      out.push(...lines);
    });
    paragraphs = out;
    maxW = newMax;
    const cur = this.colWidths[col];
    if (cur === undefined || cur < maxW || cur === 0) this.colWidths[col] = maxW;
    return paragraphs;
  }
}

/**
 * Renders a table byte-for-byte like tablewriter v0.0.5 with default settings (Render() output,
 * including the final newline).
 */
export function renderBoxTable(headers: readonly string[], rows: readonly (readonly string[])[], opts: BoxTableOptions = {}): string {
  const dims = new Dimensions(opts.maxCellWidth ?? MAX_CELL_WIDTH);
  const autoFmt = opts.autoFormatHeaders ?? true;
  const headerLines = headers.map((h, i) => dims.cellLines(h, i));
  const bodyLines = rows.map((row) => row.map((cell, i) => dims.cellLines(cell, i)));
  const widths = dims.colWidths.map((w) => w ?? 0);
  const cols = widths.length;

  const border = '+' + widths.map((w) => '-'.repeat(w + 2) + '+').join('') + '\n';
  let out = border;

  if (headers.length > 0) {
    const height = Math.max(0, ...headerLines.map((l) => l.length));
    for (let x = 0; x < height; x++) {
      out += '|';
      for (let y = 0; y < cols; y++) {
        let h = headerLines[y]?.[x] ?? '';
        if (autoFmt) h = titleCase(h);
        out += ` ${padCentre(h, widths[y]!)} |`;
      }
      out += '\n';
    }
    out += border;
  }

  for (const row of bodyLines) {
    const height = Math.max(0, ...row.map((l) => l.length));
    // Shorter cells are filled with two spaces per missing line (as tablewriter does).
    const filled = row.map((lines) => [...lines, ...new Array<string>(height - lines.length).fill('  ')]);
    for (let x = 0; x < height; x++) {
      for (let y = 0; y < filled.length; y++) {
        const s = filled[y]![x]!;
        const w = widths[y]!;
        out += '| ' + (DECIMAL.test(s.trim()) ? padLeft(s, w) : padRight(s, w)) + ' ';
      }
      out += '|\n';
    }
  }
  out += border;
  return out;
}

export interface TabwriterOptions {
  readonly minWidth?: number;
  readonly padding?: number;
  readonly padChar?: string;
}

/**
 * Go's text/tabwriter (flags 0, space padding) applied to a whole text: cells are tab-terminated,
 * a column block is a run of consecutive lines having that column, and a column is as wide as its
 * widest cell plus padding, at least minWidth. The last cell of a line is not part of a column.
 */
export function tabwriter(text: string, opts: TabwriterOptions = {}): string {
  const minWidth = opts.minWidth ?? 5;
  const padding = opts.padding ?? 3;
  const padChar = opts.padChar ?? ' ';
  const endsWithNewline = text.endsWith('\n');
  const rawLines = (endsWithNewline ? text.slice(0, -1) : text).split('\n');
  const lines = rawLines.map((l) => l.split('\t'));
  const out: string[] = [];
  const colWidths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      let s = '';
      cells.forEach((c, j) => {
        s += c;
        if (j < cells.length - 1 && j < colWidths.length) s += padChar.repeat(Math.max(0, colWidths[j]! - width(c)));
      });
      out.push(s);
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = colWidths.length;
    let start = line0;
    for (let row = line0; row < line1; row++) {
      if (column >= lines[row]!.length - 1) continue;
      writeLines(start, row);
      start = row;
      let w = minWidth;
      for (; row < line1; row++) {
        const cells = lines[row]!;
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]!) + padding);
      }
      colWidths.push(w);
      format(start, row);
      colWidths.pop();
      start = row;
      row--; // the loop's increment revisits the line that ended the block
    }
    writeLines(start, line1);
  };
  format(0, lines.length);
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
