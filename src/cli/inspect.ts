/** `inspect` for every object kind, and the per-kind `container inspect`, `image inspect` … */
import { isNotFound } from '../client/index.ts';
import type { Cli, Command } from './cli.ts';
import { StatusError, describeError } from './cli.ts';
import { indentJson } from './format.ts';
import { Template, TemplateError } from './template.ts';

export type Kind = 'container' | 'image' | 'network' | 'volume';

async function fetchRaw(cli: Cli, kind: Kind, ref: string, size: boolean): Promise<string> {
  const c = cli.client;
  switch (kind) {
    case 'container':
      return (await c.containerInspectRaw(ref, { size })).raw;
    case 'image':
      return (await c.imageInspectRaw(ref)).raw;
    case 'network':
      return (await c.networkInspectRaw(ref)).raw;
    case 'volume':
      return (await c.volumeInspectRaw(ref)).raw;
  }
}

/** Prints raw JSON documents as docker does: one indented array, or the template per element. */
export function printInspect(cli: Cli, raws: string[], format: string | undefined): void {
  if (!format) {
    cli.out(raws.length ? `${indentJson(`[${raws.join(',')}]`)}\n` : '[]\n');
    return;
  }
  let tmpl: Template;
  try {
    tmpl = new Template(format);
  } catch (e) {
    throw new StatusError(1, `template parsing error: ${(e as Error).message}`);
  }
  for (const raw of raws) {
    try {
      cli.out(`${tmpl.execute(JSON.parse(raw))}\n`);
    } catch (e) {
      if (e instanceof TemplateError)
        throw new StatusError(1, `template: ${(e as Error).message.replace(/^template: /, '')}`);
      throw e;
    }
  }
}

/** Inspects refs of one kind (or, with kind undefined, the first kind that knows the ref). */
export async function inspectRefs(
  cli: Cli,
  refs: string[],
  kinds: Kind[],
  format: string | undefined,
  size = false,
): Promise<number> {
  const raws: string[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    let found: string | undefined;
    let lastErr: unknown;
    for (const kind of kinds) {
      try {
        found = await fetchRaw(cli, kind, ref, size);
        break;
      } catch (e) {
        if (!isNotFound(e)) {
          lastErr = e;
          break;
        }
        lastErr = e;
      }
    }
    if (found !== undefined) raws.push(found);
    else if (kinds.length > 1 && isNotFound(lastErr)) errors.push(`Error: No such object: ${ref}`);
    else errors.push(describeError(lastErr));
  }
  printInspect(cli, raws, format);
  if (errors.length) throw new StatusError(1, errors.join('\n'));
  return 0;
}

const FORMAT_FLAG = {
  long: 'format',
  short: 'f',
  type: 'string' as const,
  help: "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template.",
};

export function inspectCommand(kind: Kind): Command {
  const what = { container: 'CONTAINER', image: 'IMAGE', network: 'NETWORK', volume: 'VOLUME' }[kind];
  return {
    spec: {
      usage: `[OPTIONS] ${what} [${what}...]`,
      description: `Display detailed information on one or more ${kind}s`,
      args: { min: 1 },
      flags:
        kind === 'container'
          ? [FORMAT_FLAG, { long: 'size', short: 's', type: 'bool', help: 'Display total file sizes' }]
          : kind === 'network'
            ? [FORMAT_FLAG, { long: 'verbose', short: 'v', type: 'bool', help: 'Verbose output for diagnostics' }]
            : [FORMAT_FLAG],
    },
    run: (cli, f, args) =>
      inspectRefs(cli, args, [kind], formatArg(f.str('format')), kind === 'container' && f.bool('size')),
  };
}

/** `--format json` prints the documents as JSON, one a line, like `{{json .}}`. */
function formatArg(f: string | undefined): string | undefined {
  if (f === 'json') return '{{json .}}';
  return f || undefined;
}

export const inspect: Command = {
  spec: {
    usage: '[OPTIONS] NAME|ID [NAME|ID...]',
    description: 'Return low-level information on Berth objects',
    args: { min: 1 },
    flags: [
      FORMAT_FLAG,
      { long: 'size', short: 's', type: 'bool', help: 'Display total file sizes if the type is container' },
      { long: 'type', type: 'string', help: 'Only inspect objects of the given type' },
    ],
  },
  async run(cli, f, args) {
    const t = f.str('type');
    const all: Kind[] = ['container', 'image', 'network', 'volume'];
    if (t && !all.includes(t as Kind)) throw new StatusError(1, `"${t}" is not a valid value for --type`);
    return inspectRefs(cli, args, t ? [t as Kind] : all, formatArg(f.str('format')), f.bool('size'));
  },
};
