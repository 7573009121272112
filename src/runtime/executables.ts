/**
 * Where the runtimes' programs are: Berth's own helpers in the checkout's build/, the rest on
 * PATH, each checked to be executable once, at a driver's init.
 */
import { constants, existsSync, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { notFound } from '../errdefs/index.ts';

/** Berth's own helpers, compiled by `npm run setup` into the checkout's build/. */
export const HELPERS_DIR = join(import.meta.dirname, '..', '..', 'build');

/**
 * The crun binary: `$BERTH_CRUN`, else the one setup builds from Debian's source without
 * libsystemd (build/crun, scripts/crun-build.sh: the same version, one shared library to load
 * instead of ten, ~half the CPU before main on every create), else Debian's /usr/bin/crun.
 */
export function crunBinary(): string {
  const built = join(HELPERS_DIR, 'crun');
  return process.env.BERTH_CRUN || (existsSync(built) ? built : '/usr/bin/crun');
}
export async function absolutePath(cmd: string): Promise<string> {
  if (cmd.includes('/')) {
    try {
      await fs.access(cmd, constants.X_OK);
      return cmd;
    } catch (e) {
      if (dirname(cmd) === HELPERS_DIR) throw notFound(`${cmd} is missing: build it with \`npm run setup\``, e);
      throw notFound(`"${cmd}" is missing or not executable: ${(e as Error).message}`, e);
    }
  }
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      await fs.access(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  throw notFound(`"${cmd}" not found in PATH: install it (npm run setup)`);
}
