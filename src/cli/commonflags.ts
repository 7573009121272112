/**
 * Flags many commands share, word for word as the docker CLI 28 prints them in `--help`: the
 * list commands' `-f, --filter` and `--format`, and every prune's `--filter` and `-f, --force`.
 * One definition each, so that a command's help cannot drift from its siblings'.
 */
import type { FlagDef } from './flags.ts';

/** `-f, --filter` of a list command; `help` is the command's own sentence. */
export function filterFlag(help = 'Filter output based on conditions provided'): FlagDef {
  return { long: 'filter', short: 'f', type: 'list', valueName: 'filter', help };
}

/** `--format` of a list command that prints a table by default. */
export const TABLE_FORMAT_FLAG: FlagDef = {
  long: 'format',
  type: 'string',
  help: "Format output using a custom template:\n'table', 'json' or a Go template",
};

/** `--format` of a command that prints JSON or a template, no table (`-f` where `short` says). */
export function templateFormatFlag(short?: string): FlagDef {
  return {
    long: 'format',
    ...(short ? { short } : {}),
    type: 'string',
    help: "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template.",
  };
}

/** A prune's `--filter` (no `-f`: that is `--force` there) and `-f, --force`; `example` is its e.g. */
export function pruneFlags(example: string): FlagDef[] {
  return [
    { long: 'filter', type: 'list', valueName: 'filter', help: `Provide filter values (e.g. "${example}")` },
    { long: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ];
}
