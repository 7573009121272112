/**
 * berth-idmount (src/host/berth-idmount.c) and the snapshotter's idmapped layers on the real
 * kernel: a layer file owned by 0 appears owned by the mapped root (100000) through the mount on
 * the host, and by 0 from inside a user namespace with the same mapping; what that root
 * writes lands in the upper directory with the host's ids; nothing stays mounted after the
 * unmount, whichever way overlay is given the layers. Needs root, the helper (npm run setup)
 * and Linux 6.13+ (where it is verified); skipped otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDMOUNT_HELPER, idmountArgs, mountIdmappedOverlay, RealHost } from '../src/host/index.ts';
import { idMapOf, type Digest } from '../src/spec/index.ts';
import { MetadataDb } from '../src/metadata/index.ts';
import { ContentStore } from '../src/content/index.ts';
import { Snapshotter } from '../src/snapshots/index.ts';

const [major = 0, minor = 0] = (spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout ?? '').split('.').map(Number);
const ok = process.getuid?.() === 0 && existsSync(IDMOUNT_HELPER) && (major > 6 || (major === 6 && minor >= 13));
const skip = ok ? false : 'needs root, build/berth-idmount (npm run setup) and Linux 6.13 or later';

const map = idMapOf([{ start: 100000, count: 65536 }], [{ start: 100000, count: 65536 }]);
const host = new RealHost();
let dir: string;
/** A process in a user namespace with the same mapping, to look from inside. */
let inside: ChildProcess | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-idmount-'));
  // The namespace's root (host uid 100000) passes through to the mount point.
  chmodSync(dir, 0o711);
});

after(() => {
  inside?.kill('SIGKILL');
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse())
    if (line.includes(dir)) spawnSync('umount', ['-l', line.split(' ')[4]!]);
  rmSync(dir, { recursive: true, force: true });
});

const mountedUnder = (p: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(p));
const owner = (p: string) => `${statSync(p).uid}:${statSync(p).gid}`;

/** Runs `cmd` as root of a user namespace mapping 0 to 100000 (the test writes the maps, as root). */
async function inNamespace(cmd: string[]): Promise<string> {
  if (!inside) {
    inside = spawn('unshare', ['--user', 'sleep', '300'], { stdio: 'ignore' });
    const self = readFileSync('/proc/self/uid_map', 'utf8');
    for (let i = 0; i < 100; i++) {
      try {
        if (readFileSync(`/proc/${inside.pid}/uid_map`, 'utf8') !== self) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 20));
    }
    writeFileSync(`/proc/${inside.pid}/uid_map`, '0 100000 65536\n');
    writeFileSync(`/proc/${inside.pid}/gid_map`, '0 100000 65536\n');
  }
  return execFileSync('nsenter', [`--user=/proc/${inside.pid}/ns/user`, '--', ...cmd], { encoding: 'utf8' });
}

test(
  'a layer file owned by 0 is owned by 100000 through the mount on the host and by 0 inside the namespace',
  { skip },
  async () => {
    const t = join(dir, 'plain');
    const [top, base, upper, work, target] = ['top', 'base', 'upper', 'work', 'rootfs'].map((d) => join(t, d));
    for (const d of [top, base, upper, work, target]) mkdirSync(d, { recursive: true });
    writeFileSync(join(base, 'f'), 'base\n');
    mkdirSync(join(top, 'd'));
    chownSync(join(top, 'd'), 1, 2);
    chownSync(upper, 100000, 100000);
    await mountIdmappedOverlay(host, { map, lowers: [top, base], upper, work, target });
    try {
      assert.equal(owner(join(target, 'f')), '100000:100000');
      assert.equal(owner(join(target, 'd')), '100001:100002');
      // The layers themselves are untouched.
      assert.equal(owner(join(base, 'f')), '0:0');
      assert.equal(
        (await inNamespace(['stat', '-c', '%u:%g', join(target, 'f'), join(target, 'd')])).trim(),
        '0:0\n1:2',
      );
      // The namespace's root writes and copies up as itself: the upper holds the host's ids.
      await inNamespace(['sh', '-c', `echo new > ${target}/new && echo more >> ${target}/f`]);
      assert.equal(owner(join(upper, 'new')), '100000:100000');
      assert.equal(owner(join(upper, 'f')), '100000:100000');
      assert.equal(readFileSync(join(base, 'f'), 'utf8'), 'base\n');
      // One mount, the overlay: the idmapped clones of the layers are nowhere to be seen.
      assert.deepEqual(
        mountedUnder(t).map((l) => l.split(' ')[4]),
        [target],
      );
    } finally {
      await host.unmount(target);
    }
    assert.deepEqual(mountedUnder(t), []);
  },
);

