/** Output helpers that match the docker CLI: sizes in units of 1000, "2 hours ago", tables. */
import { humanDuration } from '../spec/index.ts';

export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let n = bytes;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))}${units[i]}`;
}

export function ago(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

/** Columns separated by at least three spaces, as Go's tabwriter does for docker. */
export function table(rows: string[][]): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

/**
 * A small Go-template subset for `--format`: `{{.Field}}`, `{{.A.B}}`, `{{json .X}}`,
 * `{{index .Labels "k"}}`, `table` prefix, `\t`; and the `json` shorthand.
 */
export function render(template: string, obj: unknown): string {
  if (template === 'json') return JSON.stringify(obj);
  const t = template.replace(/^table\s*/, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return t.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    const json = expr.match(/^json\s+(\S+)$/);
    if (json) return JSON.stringify(lookup(obj, json[1]!) ?? null);
    const idx = expr.match(/^index\s+(\S+)\s+"([^"]*)"$/);
    if (idx) return stringify((lookup(obj, idx[1]!) as Record<string, unknown> | undefined)?.[idx[2]!]);
    return stringify(lookup(obj, expr));
  });
}

function lookup(obj: unknown, path: string): unknown {
  if (path === '.') return obj;
  let cur = obj as Record<string, unknown> | undefined;
  for (const k of path.replace(/^\./, '').split('.')) cur = cur?.[k] as Record<string, unknown> | undefined;
  return cur;
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v).map(([k, x]) => `${k}:${String(x)}`).join(' ')}]`;
  return String(v);
}
