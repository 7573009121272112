import { invalidArgument } from '../errdefs/index.ts';

export interface CommandParts {
  imageEntrypoint?: readonly string[] | null;
  imageCmd?: readonly string[] | null;
  /** The request's entrypoint; only read when `entrypointSet`. */
  entrypoint?: readonly string[] | null;
  /** The request's CMD; absent or empty means "not given". */
  cmd?: readonly string[] | null;
  /** The request named an entrypoint (`--entrypoint`, even `--entrypoint ""`). */
  entrypointSet: boolean;
}

/**
 * The argv of a container by Docker's rules (moby daemon/commit.go merge, then
 * mergeAndVerifyConfig):
 * - no entrypoint given: the image's entrypoint, then the given CMD or else the image's;
 * - an empty entrypoint given (`[]`): no entrypoint, the given CMD or else the image's;
 * - `[""]` (what `docker run --entrypoint ""` sends): no entrypoint and only the given CMD;
 * - any other entrypoint: it replaces the image's and drops the image's CMD.
 * Nothing left to run is an InvalidArgument "no command specified".
 */
export function combineCommand(c: CommandParts): string[] {
  let entrypoint: readonly string[] | undefined = c.entrypointSet ? (c.entrypoint ?? []) : undefined;
  let cmd: readonly string[] = c.cmd ?? [];
  if (!entrypoint || entrypoint.length === 0) {
    if (cmd.length === 0) cmd = c.imageCmd ?? [];
    if (entrypoint === undefined) entrypoint = c.imageEntrypoint ?? [];
  }
  // Docker resets a lone empty string after merging, so it never pulls in the image's CMD.
  if (entrypoint.length === 1 && entrypoint[0] === '') entrypoint = [];
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw invalidArgument('no command specified');
  return argv;
}
