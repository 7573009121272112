/**
 * Test support: a tiny OCI bundle (busybox-static as the whole root file system) and a minimal
 * hand-written config.json, enough for runc to run a shell. Used by this module's real tests
 * and the runtime suite, through testing.ts; not part of the public surface.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

export interface TestBundleOptions {
  id: string;
  args: string[];
  /** Where the bundle goes; `rootfs/` and `config.json` are written inside. */
  dir: string;
  /** Memory limit in bytes, for OOM tests. */
  memoryLimit?: number;
  /** A shared rootfs to reuse instead of building one per bundle (runc mounts it read-only). */
  rootfs?: string;
  /** Give the container a pid namespace of its own (default true). Without one, its init dies of SIGTERM like any process. */
  pidNamespace?: boolean;
  /** Give the process a terminal (runc then wants a console socket: conmon's `-t`). */
  terminal?: boolean;
}

const APPLETS = ['sh', 'echo', 'sleep', 'cat', 'true', 'false', 'yes', 'head', 'dd', 'ls', 'kill', 'trap'];

/** Makes `<dir>/bin/busybox` and applet links. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  await fs.mkdir(join(dir, 'bin'), { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc']) await fs.mkdir(join(dir, d), { recursive: true });
  await fs.copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  await fs.chmod(join(dir, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) await fs.symlink('busybox', join(dir, 'bin', a)).catch(() => {});
  return dir;
}

export async function makeTestBundle(o: TestBundleOptions): Promise<string> {
  await fs.mkdir(o.dir, { recursive: true });
  const rootfs = o.rootfs ?? (await makeBusyboxRootfs(join(o.dir, 'rootfs')));
  const caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_SETUID', 'CAP_SETGID', 'CAP_NET_BIND_SERVICE'];
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: !!o.terminal,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: ['PATH=/bin'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: 'berth-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      ...(o.terminal
        ? [
            {
              destination: '/dev/pts',
              type: 'devpts',
              source: 'devpts',
              options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
            },
          ]
        : []),
    ],
    linux: {
      cgroupsPath: `/berth-test/${o.id}`,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        ...(o.memoryLimit ? { memory: { limit: o.memoryLimit } } : {}),
      },
      namespaces: [
        ...(o.pidNamespace === false ? [] : [{ type: 'pid' }]),
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'network' },
      ],
      maskedPaths: ['/proc/kcore', '/sys/firmware'],
      readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  await fs.writeFile(join(o.dir, 'config.json'), JSON.stringify(config));
  return o.dir;
}
