/**
 * `debian:bookworm` bootstrapped for real: debootstrap --variant=minbase against the Debian
 * mirror (the one outside host these machines reach), on real stores; then the image saved,
 * loaded into a berthd with the docker CLI and run. Takes about a minute.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { bootstrap, saveImages, type Image } from '../src/images/index.ts';
import type { JsonMessage } from '../src/api/types/index.ts';
import { openTestStores, type TestStores } from '../src/images/testing.ts';
import { startDaemon, cleanup, dockerOk, type Daemon } from '../e2e/harness.ts';

let s: TestStores | undefined;
let d: Daemon | undefined;
let img: Image | undefined;
after(async () => {
  if (d) await cleanup(d);
  await s?.close();
});

test(
  'debootstrap --variant=minbase bookworm becomes a one-layer image without apt caches',
  { timeout: 900_000 },
  async () => {
    s = await openTestStores('berth-debian-');
    const msgs: JsonMessage[] = [];
    img = await bootstrap('debian:bookworm', { store: s.store, host: s.host, tmp: s.tmp }, (m) => msgs.push(m));
    assert.deepEqual(img.tags, ['debian:bookworm']);
    assert.deepEqual(img.config.config?.Cmd, ['bash']);
    assert.deepEqual(img.config.config?.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    // debootstrap's own lines stream as progress.
    assert.ok(
      msgs.some((m) => m.status === 'Base system installed successfully.'),
      JSON.stringify(msgs.slice(-5)),
    );
    assert.ok(msgs.some((m) => /^Retrieving/.test(m.status ?? '')));
    const [layer] = s.snapshots.stack(img.topChain);
    const root = s.snapshots.diffDir(layer!);
    assert.match(readFileSync(join(root, 'etc/debian_version'), 'utf8'), /^12\./);
    assert.ok(lstatSync(join(root, 'usr/bin/bash')).isFile());
    assert.deepEqual(
      readdirSync(join(root, 'var/cache/apt/archives')).filter((f) => f.endsWith('.deb')),
      [],
    );
    assert.deepEqual(
      readdirSync(join(root, 'var/lib/apt/lists')).filter((f) => f !== 'partial' && f !== 'lock'),
      [],
    );
    // Nothing debootstrap mounted (proc, sys in the target) is visible here, and the scratch is gone.
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(s.dir), false);
    assert.deepEqual(readdirSync(s.tmp), []);
  },
);

test('the bootstrapped image saves, loads into berthd with docker load, and runs', { timeout: 600_000 }, async (t) => {
  if (!img || !s) return t.skip('the bootstrap failed');
  if (!existsSync('/usr/local/bin/docker')) return t.skip('needs the docker CLI');
  const file = join(s.dir, 'debian.tar');
  await pipeline((await saveImages(s.store, ['debian:bookworm'])).stream, createWriteStream(file));
  d = await startDaemon();
  assert.match(await dockerOk(d, ['load', '-i', file]), /^Loaded image: debian:bookworm$/m);
  assert.equal((await dockerOk(d, ['image', 'inspect', '-f', '{{.Id}}', 'debian:bookworm'])).trim(), img.id);
  const out = await dockerOk(d, [
    'run',
    '--rm',
    'debian:bookworm',
    'sh',
    '-c',
    'cat /etc/debian_version; ls /var/cache/apt/archives/*.deb 2>/dev/null | wc -l',
  ]);
  const [version, debs] = out.trim().split('\n');
  assert.match(version!, /^12\./);
  assert.equal(debs, '0');
  // apt reads the image's container settings (as in Docker Hub's debian): compressed lists,
  // no binary caches, no translations; dpkg does not fsync.
  const apt = await dockerOk(d, [
    'run',
    '--rm',
    'debian:bookworm',
    'sh',
    '-c',
    'apt-config dump; cat /etc/dpkg/dpkg.cfg.d/docker-apt-speedup',
  ]);
  for (const line of [
    'Acquire::GzipIndexes "true";',
    'Dir::Cache::pkgcache "";',
    'Dir::Cache::srcpkgcache "";',
    'Acquire::Languages:: "none";',
    'force-unsafe-io',
  ]) {
    assert.ok(apt.split('\n').includes(line), `${line} in:\n${apt}`);
  }
});
