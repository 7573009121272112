/**
 * Base images made offline: busybox from Debian's busybox-static, Debian from debootstrap.
 * Both build a root file system in a scratch directory under `<data-root>/tmp`, pack it as one
 * layer and record an ordinary image.
 *
 * The busybox image is reproducible: every entry gets the busybox binary's own mtime, modes
 * are set explicitly (no umask leaks in), entries are packed sorted, and the config's times
 * are that same mtime; bootstrapping twice gives the same image ID and reuses the layer.
 *
 * debootstrap runs in its own mount and PID namespaces, with the daemon's death as its kill
 * signal: the proc/sys mounts it makes in the target never appear on the host, and a daemon
 * crash kills the whole tree, so the scratch directory is plain files the next start removes.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { invalidArgument, unavailable } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';
import { tarDirectory } from '../archive/index.ts';
import { hostPlatform, parseReference, familiarString, type ImageConfig } from '../spec/index.ts';
import type { Progress } from './progress.ts';
import type { ImageStore, Image } from './store.ts';

export const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEBIAN_SUITES: readonly string[] = ['bookworm', 'trixie', 'bullseye'];
const BUSYBOX = '/bin/busybox';
const MIRROR = 'http://deb.debian.org/debian';

export interface BootstrapDeps {
  store: ImageStore;
  host: Host;
  /** Scratch space on the data root's file system. */
  tmp: string;
  /** The busybox-static binary to use (tests may point elsewhere). */
  busybox?: string;
  /** The Debian mirror for debootstrap. */
  mirror?: string;
}

/** Which images `bootstrap` can make, checked before any work. */
export function bootstrapKind(ref: string): { kind: 'busybox' | 'debian'; tag: string; name: string } {
  let parsed;
  try {
    parsed = parseReference(ref);
  } catch (e) {
    throw invalidArgument(`bootstrap "${ref}": invalid reference`, e);
  }
  if (parsed.digest !== undefined)
    throw invalidArgument(`bootstrap "${ref}": a digest cannot be bootstrapped, name a tag`);
  const repo = familiarString({ domain: parsed.domain, path: parsed.path });
  const tag = parsed.tag ?? 'latest';
  if (repo === 'busybox') return { kind: 'busybox', tag, name: familiarString(parsed) };
  if (repo === 'debian') {
    const suite = tag === 'latest' ? 'bookworm' : tag;
    if (!DEBIAN_SUITES.includes(suite)) {
      throw invalidArgument(`bootstrap "${ref}": unknown Debian suite "${suite}" (known: ${DEBIAN_SUITES.join(', ')})`);
    }
    return { kind: 'debian', tag: suite, name: familiarString(parsed) };
  }
  throw invalidArgument(
    `bootstrap "${ref}": only busybox[:tag] and debian:<suite> (${DEBIAN_SUITES.join(', ')}) can be made offline`,
  );
}

export async function bootstrap(ref: string, d: BootstrapDeps, progress: Progress): Promise<Image> {
  const what = bootstrapKind(ref);
  await fs.mkdir(d.tmp, { recursive: true });
  const work = join(d.tmp, `bootstrap-${randomBytes(6).toString('hex')}`);
  const rootfs = join(work, 'rootfs');
  await fs.mkdir(rootfs, { recursive: true, mode: 0o755 });
  await fs.chmod(rootfs, 0o755);
  try {
    let config: ImageConfig;
    let mtime: Date | undefined;
    if (what.kind === 'busybox') {
      progress({ status: 'Building rootfs from busybox-static', id: what.tag });
      const { mtime: m, version } = await busyboxRootfs(rootfs, d.busybox ?? BUSYBOX, d.host);
      mtime = m;
      config = baseConfig(['sh'], m, `BusyBox ${version} (static), from Debian's busybox-static`);
    } else {
      const mirror = d.mirror ?? MIRROR;
      progress({ status: `Running debootstrap --variant=minbase ${what.tag} ${mirror}`, id: what.tag });
      await debootstrap(rootfs, what.tag, mirror, d.host, progress);
      config = baseConfig(['bash'], new Date(), `debootstrap --variant=minbase ${what.tag} ${mirror}`);
    }
    progress({ status: 'Packing layer', id: what.tag });
    let shown = 0;
    const layer = await d.store.snapshots.addLayer(null, tarDirectory(rootfs, { mtime }), {
      onBytes: (b) => {
        if (b - shown >= 4 << 20) {
          shown = b;
          progress({ status: 'Packing layer', id: what.tag, progressDetail: { current: b } });
        }
      },
    });
    config.rootfs = { type: 'layers', diff_ids: [layer.diffId] };
    const img = await d.store.create(Buffer.from(JSON.stringify(config)));
    d.store.tag(img.id, what.name);
    return d.store.get(img.id);
  } finally {
    await fs.rm(work, { recursive: true, force: true, maxRetries: 3 });
  }
}

