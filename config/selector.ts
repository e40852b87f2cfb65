/**
 * Calico's label selector language, parsed once into a tree and evaluated against label maps.
 * Grammar: or := and ('||' and)*; and := unary ('&&' unary)*; unary := '!' unary | '(' or ')' | term;
 * term := all() | global() | has(k) | k == v | k != v | k in {v,...} | k not in {v,...}
 *       | k contains v | k starts with v | k ends with v
 */

export type Labels = Readonly<Record<string, string>>;

export type SelectorNode =
  | { readonly op: 'all' }
  | { readonly op: 'has'; readonly key: string }
  | { readonly op: 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notIn'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'not'; readonly arg: SelectorNode }
  | { readonly op: 'and' | 'or'; readonly args: readonly SelectorNode[] };

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

export interface Selector {
  readonly source: string;
  readonly tree: SelectorNode;
  matches(labels: Labels | undefined): boolean;
}

type Token = { t: 'id' | 'str' | 'op'; v: string; pos: number };

const KEY_RE = /[A-Za-z0-9_./\-]/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      out.push({ t: 'op', v: two, pos: i });
      i += 2;
      continue;
    }
    if ('!(){},'.includes(c)) {
      out.push({ t: 'op', v: c, pos: i });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new SelectorError(`unterminated string at position ${i}`);
      out.push({ t: 'str', v: src.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    if (KEY_RE.test(c)) {
      let j = i;
      while (j < src.length && KEY_RE.test(src[j] as string)) j++;
      out.push({ t: 'id', v: src.slice(i, j), pos: i });
      i = j;
      continue;
    }
    throw new SelectorError(`unexpected character '${c}' at position ${i}`);
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[], private readonly src: string) {}

  parse(): SelectorNode {
    if (this.toks.length === 0) return { op: 'all' }; // Calico treats an empty selector as all()
    const n = this.or();
    if (this.i < this.toks.length) this.fail(`unexpected '${this.peek()?.v}'`);
    return n;
  }

  private peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }
  private fail(msg: string): never {
    const pos = this.peek()?.pos ?? this.src.length;
    throw new SelectorError(`${msg} at position ${pos} in selector "${this.src}"`);
  }
  private expectOp(v: string): void {
    const t = this.peek();
    if (!t || t.t !== 'op' || t.v !== v) this.fail(`expected '${v}'`);
    this.i++;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'op' && t.v === v;
  }
  private isWord(v: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.t === 'id' && t.v === v;
  }
  private string(): string {
    const t = this.peek();
    if (!t || t.t !== 'str') this.fail('expected a quoted value');
    this.i++;
    return t.v;
  }

  private or(): SelectorNode {
    const args = [this.and()];
    while (this.isOp('||')) {
      this.i++;
      args.push(this.and());
    }
    return args.length === 1 ? (args[0] as SelectorNode) : { op: 'or', args };
  }
  private and(): SelectorNode {
    const args = [this.unary()];
    while (this.isOp('&&')) {
      this.i++;
      args.push(this.unary());
    }
    return args.length === 1 ? (args[0] as SelectorNode) : { op: 'and', args };
  }
  private unary(): SelectorNode {
    if (this.isOp('!')) {
      this.i++;
      return { op: 'not', arg: this.unary() };
    }
    if (this.isOp('(')) {
      this.i++;
      const n = this.or();
      this.expectOp(')');
      return n;
    }
    return this.term();
  }
  private term(): SelectorNode {
    const t = this.peek();
    if (!t || t.t !== 'id') this.fail('expected a label key or function');
    if ((t.v === 'all' || t.v === 'global') && this.toks[this.i + 1]?.v === '(') {
      this.i++;
      this.expectOp('(');
      this.expectOp(')');
      return { op: 'all' };
    }
    if (t.v === 'has' && this.toks[this.i + 1]?.v === '(') {
      this.i += 2;
      const k = this.peek();
      if (!k || k.t !== 'id') this.fail('expected a label key inside has()');
      this.i++;
      this.expectOp(')');
      return { op: 'has', key: k.v };
    }
    this.i++;
    const key = t.v;
    if (this.isOp('==') || this.isOp('!=')) {
      const op = this.peek()?.v === '==' ? 'eq' : 'ne';
      this.i++;
      return { op, key, value: this.string() };
    }
    if (this.isWord('in')) {
      this.i++;
      return { op: 'in', key, values: this.set() };
    }
    if (this.isWord('not') && this.isWord('in', 1)) {
      this.i += 2;
      return { op: 'notIn', key, values: this.set() };
    }
    if (this.isWord('contains')) {
      this.i++;
      return { op: 'contains', key, value: this.string() };
    }
    if (this.isWord('starts') && this.isWord('with', 1)) {
      this.i += 2;
      return { op: 'startsWith', key, value: this.string() };
    }
    if (this.isWord('ends') && this.isWord('with', 1)) {
      this.i += 2;
      return { op: 'endsWith', key, value: this.string() };
    }
    return this.fail(`expected an operator after '${key}'`);
  }
  private set(): string[] {
    this.expectOp('{');
    const values: string[] = [];
    if (!this.isOp('}')) {
      values.push(this.string());
      while (this.isOp(',')) {
        this.i++;
        values.push(this.string());
      }
    }
    this.expectOp('}');
    return values;
  }
}

export function evaluate(n: SelectorNode, labels: Labels): boolean {
  switch (n.op) {
    case 'all':
      return true;
    case 'has':
      return Object.hasOwn(labels, n.key);
    case 'eq':
      return labels[n.key] === n.value;
    case 'ne':
      return labels[n.key] !== n.value;
    case 'contains':
      return labels[n.key]?.includes(n.value) ?? false;
    case 'startsWith':
      return labels[n.key]?.startsWith(n.value) ?? false;
    case 'endsWith':
      return labels[n.key]?.endsWith(n.value) ?? false;
    case 'in': {
      const v = labels[n.key];
      return v !== undefined && n.values.includes(v);
    }
    case 'notIn': {
      const v = labels[n.key];
      return v === undefined || !n.values.includes(v);
    }
    case 'not':
      return !evaluate(n.arg, labels);
    case 'and':
      return n.args.every((a) => evaluate(a, labels));
    case 'or':
      return n.args.some((a) => evaluate(a, labels));
  }
}

const cache = new Map<string, Selector>();

/** Parses a selector (cached by source text); throws SelectorError with the position on bad input. */
export function parseSelector(source: string): Selector {
  const hit = cache.get(source);
  if (hit) return hit;
  const tree = new Parser(tokenize(source), source).parse();
  const sel: Selector = { source, tree, matches: (labels) => evaluate(tree, labels ?? {}) };
  if (cache.size > 1000) cache.clear();
  cache.set(source, sel);
  return sel;
}

export function selectorMatches(source: string | undefined, labels: Labels | undefined): boolean {
  return parseSelector(source ?? 'all()').matches(labels);
}
