/**
 * `docker push`, `pull`, `login` and `images --digests` through the real `docker` CLI against a
 * private berthd and Berth's own registry, `bin/berth-registry`, on 127.0.0.1; logins go to a
 * second berth-registry started with `--htpasswd` (Basic auth, as registry:2 does it). The
 * Bearer token flow Docker Hub uses is covered by src/registry/client.test.ts. Nothing but
 * loopback is contacted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import {
  startDaemon,
  cleanup,
  docker,
  dockerOk,
  startDaemonWithBusybox,
  startRegistry,
  type Daemon,
  type RegistryProcess,
} from './harness.ts';

let d: Daemon;
let reg: string;
const servers: RegistryProcess[] = [];
let authed: string;
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-registry-'));
  // The CLI's credentials go to a scratch config, never the user's.
  process.env.DOCKER_CONFIG = join(scratch, 'docker');
  process.env.BERTH_CONFIG = join(scratch, 'berth');
  const start = async (name: string, args: string[] = []) => {
    const r = await startRegistry(join(scratch, name), args);
    servers.push(r);
    return r.host;
  };
  reg = await start('registry');
  // The line `htpasswd -Bbn tester secret` would write.
  const htpasswd = join(scratch, 'htpasswd');
  writeFileSync(htpasswd, `tester:${bcrypt.hashSync('secret', 5).replace(/^\$2[ab]\$/, '$2y$')}\n`);
  authed = await start('authed', ['--htpasswd', htpasswd, '--realm', 'Berth e2e']);
  d = await startDaemonWithBusybox();
});
after(async () => {
  await cleanup(d);
  for (const s of servers) s.proc.kill('SIGTERM');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('push, rmi, pull and run; a second tag says Layer already exists, another repository Mounted from', async () => {
  await dockerOk(d, ['tag', 'busybox', `${reg}/t/busybox:1`]);
  const pushed = await dockerOk(d, ['push', `${reg}/t/busybox:1`]);
  assert.match(pushed, new RegExp(`^The push refers to repository \\[${reg}/t/busybox\\]$`, 'm'));
  assert.match(pushed, /^[a-f0-9]{12}: Pushed$/m);
  const digest = /^1: digest: (sha256:[a-f0-9]{64}) size: \d+$/m.exec(pushed)?.[1];
  assert.ok(digest, pushed);

  await dockerOk(d, ['rmi', `${reg}/t/busybox:1`]);
  await dockerOk(d, ['rmi', 'busybox']);
  const pulled = await dockerOk(d, ['pull', `${reg}/t/busybox:1`]);
  assert.match(pulled, /^1: Pulling from t\/busybox$/m);
  assert.match(pulled, /^[a-f0-9]{12}: Pull complete$/m);
  assert.match(pulled, new RegExp(`^Digest: ${digest}$`, 'm'));
  assert.match(pulled, new RegExp(`^Status: Downloaded newer image for ${reg}/t/busybox:1$`, 'm'));
  assert.equal(pulled.trim().split('\n').at(-1), `${reg}/t/busybox:1`);
  assert.equal(await dockerOk(d, ['run', '--rm', `${reg}/t/busybox:1`, 'echo', 'pulled']), 'pulled\n');
  const again = await dockerOk(d, ['pull', `${reg}/t/busybox:1`]);
  assert.match(again, new RegExp(`^Status: Image is up to date for ${reg}/t/busybox:1$`, 'm'));

  await dockerOk(d, ['tag', `${reg}/t/busybox:1`, `${reg}/t/busybox:2`]);
  const second = await dockerOk(d, ['push', `${reg}/t/busybox:2`]);
  assert.match(second, /^[a-f0-9]{12}: Layer already exists$/m);
  assert.match(second, new RegExp(`^2: digest: ${digest} size: \\d+$`, 'm'));

  await dockerOk(d, ['tag', `${reg}/t/busybox:1`, `${reg}/t/other:1`]);
  const other = await dockerOk(d, ['push', `${reg}/t/other:1`]);
  assert.match(other, /^[a-f0-9]{12}: Mounted from t\/busybox$/m);

  // `docker push` of a repository without a tag pushes all its tags (Docker 28 without -a says
  // "Using default tag"; with -a the daemon gets an empty tag).
  const all = await dockerOk(d, ['push', '-a', `${reg}/t/busybox`]);
  assert.match(all, /^1: digest: /m);
  assert.match(all, /^2: digest: /m);

  // pull -a: every tag of the repository.
  await dockerOk(d, ['rmi', `${reg}/t/busybox:2`]);
  const pullAll = await dockerOk(d, ['pull', '-a', `${reg}/t/busybox`]);
  assert.match(pullAll, /^1: Pulling from t\/busybox$/m);
  assert.match(pullAll, /^2: Pulling from t\/busybox$/m);
  assert.match(await dockerOk(d, ['images', `${reg}/t/busybox`]), /^\S+\/t\/busybox\s+2\s/m);

  const digests = await dockerOk(d, ['images', '--digests', `${reg}/t/busybox`]);
  assert.match(digests, new RegExp(`^${reg}/t/busybox\\s+1\\s+${digest}\\s`, 'm'));
  const rd = await dockerOk(d, ['inspect', '--format', '{{json .RepoDigests}}', `${reg}/t/busybox:1`]);
  assert.ok(rd.includes(`${reg}/t/busybox@${digest}`), rd);

  // By digest, after the image is gone.
  await dockerOk(d, ['rmi', '-f', `${reg}/t/busybox:1`]);
  const imgs = (await dockerOk(d, ['images', '-q'])).trim();
  if (imgs) await dockerOk(d, ['rmi', '-f', ...new Set(imgs.split('\n'))]);
  const byDigest = await dockerOk(d, ['pull', `${reg}/t/busybox@${digest}`]);
  assert.match(byDigest, new RegExp(`^Status: Downloaded newer image for ${reg}/t/busybox@${digest}$`, 'm'));
  assert.equal(await dockerOk(d, ['run', '--rm', `${reg}/t/busybox@${digest}`, 'echo', 'by-digest']), 'by-digest\n');
});

test('errors: an unknown tag, an unknown local image, Docker Hub offline', async () => {
  const unknown = await docker(d, ['pull', `${reg}/t/busybox:nope`]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, new RegExp(`manifest for ${reg}/t/busybox:nope not found: manifest unknown`));
  const local = await docker(d, ['push', `${reg}/t/nolocal:1`]);
  assert.equal(local.code, 1);
  assert.match(local.stderr, new RegExp(`An image does not exist locally with the tag: ${reg}/t/nolocal`));
  const hub = await docker(d, ['pull', 'alpine:3']);
  assert.equal(hub.code, 1);
  assert.match(hub.stderr, /no registry can be reached from this daemon/);
});

test('login: berth-registry --htpasswd; a wrong password is refused; push and pull need it', async () => {
  const host = authed;
  const anon = await docker(d, ['pull', `${host}/priv/bb:1`]);
  assert.equal(anon.code, 1);
  const bad = await docker(d, ['login', '-u', 'tester', '--password-stdin', host], { input: 'wrong\n' });
  assert.equal(bad.code, 1);
  // dockerd's words for a Basic-auth registry refusing the password.
  assert.match(bad.stderr, new RegExp(`login attempt to http://${host}/v2/ failed with status: 401 Unauthorized`));
  const ok = await docker(d, ['login', '-u', 'tester', '--password-stdin', host], { input: 'secret\n' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Login Succeeded/);
  // The CLI keeps the credentials and sends them with every push and pull from now on.
  const config = JSON.parse(readFileSync(join(process.env.DOCKER_CONFIG!, 'config.json'), 'utf8'));
  assert.equal(Buffer.from(config.auths[host].auth, 'base64').toString(), 'tester:secret');
  const img = (await dockerOk(d, ['images', '-q'])).trim().split('\n')[0]!;
  await dockerOk(d, ['tag', img, `${host}/priv/bb:1`]);
  assert.match(await dockerOk(d, ['push', `${host}/priv/bb:1`]), /^1: digest: sha256:/m);
  await dockerOk(d, ['rmi', `${host}/priv/bb:1`]);
  assert.match(await dockerOk(d, ['pull', `${host}/priv/bb:1`]), /Status: Downloaded newer image/);
  await dockerOk(d, ['logout', host]);
  const denied = await docker(d, ['pull', `${host}/priv/bb:1`]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, new RegExp(`pull access denied for ${host}/priv/bb`));
});

test('--registry-mirror: docker.io pulls go to the mirror, pushes do not', async () => {
  // The mirror is the loopback registry with a library/ repository in it.
  const img = (await dockerOk(d, ['images', '-q'])).trim().split('\n')[0]!;
  await dockerOk(d, ['tag', img, `${reg}/library/busybox:mirrored`]);
  await dockerOk(d, ['push', `${reg}/library/busybox:mirrored`]);
  const m = await startDaemon(['--registry-mirror', `http://${reg}`]);
  try {
    const out = await dockerOk(m, ['pull', 'busybox:mirrored']);
    assert.match(out, /^mirrored: Pulling from library\/busybox$/m);
    assert.match(out, /^Status: Downloaded newer image for busybox:mirrored$/m);
    assert.equal(await dockerOk(m, ['run', '--rm', 'busybox:mirrored', 'echo', 'mirrored']), 'mirrored\n');
    const push = await docker(m, ['push', 'busybox:mirrored']);
    assert.equal(push.code, 1);
    assert.match(push.stderr, /mirrors only serve pulls/);
  } finally {
    await cleanup(m);
  }
});

test('--registry-certs-dir: docker pull of registry.k8s.io goes to the loopback registry its hosts.toml names', async () => {
  const img = (await dockerOk(d, ['images', '-q'])).trim().split('\n')[0]!;
  await dockerOk(d, ['tag', img, `${reg}/pause:3.9`]);
  await dockerOk(d, ['push', `${reg}/pause:3.9`]);
  const hosts = join(scratch, 'certs.d');
  mkdirSync(join(hosts, 'registry.k8s.io'), { recursive: true });
  // The registry itself is never contacted: the mirror answers first.
  writeFileSync(
    join(hosts, 'registry.k8s.io', 'hosts.toml'),
    `server = "https://registry.k8s.io"\n[host."http://${reg}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
  const m = await startDaemon(['--registry-certs-dir', hosts]);
  try {
    const out = await dockerOk(m, ['pull', 'registry.k8s.io/pause:3.9']);
    assert.match(out, /^3\.9: Pulling from pause$/m);
    assert.match(out, /^Status: Downloaded newer image for registry\.k8s\.io\/pause:3\.9$/m);
    assert.match(await dockerOk(m, ['images', 'registry.k8s.io/pause']), /^registry\.k8s\.io\/pause\s+3\.9\s/m);
    // A pull-only mirror (it may not resolve tags) leaves the tag to the registry, unreachable here.
    writeFileSync(
      join(hosts, 'registry.k8s.io', 'hosts.toml'),
      `server = "http://127.0.0.1:9"\n[host."http://${reg}"]\n  capabilities = ["pull"]\n`,
    );
    const refused = await docker(m, ['pull', 'registry.k8s.io/pause:3.9']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /127\.0\.0\.1:9/);
  } finally {
    await cleanup(m);
  }
  // A broken hosts file stops the daemon at start, naming the file.
  writeFileSync(join(hosts, 'registry.k8s.io', 'hosts.toml'), '[host."http://x"\n');
  await assert.rejects(
    startDaemon(['--registry-certs-dir', hosts], join(scratch, 'refused-daemon')),
    /hosts\.toml\\?" line 1: Invalid TOML/,
  );
});