function baseConfig(cmd: string[], created: Date, createdBy: string): ImageConfig {
  const { architecture, os } = hostPlatform();
  const at = created.toISOString();
  return {
    architecture,
    os,
    created: at,
    config: { Env: [PATH_ENV], Cmd: cmd },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [
      { created: at, created_by: createdBy },
      { created: at, created_by: `CMD ${JSON.stringify(cmd)}`, empty_layer: true },
    ],
  };
}

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'bin:x:2:2:bin:/bin:/bin/false',
  'sys:x:3:3:sys:/dev:/bin/false',
  'sync:x:4:100:sync:/bin:/bin/sync',
  'mail:x:8:8:mail:/var/spool/mail:/bin/false',
  'www-data:x:33:33:www-data:/var/www:/bin/false',
  'operator:x:37:37:Operator:/var:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
];
const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'bin:x:2:',
  'sys:x:3:',
  'adm:x:4:',
  'tty:x:5:',
  'disk:x:6:',
  'lp:x:7:',
  'mail:x:8:',
  'kmem:x:9:',
  'wheel:x:10:root',
  'floppy:x:11:',
  'news:x:13:',
  'uucp:x:14:',
  'www-data:x:33:',
  'operator:x:37:',
  'staff:x:50:',
  'audio:x:29:',
  'video:x:44:',
  'users:x:100:',
  'nogroup:x:65534:',
];

/**
 * A busybox root: the static binary, a link per applet (relative inside `bin/`, absolute
 * elsewhere), passwd/group like Docker Hub's busybox, the usual empty directories.
 */
async function busyboxRootfs(root: string, busybox: string, host: Host): Promise<{ mtime: Date; version: string }> {
  let st;
  try {
    st = await fs.stat(busybox);
  } catch (e) {
    throw unavailable(`bootstrap busybox: ${busybox} is missing: install Debian's busybox-static`, e);
  }
  const list = await host.run(busybox, ['--list-full']);
  const help = await host.run(busybox, ['--help'], { allowFailure: true });
  const version = /BusyBox v(\S+)/.exec(help.stdout + help.stderr)?.[1] ?? 'unknown';
  const dirs: Array<[string, number]> = [
    ['bin', 0o755],
    ['sbin', 0o755],
    ['usr', 0o755],
    ['usr/bin', 0o755],
    ['usr/sbin', 0o755],
    ['etc', 0o755],
    ['root', 0o700],
    ['home', 0o755],
    ['var', 0o755],
    ['var/spool', 0o755],
    ['var/spool/mail', 0o755],
    ['var/www', 0o755],
    ['dev', 0o755],
    ['proc', 0o555],
    ['sys', 0o555],
    ['tmp', 0o1777],
  ];
  for (const [d, mode] of dirs) {
    await fs.mkdir(join(root, d), { recursive: true });
    await fs.chmod(join(root, d), mode);
  }
  await fs.copyFile(busybox, join(root, 'bin/busybox'));
  await fs.chmod(join(root, 'bin/busybox'), 0o755);
  for (const applet of list.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    // --list-full names bin/busybox itself: linking it would replace the binary with a loop.
    if (applet === 'bin/busybox' || applet.startsWith('/') || applet.split('/').includes('..')) continue;
    const parent = join(root, applet, '..');
    await fs.mkdir(parent, { recursive: true });
    await fs.chmod(parent, 0o755);
    await fs.rm(join(root, applet), { force: true });
    await fs.symlink(
      applet.startsWith('bin/') && !applet.slice(4).includes('/') ? 'busybox' : '/bin/busybox',
      join(root, applet),
    );
  }
  const write = async (p: string, lines: string[], mode: number) => {
    await fs.writeFile(join(root, p), lines.join('\n') + '\n');
    await fs.chmod(join(root, p), mode);
  };
  await write('etc/passwd', PASSWD, 0o644);
  await write('etc/group', GROUP, 0o644);
  await write(
    'etc/shadow',
    PASSWD.map((l) => `${l.split(':')[0]}:*:10933:0:99999:7:::`),
    0o600,
  );
  // Whole seconds: tar headers carry no more.
  return { mtime: new Date(Math.floor(st.mtime.getTime() / 1000) * 1000), version };
}

