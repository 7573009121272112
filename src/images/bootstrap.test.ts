/** busybox from Debian's busybox-static, on real stores (needs root and /bin/busybox). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readlinkSync, readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { FakeHost } from '../host/testing.ts';
import { openTestStores, type TestStores } from './testing.ts';
import { bootstrap, bootstrapKind, writeContainerAptConfig } from './bootstrap.ts';
import type { JsonMessage } from '../api/types/index.ts';

let s: TestStores;
before(async () => {
  s = await openTestStores();
});
after(async () => {
  await s?.close();
});

const skip = existsSync('/bin/busybox') ? false : 'needs busybox-static';

test('busybox: bin/busybox plus a link per applet, passwd and group, a Docker Hub-like config', { skip }, async () => {
  const msgs: JsonMessage[] = [];
  const img = await bootstrap('busybox', { store: s.store, host: s.host, tmp: s.tmp }, (m) => msgs.push(m));
  assert.deepEqual(img.tags, ['busybox:latest']);
  assert.deepEqual(img.config.config?.Cmd, ['sh']);
  assert.deepEqual(img.config.config?.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.equal(img.config.os, 'linux');
  assert.equal(img.config.history?.length, 2);
  assert.equal(img.config.history?.[1]?.empty_layer, true);
  const layers = s.snapshots.stack(img.topChain);
  assert.equal(layers.length, 1);
  const root = s.snapshots.diffDir(layers[0]!);
  const bb = lstatSync(join(root, 'bin/busybox'));
  assert.ok(bb.isFile(), 'bin/busybox is the binary, not a link to itself');
  assert.equal(bb.mode & 0o7777, 0o755);
  assert.equal(bb.size, lstatSync('/bin/busybox').size);
  assert.equal(readlinkSync(join(root, 'bin/sh')), 'busybox');
  assert.equal(readlinkSync(join(root, 'bin/ls')), 'busybox');
  assert.equal(readlinkSync(join(root, 'sbin/acpid')), '/bin/busybox');
  assert.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^nobody:x:65534:65534:/m);
  for (const u of ['root', 'daemon', 'bin', 'sys', 'sync', 'nobody'])
    assert.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), new RegExp(`^${u}:x:`, 'm'));
  assert.match(readFileSync(join(root, 'etc/group'), 'utf8'), /^nogroup:x:65534:$/m);
  assert.equal(lstatSync(join(root, 'tmp')).mode & 0o7777, 0o1777);
  for (const d of ['root', 'var', 'home', 'dev', 'proc', 'sys']) assert.ok(lstatSync(join(root, d)).isDirectory(), d);
  assert.ok(msgs.some((m) => m.status === 'Packing layer'));
  assert.deepEqual(readdirSync(s.tmp), [], 'the scratch directory is gone');
});

test('bootstrapping busybox twice gives the same image ID and reuses the layer', { skip }, async () => {
  const first = await bootstrap('busybox:1', { store: s.store, host: s.host, tmp: s.tmp }, () => {});
  const layersBefore = readdirSync(join(s.dir, 'overlay', 'layers')).length;
  const second = await bootstrap('busybox:1', { store: s.store, host: s.host, tmp: s.tmp }, () => {});
  assert.equal(second.id, first.id);
  assert.equal(readdirSync(join(s.dir, 'overlay', 'layers')).length, layersBefore);
  // The tag does not go into the config: busybox:latest from the first test is the same image.
  assert.equal(s.store.resolve('busybox:latest').id, first.id);
  assert.ok(first.tags.includes('busybox:1'));
});

test('only busybox and known Debian suites can be bootstrapped', () => {
  assert.deepEqual(bootstrapKind('busybox'), { kind: 'busybox', tag: 'latest', name: 'busybox:latest' });
  assert.deepEqual(bootstrapKind('debian'), { kind: 'debian', tag: 'bookworm', name: 'debian:latest' });
  assert.deepEqual(bootstrapKind('debian:trixie'), { kind: 'debian', tag: 'trixie', name: 'debian:trixie' });
  assert.deepEqual(bootstrapKind('docker.io/library/debian:bullseye').kind, 'debian');
  assert.throws(() => bootstrapKind('debian:nosuchsuite'), /unknown Debian suite "nosuchsuite"/);
  assert.throws(() => bootstrapKind('alpine'), /only busybox\[:tag\] and debian:<suite>/);
  assert.throws(() => bootstrapKind('busybox@sha256:' + 'a'.repeat(64)), /digest cannot be bootstrapped/);
});

test('debootstrap runs in its own mount and PID namespaces, dies with the daemon, and its failure is reported', async () => {
  class FailingDebootstrap extends FakeHost {
    override spawn(cmd: string, args: readonly string[]) {
      super.spawn(cmd, args);
      return spawn(
        'sh',
        [
          '-c',
          'echo "I: Retrieving InRelease"; echo "E: Failed getting release file http://deb.debian.org/debian/dists/bookworm/InRelease" >&2; exit 1',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    }
  }
  const host = new FailingDebootstrap();
  const msgs: JsonMessage[] = [];
  await assert.rejects(
    bootstrap('debian:bookworm', { store: s.store, host, tmp: s.tmp }, (m) => msgs.push(m)),
    (e: Error & { category?: string }) => {
      assert.equal(e.category, 'Unavailable');
      assert.match(
        e.message,
        /^bootstrap debian:bookworm: debootstrap failed \(exit 1\): E: Failed getting release file/,
      );
      return true;
    },
  );
  const cmd = host.calls.find((c) => c.op === 'spawn')!.args as string[];
  assert.deepEqual(cmd.slice(0, 3), ['setpriv', '--pdeathsig', 'KILL']);
  assert.ok(
    cmd.includes('unshare') && cmd.includes('--mount') && cmd.includes('--pid') && cmd.includes('--kill-child'),
  );
  assert.deepEqual(cmd.slice(-4, -2), ['--variant=minbase', 'bookworm']);
  assert.ok(msgs.some((m) => m.status === 'Retrieving InRelease' && m.id === 'bookworm'));
  assert.deepEqual(readdirSync(s.tmp), [], 'the scratch directory is gone');
  assert.equal(s.store.find('debian:bookworm'), undefined);
});

test('the container settings for apt and dpkg land in the Debian root', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-apt-'));
  try {
    await writeContainerAptConfig(root);
    const clean = readFileSync(join(root, 'etc/apt/apt.conf.d/docker-clean'), 'utf8');
    assert.match(clean, /^Dir::Cache::pkgcache "";$/m);
    assert.match(clean, /^DPkg::Post-Invoke \{ "rm -f \/var\/cache\/apt\/archives\/\*\.deb .*"; \};$/m);
    assert.equal(
      readFileSync(join(root, 'etc/apt/apt.conf.d/docker-gzip-indexes'), 'utf8'),
      'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n',
    );
    assert.equal(readFileSync(join(root, 'etc/dpkg/dpkg.cfg.d/docker-apt-speedup'), 'utf8'), 'force-unsafe-io\n');
    assert.equal(statSync(join(root, 'etc/apt/apt.conf.d/docker-no-languages')).mode & 0o777, 0o644);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
