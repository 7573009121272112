/**
 * Output helpers that reproduce the docker CLI byte for byte: go-units sizes (from spec/),
 * "2 hours ago", Go's text/tabwriter, Go's time layouts, strconv.Quote, sortorder's NaturalLess and
 * encoding/json's HTML-escaped output.
 */
import { humanDuration } from '../spec/index.ts';

// go-units' sizes live in spec/ beside humanDuration, so the dashboard (ui/) formats as the CLI does
export { goG, humanSize, bytesSize } from '../spec/index.ts';

/** "2 hours ago" from unix seconds. */
export function ago(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

export { humanDuration };

/** formatter.Ellipsis: cut to `max` runes, the last one "…". */
export function ellipsis(s: string, max: number): string {
  const runes = [...s];
  if (runes.length <= max) return s;
  if (max <= 1) return runes.slice(0, max).join('');
  return runes.slice(0, max - 1).join('') + '…';
}

/** stringid.TruncateID: drop the algorithm, keep 12 hex digits. */
export function shortId(id: string): string {
  const i = id.indexOf(':');
  const hex = i >= 0 ? id.slice(i + 1) : id;
  return hex.slice(0, 12);
}

/**
 * Go's text/tabwriter with docker's settings (minwidth, padding, space padding): a cell is text
 * ending in a tab; a column block is a run of lines that have that cell; the text after a
 * line's last tab is never padded.
 */
export function tabwrite(text: string, minwidth = 10, padding = 3): string {
  if (text === '') return '';
  const trailingNl = text.endsWith('\n');
  const lines = (trailingNl ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];
  const width = (s: string) => [...s].length;
  const writeLines = (l0: number, l1: number) => {
    for (let i = l0; i < l1; i++) {
      const line = lines[i]!;
      let s = '';
      line.forEach((cell, j) => {
        s += cell;
        if (j < widths.length && j < line.length - 1) s += ' '.repeat(Math.max(0, widths[j]! - width(cell)));
      });
      out.push(s);
    }
  };
  const formatFrom = (line0: number, line1: number): void => {
    const column = widths.length;
    let cur = line0;
    while (cur < line1) {
      if (column >= lines[cur]!.length - 1) {
        cur++;
        continue;
      }
      writeLines(line0, cur);
      line0 = cur;
      let w = minwidth;
      for (; cur < line1; cur++) {
        const line = lines[cur]!;
        if (column >= line.length - 1) break;
        w = Math.max(w, width(line[column]!) + padding);
      }
      widths.push(w);
      formatFrom(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };
  formatFrom(0, lines.length);
  return out.join('\n') + (trailingNl ? '\n' : '');
}

/** Rows of cells through the tabwriter (docker's tables: minwidth 10, padding 3). */
export function table(rows: string[][], minwidth = 10, padding = 3): string {
  return tabwrite(rows.map((r) => r.join('\t')).join('\n') + '\n', minwidth, padding);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function zone(d: Date): { offset: string; colon: string; name: string; utc: boolean } {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const hh = pad(Math.floor(a / 60));
  const mm = pad(a % 60);
  let name = 'UTC';
  if (off !== 0) {
    const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(d)
      .find((p) => p.type === 'timeZoneName');
    name = part && /^[A-Z]{2,5}$/.test(part.value) ? part.value : `${sign}${hh}${mm === '00' ? '' : mm}`;
  }
  return { offset: `${sign}${hh}${mm}`, colon: `${sign}${hh}:${mm}`, name, utc: off === 0 };
}

function localParts(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Go's time.Time.String() for a whole-second time: "2026-11-22 13:30:02 +0000 UTC". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const z = zone(d);
  return `${localParts(d).replace('T', ' ')} ${z.offset} ${z.name}`;
}

/** RFC 3339 in local time: "2026-11-22T13:30:02Z" or "...+01:00". */
export function rfc3339(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const z = zone(d);
  return `${localParts(d)}${z.utc ? 'Z' : z.colon}`;
}

/** jsonmessage.RFC3339NanoFixed from nanoseconds (a decimal string keeps every digit). */
export function rfc3339NanoFixed(nanos: string | number | bigint): string {
  const n = BigInt(typeof nanos === 'number' ? Math.round(nanos) : nanos);
  const secs = n / 1_000_000_000n;
  const frac = n % 1_000_000_000n;
  const d = new Date(Number(secs) * 1000);
  const z = zone(d);
  return `${localParts(d)}.${frac.toString().padStart(9, '0')}${z.utc ? 'Z' : z.colon}`;
}

/** strconv.Quote for printable text. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** encoding/json's escaping of <, > and & (and U+2028/2029) inside JSON text. */
export function goEscapeHtml(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** json.Marshal: compact, HTML-escaped. */
export function goJson(v: unknown): string {
  return goEscapeHtml(JSON.stringify(v ?? null));
}

/**
 * json.Indent over raw JSON text: re-lays it out with `indent` per level, keeping every
 * token as the daemon sent it (escapes, number digits, key order).
 */
export function indentJson(raw: string, indent = '    '): string {
  let out = '';
  let level = 0;
  let inString = false;
  let escaped = false;
  const nl = () => '\n' + indent.repeat(level);
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r') continue;
    if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === '{' || ch === '[') {
      // empty object/array stays on one line
      let j = i + 1;
      while (j < raw.length && /\s/.test(raw[j]!)) j++;
      if (raw[j] === (ch === '{' ? '}' : ']')) {
        out += ch + raw[j];
        i = j;
        continue;
      }
      level++;
      out += ch + nl();
    } else if (ch === '}' || ch === ']') {
      level--;
      out += nl() + ch;
    } else if (ch === ',') {
      out += ',' + nl();
    } else if (ch === ':') {
      out += ': ';
    } else {
      out += ch;
    }
  }
  return out;
}

/** sortorder.NaturalLess: digit runs compare as numbers. */
export function naturalLess(a: string, b: string): boolean {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = Number(x);
      const ny = Number(y);
      if (nx !== ny) return nx < ny;
      return x.length < y.length;
    }
    return x < y;
  }
  return pa.length < pb.length;
}

/** Sorts by `.Name` as the docker CLI's `network ls` and `volume ls` do (NaturalLess). */
export function byNaturalName(a: { Name: string }, b: { Name: string }): number {
  return naturalLess(a.Name, b.Name) ? -1 : naturalLess(b.Name, a.Name) ? 1 : 0;
}
