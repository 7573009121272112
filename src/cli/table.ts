/**
 * docker's formatter: a list of row contexts printed through `--format` (a Go template, `table
 * <template>`, or `json`), or through the command's default table, with the header row taken
 * from the template run over the header names.
 */
import { Template, MARSHAL } from './template.ts';
import { goJson, tabwrite } from './format.ts';
import type { Cli } from './cli.ts';

export type Row = Record<string, unknown>;

/** Makes a row context: plain fields plus methods; `{{json .}}` marshals `json()`'s value with sorted keys. */
export function rowContext<T extends Row>(fields: T, json: () => Record<string, unknown>): T {
  Object.defineProperty(fields, MARSHAL, {
    enumerable: false,
    value: () => {
      const o = json();
      return goJson(
        Object.fromEntries(
          Object.keys(o)
            .sort()
            .map((k) => [k, o[k]]),
        ),
      );
    },
  });
  return fields;
}

export interface FormatSpec {
  /** `--format` as given ('' when absent). */
  format: string;
  /** Used for '' and 'table'. */
  defaultTable: string;
  /** Field name → header text. */
  headers: Record<string, string>;
  /** Template for -q. */
  quiet?: string;
  isQuiet?: boolean;
  /** A table without its header row (Podman's `--noheading`), its columns aligned as with it. */
  noHeader?: boolean;
  /** tabwriter settings (docker: 10, 3). */
  minwidth?: number;
  padding?: number;
}

/** Docker's preFormat: strip `table`, trim spaces, turn `\t` and `\n` escapes into characters. */
export function prepareFormat(format: string): { table: boolean; json: boolean; template: string } {
  if (format === 'json') return { table: false, json: true, template: '{{json .}}' };
  const table = format.startsWith('table');
  let t = table ? format.slice(5) : format;
  t = t
    .replace(/^ +| +$/g, '')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
  return { table, json: false, template: t };
}

export function formatRows(rows: Row[], spec: FormatSpec): string {
  let format = spec.format;
  if (spec.isQuiet && spec.quiet) format = spec.quiet;
  else if (format === '' || format === 'table') format = spec.defaultTable;
  const p = prepareFormat(format);
  const tmpl = new Template(p.template);
  let body = '';
  for (const r of rows) body += tmpl.execute(r) + '\n';
  if (!p.table) return body;
  const headerCtx: Row = { ...spec.headers };
  headerCtx.Label = () => 'LABEL';
  if (spec.noHeader) return tabwrite(body, spec.minwidth ?? 10, spec.padding ?? 3);
  const header = tmpl.execute(headerCtx, { header: true });
  return tabwrite(header + '\n' + body, spec.minwidth ?? 10, spec.padding ?? 3);
}

export function printRows(cli: Cli, rows: Row[], spec: FormatSpec): void {
  cli.out(formatRows(rows, spec));
}
