/**
 * The `with*()` options: each returns a `SpecOpt` that changes only its own part of a spec and
 * throws a `BerthError` when the request cannot work on this host (so the user hears it at
 * create time, not as a runc failure at start).
 *
 * This file has the process (its command, environment, user, terminal), the container's names
 * and cgroup path, its sysctls and namespaces; beside it, by concern: security.ts
 * (capabilities, --privileged, masked paths, seccomp), resources.ts (cgroup limits and
 * rlimits), mounts.ts (mounts, /dev/shm, devices, the init binary).
 */
import { posix } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import { setCaps } from './security.ts';
import { late } from './spec.ts';
import type { IdMap } from '../spec/index.ts';
import type { NamespaceType, SpecOpt } from './types.ts';

/** The bundle's root file system: a path relative to the bundle, or absolute. */
export const withRootfs =
  (path: string, readonly = false): SpecOpt =>
  (s) => {
    s.root = { path, readonly };
  };

export const withProcessArgs =
  (args: readonly string[]): SpecOpt =>
  (s) => {
    if (args.length === 0) throw invalidArgument('no command specified');
    s.process.args = [...args];
  };

/**
 * Sets environment variables over those already there (the default PATH, or an earlier
 * withEnv): `K=V` replaces K or appends it; a bare `K` removes K, as Docker does with `-e K`
 * when the client has no K.
 */
export const withEnv =
  (env: readonly string[]): SpecOpt =>
  (s) => {
    const out = [...(s.process.env ?? [])];
    const keyOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
    for (const e of env) {
      const k = keyOf(e);
      const i = out.findIndex((x) => keyOf(x) === k);
      if (!e.includes('=')) {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = e;
      else out.push(e);
    }
    s.process.env = out;
  };

export const withCwd =
  (cwd: string): SpecOpt =>
  (s) => {
    if (!cwd.startsWith('/'))
      throw invalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
    s.process.cwd = posix.normalize(cwd);
  };

/**
 * The process's ids (from `resolveUser`). A non-root uid keeps only the bounding set of
 * capabilities, whichever of this and the capability options comes first.
 */
export const withUser =
  (u: { uid: number; gid: number; additionalGids?: readonly number[] }): SpecOpt =>
  (s) => {
    for (const id of [u.uid, u.gid, ...(u.additionalGids ?? [])]) {
      if (!Number.isInteger(id) || id < 0 || id > 2 ** 31 - 1)
        throw invalidArgument(`uids and gids must be in range 0-${2 ** 31 - 1}`);
    }
    s.process.user = processUser(u);
    const bounding = s.process.capabilities?.bounding;
    if (bounding) setCaps(s, bounding);
  };

/**
 * The OCI process user of resolved ids. The primary group leads the supplementary ones, as
 * dockerd and containerd put it since CVE-2023-25173 (GHSA-hmfx-3pcx-653p): without it,
 * `setgroups` drops the primary group from the list, and a file whose group permissions deny
 * more than its other permissions is opened through "other" (`id` shows
 * `groups=0(root),10(wheel)` in busybox under dockerd 20.10, as here).
 */
export function processUser(u: { uid: number; gid: number; additionalGids?: readonly number[] }): {
  uid: number;
  gid: number;
  additionalGids: number[];
} {
  return { uid: u.uid, gid: u.gid, additionalGids: [...new Set([u.gid, ...(u.additionalGids ?? [])])] };
}

/** Adds supplementary groups (`--group-add`) to those the user already has. */
export const withAdditionalGids =
  (gids: readonly number[]): SpecOpt =>
  (s) => {
    const all = [...new Set([...(s.process.user.additionalGids ?? []), ...gids])];
    if (all.length) s.process.user.additionalGids = all;
  };

export const withHostname =
  (hostname: string, domainname = ''): SpecOpt =>
  (s) => {
    s.hostname = hostname;
    if (domainname) s.domainname = domainname;
    else delete s.domainname;
  };

export const withTerminal =
  (terminal: boolean): SpecOpt =>
  (s) => {
    s.process.terminal = terminal;
  };

/** `/berth/<id>` for the cgroupfs driver, `slice:prefix:name` for systemd's. */
export const withCgroupsPath =
  (path: string): SpecOpt =>
  (s) => {
    s.linux.cgroupsPath = path;
  };

/**
 * No cgroup of the container's own (rootless berthd on cgroup v1): runc, rootless, ignores its
 * cgroup errors only when no path was asked for.
 */
export const withoutCgroup = (): SpecOpt => (s) => {
  delete s.linux.cgroupsPath;
};

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/**
 * `--sysctl`: only the namespaced ones Docker accepts (IPC: kernel.msg*, kernel.sem,
 * kernel.shm*, fs.mqueue.*; network: net.*, not with the host's network). Late, to see the
 * final namespaces.
 */
export const withSysctl = (sysctl: Readonly<Record<string, string>>): SpecOpt =>
  late((s) => {
    const has = (t: NamespaceType) => s.linux.namespaces.find((n) => n.type === t);
    for (const k of Object.keys(sysctl)) {
      if (k.startsWith('net.')) {
        const net = has('network');
        if (!net) throw invalidArgument(`sysctl "${k}" is not allowed in the host network namespace`);
      } else if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) {
        if (!has('ipc')) throw invalidArgument(`sysctl "${k}" is not allowed in the host IPC namespace`);
      } else {
        throw invalidArgument(
          `sysctl "${k}" is not allowed: only namespaced sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) can be set`,
        );
      }
    }
    s.linux.sysctl = { ...s.linux.sysctl, ...sysctl };
  });

/** Creates a new namespace of `type` (e.g. 'cgroup' for `--cgroupns private` on v1). */
export const withNamespace =
  (type: NamespaceType): SpecOpt =>
  (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type).concat({ type });
  };

/** Shares the host's namespace of `type` (`--network host`, `--pid host`, `--ipc host`, `--uts host`). */
export const withoutNamespace =
  (type: NamespaceType): SpecOpt =>
  (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type);
    // A hostname can only be set in a UTS namespace of the container's own.
    if (type === 'uts') {
      delete s.hostname;
      delete s.domainname;
    }
  };

/**
 * `berthd --userns-remap`: a user namespace of the container's own, whose ids stand for the
 * host's subordinate ranges (the runtime writes the maps before the process runs).
 */
export const withUserNamespace =
  (map: IdMap): SpecOpt =>
  (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'user').concat({ type: 'user' });
    s.linux.uidMappings = map.uids.map((r) => ({ ...r }));
    s.linux.gidMappings = map.gids.map((r) => ({ ...r }));
  };

/** Joins an existing namespace (`--network container:<id>`: `/proc/<pid>/ns/net`). */
export const withNamespacePath =
  (type: NamespaceType, path: string): SpecOpt =>
  (s) => {
    if (!path.startsWith('/')) throw invalidArgument(`namespace path ${JSON.stringify(path)} must be absolute`);
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type).concat({ type, path });
    // A joined UTS namespace keeps the name its owner gave it: the runtime must not set one.
    if (type === 'uts') {
      delete s.hostname;
      delete s.domainname;
    }
  };
