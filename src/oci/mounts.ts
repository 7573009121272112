/**
 * The file-system options (see options.ts for what a `with*()` option is): mounts (binds,
 * volumes, tmpfs, the /etc files) in Docker's order and propagation, the size of /dev/shm, host
 * devices (`--device`), and the init binary (`--init`).
 */
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import { late } from './spec.ts';
import { deviceNumbers } from './sysinfo.ts';
import type { LinuxDevice, Mount, SpecOpt } from './types.ts';

const depth = (dest: string) => dest.split('/').filter(Boolean).length;

/**
 * Adds mounts (binds, volumes, tmpfs, the /etc files). A mount replaces any already at its
 * destination; one at /dev also replaces the default mounts under /dev. The new mounts are
 * put parents first (by path depth, otherwise in the order given), as Docker sorts them.
 */
export const withMounts =
  (mounts: readonly Mount[]): SpecOpt =>
  (s) => {
    const added = mounts.map((m) => {
      if (!m.destination.startsWith('/'))
        throw invalidArgument(
          `invalid mount config: mount destination ${JSON.stringify(m.destination)} is not an absolute path`,
        );
      return {
        ...m,
        destination: posix.normalize(m.destination).replace(/(.)\/$/, '$1'),
        ...(m.options ? { options: [...m.options] } : {}),
      };
    });
    const dests = new Set(added.map((m) => m.destination));
    const overDev = dests.has('/dev');
    const kept = s.mounts.filter((m) => !dests.has(m.destination) && !(overDev && m.destination.startsWith('/dev/')));
    s.mounts = [
      ...kept,
      ...added
        .map((m, i) => ({ m, i }))
        .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
        .map((x) => x.m),
    ];
    // Docker's rule: a shared bind needs a shared root, a slave one at least an rslave root.
    const props = added.flatMap((m) => m.options ?? []);
    const root = s.linux.rootfsPropagation ?? '';
    if (props.some((o) => o === 'shared' || o === 'rshared')) {
      if (!root.endsWith('shared')) s.linux.rootfsPropagation = 'shared';
    } else if (props.some((o) => o === 'slave' || o === 'rslave') && !/(shared|slave)$/.test(root))
      s.linux.rootfsPropagation = 'rslave';
  };

/** `--shm-size` in bytes, on the default /dev/shm tmpfs. */
export const withShmSize =
  (bytes: number): SpecOpt =>
  (s) => {
    if (!Number.isSafeInteger(bytes) || bytes <= 0)
      throw invalidArgument(`invalid shm size ${bytes}: must be a positive number of bytes`);
    const shm = s.mounts.find((m) => m.destination === '/dev/shm' && m.type === 'tmpfs');
    if (shm) shm.options = [...(shm.options ?? []).filter((o) => !o.startsWith('size=')), `size=${bytes}`];
  };

/**
 * `--device PATH_ON_HOST[:PATH_IN_CONTAINER[:PERMISSIONS]]`: the host's device node (its type,
 * numbers, mode and owner) made in the container, and allowed in the device cgroup with the
 * permissions given (rwm by default). Docker's errors for a path that is not a device.
 */
export const withDevice =
  (hostPath: string, containerPath: string, permissions = 'rwm'): SpecOpt =>
  (s) => {
    if (!/^[rwm]{1,3}$/.test(permissions)) throw invalidArgument(`invalid device mode: ${permissions}`);
    if (!containerPath.startsWith('/')) throw invalidArgument(`${containerPath} is not an absolute path`);
    let st;
    try {
      st = statSync(hostPath, { bigint: true });
    } catch (e) {
      throw invalidArgument(
        `error gathering device information while adding custom device "${hostPath}": no such file or directory`,
        e,
      );
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice())
      throw invalidArgument(
        `error gathering device information while adding custom device "${hostPath}": not a device node`,
      );
    const { major, minor } = deviceNumbers(st.rdev);
    const dev: LinuxDevice = {
      path: containerPath,
      type: st.isCharacterDevice() ? 'c' : 'b',
      major,
      minor,
      fileMode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
    };
    s.linux.devices = (s.linux.devices ?? [])
      .filter((d) => d.path !== containerPath)
      .concat({ ...dev, path: containerPath });
    s.linux.resources = {
      ...s.linux.resources,
      devices: [
        ...(s.linux.resources?.devices ?? []),
        { allow: true, type: dev.type as 'c' | 'b', major: dev.major, minor: dev.minor, access: permissions },
      ],
    };
  };

/** Where Docker puts the init binary in the container. */
export const INIT_PATH = '/sbin/docker-init';

/**
 * Docker's `--init`: the host's init binary (tini, e.g. Debian's /usr/bin/tini-static) is
 * bind-mounted read-only at /sbin/docker-init and runs the process as its child:
 * `/sbin/docker-init -- <args>`. Late, so it wraps the final argv.
 */
export const withInit = (initPath: string): SpecOpt =>
  late((s) => {
    if (!initPath.startsWith('/')) throw invalidArgument(`init path ${JSON.stringify(initPath)} must be absolute`);
    s.mounts = s.mounts
      .filter((m) => m.destination !== INIT_PATH)
      .concat({ destination: INIT_PATH, type: 'bind', source: initPath, options: ['bind', 'ro'] });
    if (s.process.args[0] !== INIT_PATH) s.process.args = [INIT_PATH, '--', ...s.process.args];
  });
