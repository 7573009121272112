/**
 * The security options (see options.ts for what a `with*()` option is): Docker's capability
 * set with --cap-add/--cap-drop, --privileged, the masked and read-only paths and the shared
 * mask over masked directories, no-new-privileges, a read-only root file system, seccomp.
 * `withPrivileged` marks the spec, and the options after it ask `isPrivileged`: Docker ignores
 * --cap-add/--cap-drop and seccomp for a privileged container.
 */
import { failedPrecondition } from '../errdefs/index.ts';
import { DEFAULT_CAPABILITIES, normalizeCapability, tweakCapabilities } from './capabilities.ts';
import { seccompFor, type SeccompProfile } from './seccomp.ts';
import { late } from './spec.ts';
import { hostCapabilities, hostDevices, hostDirectory } from './sysinfo.ts';
import type { LinuxDevice, Spec, SpecOpt } from './types.ts';

// Specs that withPrivileged touched: Docker ignores --cap-add/--cap-drop and seccomp for them.
const privileged = new WeakSet<Spec>();

/** Whether `withPrivileged` was applied to this spec object. */
export function isPrivileged(s: Spec): boolean {
  return privileged.has(s);
}

/**
 * Sets the process's capabilities (withUser's too, which keeps the bounding set it finds).
 * Docker gives a non-root user only the bounding set: execve as non-root clears the
 * effective and permitted sets anyway (moby oci.SetCapabilities).
 */
export function setCaps(s: Spec, caps: readonly string[]): void {
  s.process.capabilities =
    s.process.user.uid === 0
      ? { bounding: [...caps], effective: [...caps], permitted: [...caps] }
      : { bounding: [...caps] };
}

/**
 * `--cap-add`/`--cap-drop` on Docker's default set (see `tweakCapabilities`). Ignored on a
 * privileged container, as Docker does.
 */
export const withCapabilities =
  (c: { add?: readonly string[]; drop?: readonly string[] }): SpecOpt =>
  (s) => {
    const caps = tweakCapabilities(DEFAULT_CAPABILITIES, c.add ?? [], c.drop ?? []);
    if (privileged.has(s)) return;
    // runc cannot grant what it does not hold ("unable to apply caps: operation not permitted"):
    // one asked for by name is an error now; a default the host lacks is left out quietly.
    const held = new Set(hostCapabilities());
    const named = new Set((c.add ?? []).map(normalizeCapability));
    const missing = caps.find((x) => !held.has(x) && named.has(x));
    if (missing)
      throw failedPrecondition(
        `add capability "${missing}": this host does not grant it to the daemon (it is not in its bounding set)`,
      );
    setCaps(
      s,
      caps.filter((x) => held.has(x)),
    );
  };

/**
 * `--privileged`: every capability this host can hand on, no seccomp, no masked or read-only
 * paths, every device allowed and the host's device nodes in /dev, /sys and the cgroup mount
 * writable. `devices` overrides the scan of the host's /dev (for tests).
 */
export const withPrivileged =
  (opts: { devices?: readonly LinuxDevice[] } = {}): SpecOpt =>
  (s) => {
    privileged.add(s);
    setCaps(s, hostCapabilities());
    delete s.linux.seccomp;
    s.linux.maskedPaths = [];
    s.linux.readonlyPaths = [];
    s.linux.resources = { ...s.linux.resources, devices: [{ allow: true, access: 'rwm' }] };
    const known = new Set((s.linux.devices ?? []).map((d) => d.path));
    s.linux.devices = [
      ...(s.linux.devices ?? []),
      ...(opts.devices ?? hostDevices()).filter((d) => !known.has(d.path)),
    ];
    for (const m of s.mounts) {
      if (m.type === 'sysfs' || m.type === 'cgroup' || m.type === 'cgroup2')
        m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
  };

/**
 * The paths masked (an empty file or tmpfs over them) and made read-only, replacing the defaults:
 * the Engine API's `HostConfig.MaskedPaths`/`ReadonlyPaths`, which the CRI sets per container.
 */
export const withMaskedPaths =
  (masked: readonly string[] | null | undefined, readonly: readonly string[] | null | undefined): SpecOpt =>
  (s) => {
    if (masked) s.linux.maskedPaths = [...masked];
    if (readonly) s.linux.readonlyPaths = [...readonly];
  };

/**
 * Masked directories of the kernel's (under /proc and /sys, where the host shows the same) bound
 * read-only from `empty`, one shared empty directory (the runtime's sharedMask), instead of a
 * tmpfs the runtime mounts on each: a bind makes no superblock (see runtime/crun.ts). Masked
 * files and paths elsewhere stay with the runtime. Late: after the masked paths are final.
 */
export const withSharedMask =
  (empty: string, isDirectory: (path: string) => boolean = hostDirectory): SpecOpt =>
  (s) => {
    // A path the container mounts something on keeps the runtime's mask over that mount.
    const taken = new Set(s.mounts.map((m) => m.destination));
    const bound = (s.linux.maskedPaths ?? []).filter(
      (p) => /^\/(proc|sys)\//.test(p) && !taken.has(p) && isDirectory(p),
    );
    if (!bound.length) return;
    s.linux.maskedPaths = s.linux.maskedPaths!.filter((p) => !bound.includes(p));
    for (const destination of bound)
      s.mounts.push({ destination, type: 'bind', source: empty, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  };

export const withNoNewPrivileges =
  (on = true): SpecOpt =>
  (s) => {
    s.process.noNewPrivileges = on;
  };

export const withReadonlyRootfs =
  (on = true): SpecOpt =>
  (s) => {
    s.root.readonly = on;
  };

/**
 * `--security-opt seccomp=...`: 'default' (Docker's default profile, seccomp-docker.ts),
 * 'unconfined', or a Docker-format profile (its JSON text, or parsed). Late: the filter
 * depends on the final bounding set. A privileged container stays unconfined, as in Docker.
 */
export const withSeccomp = (profile: 'default' | 'unconfined' | string | SeccompProfile): SpecOpt =>
  late((s) => {
    if (profile === 'unconfined' || privileged.has(s)) {
      delete s.linux.seccomp;
      return;
    }
    s.linux.seccomp = seccompFor(s.process.capabilities?.bounding ?? [], profile === 'default' ? undefined : profile);
  });
