/**
 * Base images made offline: busybox from Debian's busybox-static, Debian from debootstrap.
 * Both build a root file system in a scratch directory under `<data-root>/tmp`, pack it as one
 * layer and record an ordinary image. The busybox layer is reproducible (fixed times, sorted
 * entries), so bootstrapping twice gives the same image ID.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { invalidArgument, unavailable } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';
import { tarDirectory } from '../archive/index.ts';
import { hostPlatform, parseReference, familiarString, type ImageConfig } from '../spec/index.ts';
import type { ImageStore, Image } from './store.ts';

export type Progress = (msg: { status: string; id?: string; progressDetail?: object }) => void;

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const BUSYBOX = '/bin/busybox';
const DEBIAN_SUITES = ['bookworm', 'trixie', 'bullseye'];
const MIRROR = 'http://deb.debian.org/debian';

export interface BootstrapDeps {
  store: ImageStore;
  host: Host;
  /** Scratch space on the data root's file system. */
  tmp: string;
}

export async function bootstrap(ref: string, d: BootstrapDeps, progress: Progress): Promise<Image> {
  const parsed = parseReference(ref);
  const name = familiarString({ ...parsed, tag: undefined, digest: undefined });
  const work = join(d.tmp, `bootstrap-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(join(work, 'rootfs'), { recursive: true });
  try {
    let config: ImageConfig;
    let layerMtime: Date | undefined;
    if (name === 'busybox') {
      progress({ status: 'Building rootfs from busybox-static', id: parsed.tag });
      layerMtime = await busyboxRootfs(join(work, 'rootfs'), d.host);
      config = baseConfig(['sh'], layerMtime, `/bin/sh -c #(nop) ADD busybox-static ${BUSYBOX} in /`);
    } else if (name === 'debian') {
      const suite = parsed.tag ?? 'bookworm';
      if (!DEBIAN_SUITES.includes(suite)) throw invalidArgument(`bootstrap "${ref}": unknown Debian suite "${suite}" (known: ${DEBIAN_SUITES.join(', ')})`);
      progress({ status: `Running debootstrap --variant=minbase ${suite}`, id: suite });
      await debootstrap(join(work, 'rootfs'), suite, d.host, progress);
      config = baseConfig(['bash'], new Date(), `debootstrap --variant=minbase ${suite} ${MIRROR}`);
    } else {
      throw invalidArgument(`bootstrap "${ref}": only busybox and debian:<suite> can be bootstrapped offline`);
    }
    progress({ status: 'Packing layer', id: parsed.tag });
    let n = 0;
    const layer = await d.store.snapshots.addLayer(null, tarDirectory(join(work, 'rootfs'), { mtime: layerMtime }), {
      onBytes: (b) => {
        if (b - n > 4 << 20) {
          n = b;
          progress({ status: 'Packing layer', id: parsed.tag, progressDetail: { current: b } });
        }
      },
    });
    config.rootfs = { type: 'layers', diff_ids: [layer.diffId] };
    const img = await d.store.create(Buffer.from(JSON.stringify(config)));
    d.store.tag(img.id, familiarString(parsed));
    return d.store.get(img.id);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

function baseConfig(cmd: string[], created: Date, createdBy: string): ImageConfig {
  const { architecture, os } = hostPlatform();
  return {
    architecture,
    os,
    created: created.toISOString(),
    config: { Env: [PATH_ENV], Cmd: cmd },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [
      { created: created.toISOString(), created_by: createdBy },
      { created: created.toISOString(), created_by: `/bin/sh -c #(nop)  CMD ${JSON.stringify(cmd)}`, empty_layer: true },
    ],
  };
}

/** A busybox root: the static binary, a symlink per applet, minimal passwd/group. Returns the fixed mtime. */
async function busyboxRootfs(root: string, host: Host): Promise<Date> {
  let st;
  try {
    st = await fs.stat(BUSYBOX);
  } catch (e) {
    throw unavailable(`bootstrap busybox: ${BUSYBOX} is missing: install Debian's busybox-static`, e);
  }
  const list = await host.run(BUSYBOX, ['--list-full']);
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home', 'var', 'var/spool/mail', 'var/www', 'dev', 'proc', 'sys', 'tmp']) {
    await fs.mkdir(join(root, d), { recursive: true });
  }
  await fs.chmod(join(root, 'tmp'), 0o1777);
  await fs.chmod(join(root, 'root'), 0o700);
  await fs.copyFile(BUSYBOX, join(root, 'bin/busybox'));
  await fs.chmod(join(root, 'bin/busybox'), 0o755);
  for (const applet of list.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    // --list-full names bin/busybox itself: linking it would replace the binary with a loop.
    if (applet === 'bin/busybox' || applet.includes('..')) continue;
    await fs.mkdir(join(root, applet, '..'), { recursive: true });
    await fs.symlink(applet.startsWith('bin/') ? 'busybox' : '/bin/busybox', join(root, applet));
  }
  await fs.writeFile(join(root, 'etc/passwd'), [
    'root:x:0:0:root:/root:/bin/sh', 'daemon:x:1:1:daemon:/usr/sbin:/bin/false', 'bin:x:2:2:bin:/bin:/bin/false',
    'sys:x:3:3:sys:/dev:/bin/false', 'sync:x:4:100:sync:/bin:/bin/sync', 'mail:x:8:8:mail:/var/spool/mail:/bin/false',
    'www-data:x:33:33:www-data:/var/www:/bin/false', 'operator:x:37:37:Operator:/var:/bin/false', 'nobody:x:65534:65534:nobody:/home:/bin/false', '',
  ].join('\n'));
  await fs.writeFile(join(root, 'etc/group'), [
    'root:x:0:', 'daemon:x:1:', 'bin:x:2:', 'sys:x:3:', 'adm:x:4:', 'tty:x:5:', 'disk:x:6:', 'wheel:x:10:root', 'mail:x:8:',
    'www-data:x:33:', 'operator:x:37:', 'staff:x:50:', 'users:x:100:', 'nogroup:x:65534:', '',
  ].join('\n'));
  return new Date(Math.floor(st.mtime.getTime() / 1000) * 1000);
}

async function debootstrap(root: string, suite: string, host: Host, progress: Progress): Promise<void> {
  const child = host.spawn('debootstrap', ['--variant=minbase', suite, root, MIRROR], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const onLine = (buf: Buffer) => {
    for (const line of buf.toString().split('\n')) {
      const l = line.trim();
      if (!l) continue;
      tail = (tail + '\n' + l).slice(-2000);
      const m = l.match(/^I: (.*)$/);
      if (m) progress({ status: m[1]!, id: suite });
    }
  };
  child.stdout?.on('data', onLine);
  child.stderr?.on('data', onLine);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw unavailable(`bootstrap debian:${suite}: debootstrap failed (exit ${code}): ${tail.trim().split('\n').slice(-3).join(' / ')}`);
  for (const p of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    const dir = join(root, p);
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
      if (f.endsWith('.deb') || (p.endsWith('lists') && f !== 'partial' && f !== 'lock')) await fs.rm(join(dir, f), { force: true });
    }
  }
}
