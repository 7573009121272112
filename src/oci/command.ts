import { invalidArgument } from '../errdefs/index.ts';

/**
 * The argv of a container by Docker's rules: a given entrypoint replaces the image's and drops
 * its CMD; a given CMD replaces the image's CMD; the result is entrypoint + cmd.
 */
export function combineCommand(c: {
  imageEntrypoint?: readonly string[] | null;
  imageCmd?: readonly string[] | null;
  entrypoint?: readonly string[];
  cmd?: readonly string[];
  entrypointSet: boolean;
}): string[] {
  const entrypoint = c.entrypointSet ? (c.entrypoint ?? []) : (c.imageEntrypoint ?? []);
  const cmd = c.cmd ?? (c.entrypointSet ? [] : (c.imageCmd ?? []));
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw invalidArgument('no command specified');
  return argv;
}
