/**
 * Whether runc and crun can checkpoint here: they do it through CRIU, and what the host's CRIU
 * can do depends on its version and the kernel's. CRIU before 4.1 fails on kernels ≥ 6.13,
 * whose vDSO it does not know (criu#2532) — Debian 12's 3.17 among them; 4.1 works (on VMs
 * whose hardware breakpoints do not fire, with `CRIU_FAULT=130`). A rule, decided once from
 * `criu --version` and the kernel release, so that a checkpoint is refused with the reason
 * instead of failing halfway.
 */
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { HELPERS_DIR } from './executables.ts';
import type { CheckpointSupport } from './roles.ts';

/** CRIU 4.1 from Debian trixie under its own glibc, fetched by setup (scripts/trixie-tools.sh). */
const TRIXIE_CRIU = join(HELPERS_DIR, 'trixie', 'criu');

/** The CRIU runc checkpoints with by default: setup's trixie CRIU when it is there, else `criu` in PATH. */
export const defaultCriu = (): string => (existsSync(TRIXIE_CRIU) ? TRIXIE_CRIU : 'criu');

/**
 * Can the runtime `name` checkpoint here? runc and crun do it through CRIU, where the CRIU they
 * use can (`criuSupport`): runc runs the program, crun calls the library it was built with, if
 * it was (`+CRIU` in its version). Other runtimes here cannot.
 */
export async function checkpointSupportOf(
  name: string,
  runtimeVersion: () => Promise<string>,
  criuVersion: () => Promise<string>,
): Promise<CheckpointSupport> {
  if (!/^(runc|crun|berth-crun)$/.test(name)) return { supported: false, reason: `${name} cannot checkpoint` };
  if (name !== 'runc') {
    const v = await runtimeVersion().catch(() => '');
    if (!/\+CRIU\b/.test(v))
      return { supported: false, reason: 'crun here is built without CRIU: run the container with --runtime runc' };
  }
  return criuSupport(await criuVersion().catch(() => ''), release());
}

/** `criu --version`'s "Version: 3.17.1" as [3, 17, 1]; undefined when there is none. */
export function parseCriuVersion(text: string): number[] | undefined {
  const m = /Version:\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** A kernel release's "6.18.44-..." as [6, 18]. */
function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const before = (a: readonly number[], b: readonly number[]) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return false;
};

/** Can CRIU of `criuVersionText` (empty: not installed) checkpoint on kernel `release`? */
export function criuSupport(criuVersionText: string, release: string): CheckpointSupport {
  const v = parseCriuVersion(criuVersionText);
  if (!v) return { supported: false, reason: 'CRIU is not installed (runc and crun checkpoint through it)' };
  const k = kernelVersion(release);
  if (!before(k, [6, 13]) && before(v, [4, 1]))
    return {
      supported: false,
      reason: `CRIU ${v.join('.')} cannot checkpoint on kernel ${release} (it needs CRIU 4.1 or later on kernels from 6.13)`,
    };
  return { supported: true };
}
