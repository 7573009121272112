import { readFileSync } from 'node:fs';
import { invalidArgument } from '../errdefs/index.ts';

/** Docker's default capability set (moby daemon/pkg/oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** Every capability the kernel knows, by number. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

function normalise(name: string): string {
  const up = name.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const cap = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!(ALL_CAPABILITIES as readonly string[]).includes(cap)) throw invalidArgument(`unknown capability: "${name}"`);
  return cap;
}

/**
 * Docker's rules (moby oci/caps TweakCapabilities): start from the defaults; `ALL` in drop empties
 * the set before adds; `ALL` in add means every capability; otherwise drops then adds.
 */
export function tweakCapabilities(base: readonly string[], add: readonly string[], drop: readonly string[]): string[] {
  const adds = add.map(normalise);
  const drops = drop.map(normalise);
  if (adds.includes('ALL')) return [...ALL_CAPABILITIES].filter((c) => !drops.includes(c));
  let caps = drops.includes('ALL') ? [] : base.filter((c) => !drops.includes(c));
  for (const c of adds) if (!caps.includes(c)) caps.push(c);
  caps = ALL_CAPABILITIES.filter((c) => caps.includes(c));
  return caps;
}

let held: string[] | undefined;
/**
 * The capabilities this process may hand on (its bounding set): `--privileged` gets these, as
 * Docker does, since asking runc for one the host lacks fails the start.
 */
export function hostCapabilities(): string[] {
  if (!held) {
    const m = readFileSync('/proc/self/status', 'utf8').match(/^CapBnd:\s*([0-9a-f]+)$/m);
    const mask = m ? BigInt(`0x${m[1]}`) : (1n << BigInt(ALL_CAPABILITIES.length)) - 1n;
    held = ALL_CAPABILITIES.filter((_c, i) => (mask >> BigInt(i)) & 1n);
  }
  return held;
}