for (const way of ['fd', 'lowerdir+']) {
  test(
    `every way of giving overlay its lowers (by fd; by path on kernels before 6.13) mounts the layers idmapped: ${way}`,
    { skip },
    async () => {
      const t = join(dir, `way-${way}`);
      const [upper, work, target] = ['upper', 'work', 'rootfs'].map((d) => join(t, d));
      // A stack as deep and as long-named as an image's (far past fsconfig's 256-byte strings).
      const lowers = Array.from({ length: 12 }, (_, i) => join(t, 'layers', `${i}`.padStart(64, 'a'), 'diff'));
      for (const d of [...lowers, upper, work, target]) mkdirSync(d, { recursive: true });
      const [top, base] = [lowers[0]!, lowers.at(-1)!];
      writeFileSync(join(base, 'f'), 'base\n');
      writeFileSync(join(top, 'g'), 'top\n');
      const args = idmountArgs({ map, lowers, upper, work, target });
      await host.run(IDMOUNT_HELPER, args, { env: { ...process.env, BERTH_IDMOUNT_LOWERS: way } });
      try {
        assert.equal(owner(join(target, 'f')), '100000:100000');
        assert.equal(owner(join(target, 'g')), '100000:100000');
      } finally {
        await host.unmount(target);
      }
      assert.deepEqual(mountedUnder(t), []);
    },
  );
}

test('a step the kernel refuses is named with its errno', { skip }, async () => {
  const t = join(dir, 'missing');
  const [upper, work, target] = ['upper', 'work', 'rootfs'].map((d) => join(t, d));
  for (const d of [upper, work, target]) mkdirSync(d, { recursive: true });
  await assert.rejects(
    mountIdmappedOverlay(host, { map, lowers: [join(t, 'nowhere')], upper, work, target }),
    /berth-idmount: open_tree\(OPEN_TREE_CLONE\) .*nowhere: No such file or directory/,
  );
  assert.deepEqual(mountedUnder(t), []);
});

test(
  'a remapped store on this kernel keeps layers unshifted and mounts containers’ roots idmapped',
  { skip },
  async () => {
    const t = join(dir, 'store');
    mkdirSync(t);
    const db = new MetadataDb(join(t, 'metadata.db'));
    const content = await ContentStore.open(join(t, 'content'));
    const snapshots = await Snapshotter.open(join(t, 'overlay'), db, content, host, map);
    assert.equal(snapshots.layerOwners, 'idmapped');
    assert.equal(readFileSync(join(t, 'overlay', 'layer-owners'), 'utf8'), 'idmapped\n');
    const src = join(t, 'src');
    mkdirSync(join(src, 'etc'), { recursive: true });
    writeFileSync(join(src, 'etc', 'motd'), 'hi\n');
    const tar = spawn('tar', ['-C', src, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', 'etc']).stdout;
    const layer = await snapshots.addLayer(null, tar);
    assert.equal(owner(join(snapshots.diffDir(layer), 'etc', 'motd')), '0:0');
    const cdir = join(t, 'container');
    const rootfs = await snapshots.mountRootfs(cdir, layer.chainId as Digest);
    try {
      assert.equal(owner(join(rootfs, 'etc', 'motd')), '100000:100000');
      // The init layer's placeholders, the root and the upper belong to the range's root too.
      assert.equal(owner(join(rootfs, 'etc', 'hosts')), '100000:100000');
      assert.equal(owner(rootfs), '100000:100000');
      assert.equal(owner(join(cdir, 'upper')), '100000:100000');
    } finally {
      await snapshots.unmountRootfs(cdir);
    }
    assert.deepEqual(mountedUnder(t), []);
    db.close();
  },
);
