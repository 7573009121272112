import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, mkdir, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { categoryOf } from '../errdefs/index.ts';
import { homeEnv, resolveUser } from './index.ts';

const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n# a comment\nbroken line\nweb:x:33:33::/var/www:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1001:\nextra:x:2000:app,web\nmore:x:2001:web, app\n3000:x:4000:\n';

async function image(
  t: { after: (fn: () => Promise<void>) => void },
  files: { passwd?: string; group?: string } = { passwd: PASSWD, group: GROUP },
) {
  const root = await mkdtemp(join(tmpdir(), 'berth-user-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'etc'));
  if (files.passwd !== undefined) await writeFile(join(root, 'etc/passwd'), files.passwd);
  if (files.group !== undefined) await writeFile(join(root, 'etc/group'), files.group);
  return root;
}

test('name, uid, name:group, uid:gid, and the supplementary groups of the implicit form', async (t) => {
  const root = await image(t);
  assert.deepEqual(await resolveUser('', root), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  assert.deepEqual(await resolveUser('root', root), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  assert.deepEqual(await resolveUser('app', root), {
    uid: 1000,
    gid: 1001,
    additionalGids: [2000, 2001],
    home: '/home/app',
  });
  assert.deepEqual(
    await resolveUser('1000', root),
    { uid: 1000, gid: 1001, additionalGids: [2000, 2001], home: '/home/app' },
    'a uid in passwd is that user',
  );
  assert.deepEqual(
    await resolveUser('4242', root),
    { uid: 4242, gid: 0, additionalGids: [] },
    'a uid not in passwd is used as it is',
  );
  assert.deepEqual(
    await resolveUser('app:extra', root),
    { uid: 1000, gid: 2000, additionalGids: [], home: '/home/app' },
    'a named group: no supplementary groups',
  );
  assert.deepEqual(await resolveUser('1000:2001', root), {
    uid: 1000,
    gid: 2001,
    additionalGids: [],
    home: '/home/app',
  });
  assert.deepEqual(
    await resolveUser('app:5555', root),
    { uid: 1000, gid: 5555, additionalGids: [], home: '/home/app' },
    'a gid not in group is used as it is',
  );
  assert.deepEqual(
    await resolveUser('app:3000', root),
    { uid: 1000, gid: 3000, additionalGids: [], home: '/home/app' },
    'a numeric group is a gid, never a name',
  );
  assert.deepEqual(await resolveUser('4242:4242', root), { uid: 4242, gid: 4242, additionalGids: [] });
  assert.deepEqual(await resolveUser(':app', root), { uid: 0, gid: 1001, additionalGids: [], home: '/root' });
});

test("unknown names fail as Docker's do, as InvalidArgument", async (t) => {
  const root = await image(t);
  await assert.rejects(
    resolveUser('ghost', root),
    (e: Error) =>
      e.message === 'unable to find user ghost: no matching entries in passwd file' &&
      categoryOf(e) === 'InvalidArgument',
  );
  await assert.rejects(
    resolveUser('app:ghosts', root),
    /unable to find group ghosts: no matching entries in group file/,
  );
  await assert.rejects(resolveUser('99999999999', root), /uids and gids must be in range 0-2147483647/);
});

test('without passwd or group files, only numeric ids work', async (t) => {
  const root = await image(t, {});
  assert.deepEqual(await resolveUser('1000:1000', root), { uid: 1000, gid: 1000, additionalGids: [] });
  assert.deepEqual(await resolveUser('', root), { uid: 0, gid: 0, additionalGids: [] });
  await assert.rejects(resolveUser('app', root), /unable to find user app/);
  assert.deepEqual(await resolveUser('1', join(root, 'no-such-root')), { uid: 1, gid: 0, additionalGids: [] });
});

// The host's passwd has a `daemon` user (uid 1, gid 1) on Debian; the image's must be the one read.
test('a hostile /etc/passwd link to the host file is never followed out of the root', async (t) => {
  for (const target of ['/etc/passwd', '../../../../../../etc/passwd', '/../../etc/passwd']) {
    const root = await image(t, { group: 'daemon:x:1:\n' });
    await symlink(target, join(root, 'etc/passwd'));
    await assert.rejects(
      resolveUser('daemon', root),
      /unable to find user daemon: no matching entries in passwd file/,
      `link to ${target}`,
    );
    assert.deepEqual(
      await resolveUser('1', root),
      { uid: 1, gid: 0, additionalGids: [] },
      `link to ${target}: no gid from the host`,
    );
  }
});

test('a hostile /etc directory link or an intermediate link is resolved inside the root', async (t) => {
  const root = await image(t, {});
  await rm(join(root, 'etc'), { recursive: true });
  await symlink('/etc', join(root, 'etc'));
  await assert.rejects(resolveUser('daemon', root), /unable to find user daemon/);

  // A link that stays inside the root is fine: /etc/passwd -> /usr/lib/passwd (absolute, read as in the image).
  const ok = await image(t, { group: GROUP });
  await mkdir(join(ok, 'usr/lib'), { recursive: true });
  await writeFile(join(ok, 'usr/lib/passwd'), PASSWD);
  await symlink('/usr/lib/passwd', join(ok, 'etc/passwd'));
  assert.deepEqual(await resolveUser('app', ok), {
    uid: 1000,
    gid: 1001,
    additionalGids: [2000, 2001],
    home: '/home/app',
  });
});

test('a link loop, a directory or a FIFO at /etc/passwd reads as no passwd (and never blocks)', async (t) => {
  const loop = await image(t, { group: GROUP });
  await symlink('passwd', join(loop, 'etc/passwd'));
  await assert.rejects(resolveUser('app', loop), /unable to find user app/);

  const dir = await image(t, { group: GROUP });
  await mkdir(join(dir, 'etc/passwd'));
  await assert.rejects(resolveUser('app', dir), /unable to find user app/);

  const fifo = await image(t, { group: GROUP });
  execFileSync('mkfifo', [join(fifo, 'etc/passwd')]);
  await assert.rejects(resolveUser('app', fifo), /unable to find user app/);
});

test("HOME comes from passwd, '/' for a user it does not list, and never over the environment's own", async (t) => {
  const root = await image(t);
  assert.equal(homeEnv(['PATH=/bin'], await resolveUser('app', root)), 'HOME=/home/app');
  assert.equal(homeEnv(['PATH=/bin'], await resolveUser('4242', root)), 'HOME=/', 'as runc sets it');
  assert.equal(homeEnv(['HOME=/data', 'PATH=/bin'], await resolveUser('app', root)), undefined);
});
