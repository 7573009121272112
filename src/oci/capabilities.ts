import { invalidArgument } from '../errdefs/index.ts';
import { ALL_CAPABILITIES, hostCapabilities } from './sysinfo.ts';

/** Docker's default capability set, in Docker's order (moby daemon/pkg/oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

/**
 * `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN; `all` is `ALL`. An
 * unknown name is an InvalidArgument in Docker's words (`unknown capability: "CAP_FOO"`).
 */
export function normalizeCapability(name: string): string {
  const up = name.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const cap = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!(ALL_CAPABILITIES as readonly string[]).includes(cap)) throw invalidArgument(`unknown capability: "${cap}"`);
  return cap;
}

/**
 * Docker's `--cap-add`/`--cap-drop` rules (moby caps.TweakCapabilities):
 * - `ALL` in add: every capability in `all`, less the drops;
 * - else `ALL` in drop: exactly the adds;
 * - else `base` less the drops, then the adds.
 * `all` is what "every capability" means: by default those this host can hand on.
 * The order is kept (base order, then adds); duplicates are dropped.
 */
export function tweakCapabilities(
  base: readonly string[],
  add: readonly string[],
  drop: readonly string[],
  all: readonly string[] = hostCapabilities(),
): string[] {
  const adds = add.map(normalizeCapability);
  const drops = new Set(drop.map(normalizeCapability));
  let caps: string[];
  if (adds.includes('ALL')) caps = all.filter((c) => !drops.has(c));
  else if (drops.has('ALL')) caps = adds;
  else caps = [...base.filter((c) => !drops.has(c)), ...adds];
  return [...new Set(caps)];
}
