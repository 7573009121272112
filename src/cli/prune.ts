/**
 * What every `prune` command does around its API call, in the docker CLI's words: ask unless
 * `--force`, then list what went under `Deleted <Things>:` and the space reclaimed. `container`,
 * `image`, `network`, `volume`, `builder` and `system prune` share it (their flags are
 * commonflags.ts's pruneFlags).
 */
import type { ImageDeleteItem } from '../client/index.ts';
import type { Cli } from './cli.ts';
import type { Flags } from './flags.ts';
import { humanSize } from './format.ts';

/** True to go on: `--force` was given, or the user answered yes to `warning`. */
export async function confirmPrune(cli: Cli, f: Flags, warning: string, sameLine = false): Promise<boolean> {
  return f.bool('force') || (await cli.confirm(warning, sameLine));
}

/** `Deleted Containers:` and one line per item, then a blank line; nothing when none went. */
export function deletedList(title: string, items: readonly string[] | null | undefined): string {
  return items?.length ? `${title}:\n${items.join('\n')}\n\n` : '';
}

/** An image prune's items as the CLI lists them (`untagged: ref`, `deleted: sha256:…`). */
export function imageDeletions(items: readonly ImageDeleteItem[] | null | undefined): string[] | undefined {
  return items?.map((i) => (i.Untagged ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`));
}

/** The last line of a prune (the legacy builder's wording too; BuildKit's is "Total:"). */
export function reclaimedLine(bytes: number): string {
  return `Total reclaimed space: ${humanSize(bytes, 4)}\n`;
}
