/**
 * The Dockerfile's small shell word language: quotes, the escape character and variable
 * expansion ($VAR, ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:+x}, ${VAR+x}, ${VAR:?msg}).
 * Used for ENV, ARG, LABEL, COPY, ADD, FROM, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL.
 */

export type Env = Map<string, string> | Record<string, string>;

function lookup(env: Env, name: string): string | undefined {
  if (env instanceof Map) return env.get(name);
  return Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
}

export class ShellError extends Error {}

class Lexer {
  s: string;
  pos = 0;
  escape: string;
  env: Env;
  /** words mode: split on unquoted whitespace */
  split: boolean;
  words: string[] = [];
  cur = '';
  inWord = false;

  constructor(s: string, env: Env, escape: string, split: boolean) {
    this.s = s;
    this.env = env;
    this.escape = escape;
    this.split = split;
  }

  peek(): string {
    return this.s[this.pos] ?? '';
  }

  next(): string {
    return this.s[this.pos++] ?? '';
  }

  add(text: string, quoted: boolean): void {
    if (!this.split || quoted) {
      this.cur += text;
      this.inWord = true;
      return;
    }
    for (const ch of text) {
      if (/\s/.test(ch)) {
        this.flush();
      } else {
        this.cur += ch;
        this.inWord = true;
      }
    }
  }

  flush(): void {
    if (this.inWord) this.words.push(this.cur);
    this.cur = '';
    this.inWord = false;
  }

  run(stopAt?: string): string {
    // processes until end (or until an unmatched stopAt char, for ${VAR:-word} words)
    while (this.pos < this.s.length) {
      const ch = this.peek();
      if (stopAt && ch === stopAt) return this.cur;
      if (ch === this.escape) {
        this.next();
        if (this.pos >= this.s.length) {
          this.add(ch, true);
          break;
        }
        this.add(this.next(), true);
        continue;
      }
      if (ch === "'") {
        this.next();
        let text = '';
        while (this.pos < this.s.length && this.peek() !== "'") text += this.next();
        if (this.pos >= this.s.length)
          throw new ShellError('unexpected end of statement while looking for matching single-quote');
        this.next();
        this.add(text, true);
        this.inWord = true;
        continue;
      }
      if (ch === '"') {
        this.next();
        const text = this.doubleQuoted();
        this.add(text, true);
        this.inWord = true;
        continue;
      }
      if (ch === '$') {
        this.next();
        const v = this.dollar();
        this.add(v, false);
        continue;
      }
      this.next();
      this.add(ch, false);
    }
    return this.cur;
  }

  doubleQuoted(): string {
    let out = '';
    for (;;) {
      if (this.pos >= this.s.length)
        throw new ShellError('unexpected end of statement while looking for matching double-quote');
      const ch = this.next();
      if (ch === '"') return out;
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      if (ch === this.escape) {
        const n = this.peek();
        if (n === '"' || n === '$' || n === this.escape) {
          out += this.next();
          continue;
        }
        out += ch;
        continue;
      }
      out += ch;
    }
  }

  /** after a '$' */
  dollar(): string {
    const ch = this.peek();
    if (ch === '{') {
      this.next();
      const name = this.name();
      if (!name) throw new ShellError(`missing ':' in substitution`);
      const c = this.peek();
      if (c === '}') {
        this.next();
        return lookup(this.env, name) ?? '';
      }
      let colon = false;
      if (c === ':') {
        colon = true;
        this.next();
      }
      if (this.pos >= this.s.length) throw new ShellError(`missing '}' in substitution`);
      const op = this.next();
      if (op !== '-' && op !== '+' && op !== '?') {
        throw new ShellError(`unsupported modifier (${colon ? ':' : ''}${op}) in substitution`);
      }
      const word = this.subWord();
      const value = lookup(this.env, name);
      const set = colon ? value !== undefined && value !== '' : value !== undefined;
      if (op === '-') return set ? value! : word;
      if (op === '+') return set ? word : '';
      if (!set) throw new ShellError(`${name}: ${word || 'is not allowed to be unset'}`);
      return value!;
    }
    const name = this.name();
    if (!name) return '$';
    return lookup(this.env, name) ?? '';
  }

  name(): string {
    let n = '';
    while (/[A-Za-z0-9_]/.test(this.peek()) && this.pos < this.s.length) n += this.next();
    return n;
  }

  /** the word of ${VAR:-word}, up to the matching '}' — itself expanded */
  subWord(): string {
    const sub = new Lexer(this.s, this.env, this.escape, false);
    sub.pos = this.pos;
    const out = sub.run('}');
    if (sub.peek() !== '}') throw new ShellError(`missing '}' in substitution`);
    this.pos = sub.pos + 1;
    return out;
  }
}

/** Expands variables and removes quotes, yielding one word. */
export function expandWord(s: string, env: Env, escape = '\\'): string {
  const l = new Lexer(s, env, escape, false);
  return l.run();
}

/** Expands variables and removes quotes, splitting on unquoted whitespace. */
export function expandWords(s: string, env: Env, escape = '\\'): string[] {
  const l = new Lexer(s, env, escape, true);
  l.run();
  l.flush();
  return l.words;
}

/**
 * Splits on unquoted whitespace without expanding or removing quotes (Docker's parseWords),
 * for `KEY=value KEY2="a b"` lists.
 */
export function splitRaw(s: string, escape = '\\'): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (!quote && /\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === escape && i + 1 < s.length && quote !== "'") {
      cur += ch + s[++i];
      continue;
    }
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    }
    cur += ch;
  }
  if (inWord) words.push(cur);
  return words;
}