async function debootstrap(root: string, suite: string, mirror: string, host: Host, progress: Progress): Promise<void> {
  // Own mount and PID namespaces, killed with the daemon: see the module comment.
  const child = host.spawn(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      'debootstrap',
      '--variant=minbase',
      suite,
      root,
      mirror,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' } },
  );
  let tail: string[] = [];
  let partial = '';
  const onData = (buf: Buffer) => {
    const lines = (partial + buf.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const l = line.trim();
      if (!l) continue;
      tail = [...tail.slice(-19), l];
      const m = /^([IWE]): (.*)$/.exec(l);
      if (m) progress({ status: m[1] === 'I' ? m[2]! : `${m[1] === 'W' ? 'warning' : 'error'}: ${m[2]}`, id: suite });
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(unavailable(`bootstrap debian:${suite}: cannot run debootstrap: ${e.message}`, e)));
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  if (code !== 0) {
    const why =
      tail
        .filter((l) => /^E:|error|fail/i.test(l))
        .slice(-3)
        .join(' / ') || tail.slice(-3).join(' / ');
    throw unavailable(`bootstrap debian:${suite}: debootstrap failed (exit ${code}): ${why}`);
  }
  // What apt downloaded is not part of the image, as in Docker Hub's debian.
  const archives = join(root, 'var/cache/apt/archives');
  for (const f of await fs.readdir(archives).catch(() => [] as string[])) {
    if (f.endsWith('.deb')) await fs.rm(join(archives, f), { force: true });
  }
  const lists = join(root, 'var/lib/apt/lists');
  for (const f of await fs.readdir(lists).catch(() => [] as string[])) {
    if (f !== 'partial' && f !== 'lock') await fs.rm(join(lists, f), { recursive: true, force: true });
  }
  await writeContainerAptConfig(root);
}

/**
 * apt and dpkg set up for image layers, as in Docker Hub's Debian images: downloaded packages
 * and apt's binary caches removed after each run, package lists kept compressed, no
 * translations, no fsync by dpkg. Without these an `apt-get update` layer is ~160 MB; with
 * them about 20 MB.
 */
export async function writeContainerAptConfig(root: string): Promise<void> {
  const clean =
    'rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true';
  const files: Array<[string, string[]]> = [
    [
      'etc/apt/apt.conf.d/docker-clean',
      [
        `DPkg::Post-Invoke { "${clean}"; };`,
        `APT::Update::Post-Invoke { "${clean}"; };`,
        'Dir::Cache::pkgcache "";',
        'Dir::Cache::srcpkgcache "";',
      ],
    ],
    [
      'etc/apt/apt.conf.d/docker-gzip-indexes',
      ['Acquire::GzipIndexes "true";', 'Acquire::CompressionTypes::Order:: "gz";'],
    ],
    ['etc/apt/apt.conf.d/docker-no-languages', ['Acquire::Languages "none";']],
    ['etc/apt/apt.conf.d/docker-autoremove-suggests', ['Apt::AutoRemove::SuggestsImportant "false";']],
    ['etc/dpkg/dpkg.cfg.d/docker-apt-speedup', ['force-unsafe-io']],
  ];
  for (const [path, lines] of files) {
    await fs.mkdir(join(root, path, '..'), { recursive: true, mode: 0o755 });
    await fs.writeFile(join(root, path), lines.join('\n') + '\n', { mode: 0o644 });
  }
}
