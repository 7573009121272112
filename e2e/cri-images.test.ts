/**
 * The CRI socket of a private berthd, driven by a gRPC client built from Berth's own CRI
 * definitions (@grpc/grpc-js, as CI has no crictl): Version, Status, the image service, and a
 * method not served yet. Images come from berth-registry on 127.0.0.1, named as
 * `registry.k8s.io/...` through a hosts.toml mirror, the way an offline node gets them. The
 * client sends the socket's path as its `:authority`, as kubelet and crictl 1.26 do.
 *
 * With CRICTL=<path to crictl> (built from cri-tools, see docs/cri.md) the same daemon is also
 * driven by crictl; without it that test is skipped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import bcrypt from 'bcryptjs';
import { criDefinitions } from '../src/cri/index.ts';
import {
  startDaemon,
  cleanup,
  docker,
  dockerOk,
  bootstrapBusybox,
  run,
  startRegistry as startRegistryProcess,
  type Daemon,
} from './harness.ts';

let d: Daemon;
let scratch: string;
let reg: string;
let authed: string;
let criSock: string;
const servers: ChildProcess[] = [];
let runtimeClient: grpc.Client;
let imageClient: grpc.Client;

/** A berth-registry under the scratch directory, stopped in after(). */
async function startRegistry(root: string, extra: string[] = []): Promise<string> {
  const r = await startRegistryProcess(join(scratch, root), extra);
  servers.push(r.proc);
  return r.host;
}

function call<T = any>(client: grpc.Client, method: string, request: object = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-cri-'));
  process.env.DOCKER_CONFIG = join(scratch, 'docker');
  reg = await startRegistry('registry');
  const htpasswd = join(scratch, 'htpasswd');
  writeFileSync(htpasswd, `kube:${bcrypt.hashSync('pullsecret', 5).replace(/^\$2[ab]\$/, '$2y$')}\n`);
  authed = await startRegistry('authed', ['--htpasswd', htpasswd]);
  const hosts = join(scratch, 'certs.d');
  mkdirSync(join(hosts, 'registry.k8s.io'), { recursive: true });
  writeFileSync(
    join(hosts, 'registry.k8s.io', 'hosts.toml'),
    `server = "https://registry.k8s.io"\n[host."http://${reg}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
  // A CNI directory with one network and one broken file, as Status reports them.
  const netd = join(scratch, 'net.d');
  mkdirSync(netd);
  writeFileSync(join(netd, '05-broken.conf'), '{');
  writeFileSync(
    join(netd, '10-pods.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge' }, { type: 'nosuchplugin' }] }),
  );
  d = await startDaemon(['--registry-certs-dir', hosts, '--cni-conf-dir', netd, '--cni-bin-dir', '/usr/lib/cni']);
  criSock = join(d.root, 'run', 'cri.sock');
  await bootstrapBusybox(d);
  // The registry's images: a pause image, and one whose user is a number.
  await dockerOk(d, ['build', '-t', `${reg}/pause:3.9`, '-'], {
    // It runs as a sandbox's infra (--sandbox-image), so it stays up as a pause does.
    input: 'FROM busybox\nLABEL role=pause\nCMD ["sleep", "2147483647"]\n',
  });
  await dockerOk(d, ['push', `${reg}/pause:3.9`]);
  await dockerOk(d, ['build', '-t', `${reg}/user:1`, '-'], { input: 'FROM busybox\nUSER 1002:1002\n' });
  await dockerOk(d, ['push', `${reg}/user:1`]);
  await dockerOk(d, ['rmi', `${reg}/pause:3.9`, `${reg}/user:1`]);
  await dockerOk(d, ['login', authed, '-u', 'kube', '--password-stdin'], { input: 'pullsecret' });
  await dockerOk(d, ['tag', 'busybox', `${authed}/private/app:1`]);
  await dockerOk(d, ['push', `${authed}/private/app:1`]);
  await dockerOk(d, ['rmi', `${authed}/private/app:1`]);
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  // The socket's path as :authority, as grpc-go in kubelet and crictl 1.26 send it.
  const options = { 'grpc.default_authority': criSock };
  runtimeClient = new pkg.runtime.v1.RuntimeService(`unix://${criSock}`, grpc.credentials.createInsecure(), options);
  imageClient = new pkg.runtime.v1.ImageService(`unix://${criSock}`, grpc.credentials.createInsecure(), options);
});

after(async () => {
  runtimeClient?.close();
  imageClient?.close();
  if (d) await cleanup(d);
  for (const s of servers) s.kill('SIGTERM');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the CRI socket is under the exec root, for root and the socket group only', () => {
  const st = statSync(criSock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
});

test('Version names Berth and CRI v1; Status has the runtime ready and the network honestly not', async () => {
  assert.deepEqual(await call(runtimeClient, 'Version', { version: '0.1.0' }), {
    version: '0.1.0',
    runtime_name: 'berth',
    runtime_version: (await dockerOk(d, ['version', '--format', '{{.Server.Version}}'])).trim(),
    runtime_api_version: 'v1',
  });
  const s = await call(runtimeClient, 'Status', { verbose: true });
  const byType = Object.fromEntries(s.status.conditions.map((c: any) => [c.type, c]));
  assert.equal(byType.RuntimeReady.status, true);
  assert.equal(byType.NetworkReady.status, false);
  assert.equal(byType.NetworkReady.reason, 'NetworkPluginNotReady');
  assert.equal(byType.NetworkReady.message, 'cni plugins not found for network "pods": nosuchplugin');
  assert.deepEqual(JSON.parse(s.info.config).registry.certsDirs, [join(scratch, 'certs.d')]);
  assert.equal(JSON.parse(s.info.config).cniConfDir, join(scratch, 'net.d'));
  const cni = JSON.parse(s.info.cni);
  assert.deepEqual(cni.network, { name: 'pods', file: '10-pods.conflist', cniVersion: '1.0.0' });
  assert.deepEqual(
    cni.skipped.map((x: { file: string }) => x.file),
    ['05-broken.conf'],
  );
  assert.ok(cni.missingPlugins.includes('nosuchplugin'));
});

test('a method Berth does not serve yet answers UNIMPLEMENTED, saying so', async () => {
  await assert.rejects(call(runtimeClient, 'CheckpointContainer', { container_id: 'x' }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
    assert.match(e.details, /^CheckpointContainer is not implemented by Berth yet/);
    return true;
  });
});

test('PullImage fetches registry.k8s.io/pause:3.9 from the loopback mirror; ListImages, ImageStatus by tag, ID and digest, and docker images all see it', async () => {
  const { image_ref } = await call(imageClient, 'PullImage', { image: { image: 'registry.k8s.io/pause:3.9' } });
  assert.match(image_ref, /^sha256:[0-9a-f]{64}$/);
  const { images } = await call(imageClient, 'ListImages', {});
  const listed = images.find((i: any) => i.id === image_ref);
  assert.deepEqual(listed.repo_tags, ['registry.k8s.io/pause:3.9']);
  assert.equal(listed.repo_digests.length, 1);
  assert.match(listed.repo_digests[0], /^registry\.k8s\.io\/pause@sha256:/);
  assert.ok(Number(listed.size) > 1_000_000);
  const byTag = await call(imageClient, 'ImageStatus', { image: { image: 'registry.k8s.io/pause:3.9' } });
  assert.deepEqual(byTag.image, listed);
  assert.deepEqual((await call(imageClient, 'ImageStatus', { image: { image: image_ref } })).image, listed);
  assert.deepEqual(
    (await call(imageClient, 'ImageStatus', { image: { image: listed.repo_digests[0] } })).image,
    listed,
  );
  const verbose = await call(imageClient, 'ImageStatus', { image: { image: image_ref }, verbose: true });
  assert.deepEqual(JSON.parse(verbose.info.info).imageSpec.config.Cmd, ['sleep', '2147483647']);
  // The filter of ListImages names one image.
  const filtered = await call(imageClient, 'ListImages', { filter: { image: { image: 'registry.k8s.io/pause:3.9' } } });
  assert.deepEqual(
    filtered.images.map((i: any) => i.id),
    [image_ref],
  );
  assert.match(await dockerOk(d, ['images', 'registry.k8s.io/pause']), /^registry\.k8s\.io\/pause\s+3\.9\s/m);
});

test("a build's intermediate images stay out of ListImages, as out of docker images", async () => {
  await dockerOk(d, ['build', '-t', 'local/two-steps:1', '-'], { input: 'FROM busybox\nLABEL a=1\nLABEL b=2\n' });
  const all = (await dockerOk(d, ['images', '-a', '-q', '--no-trunc'])).trim().split('\n');
  const shown = (await dockerOk(d, ['images', '-q', '--no-trunc'])).trim().split('\n');
  const intermediate = all.filter((id) => !shown.includes(id));
  assert.equal(intermediate.length, 1);
  const { images } = await call(imageClient, 'ListImages', {});
  const ids = images.map((i: any) => i.id);
  assert.ok(ids.includes((await dockerOk(d, ['images', '-q', '--no-trunc', 'local/two-steps:1'])).trim()));
  assert.ok(!ids.includes(intermediate[0]));
  await dockerOk(d, ['rmi', 'local/two-steps:1']);
});

test("an image docker pulled is in the CRI's list with its user; an unknown one has an empty status", async () => {
  await dockerOk(d, ['pull', 'registry.k8s.io/user:1']);
  const s = await call(imageClient, 'ImageStatus', { image: { image: 'registry.k8s.io/user:1' } });
  assert.deepEqual(s.image.uid, { value: '1002' });
  assert.equal(s.image.username, '');
  assert.deepEqual(s.image.repo_tags, ['registry.k8s.io/user:1']);
  assert.deepEqual(await call(imageClient, 'ImageStatus', { image: { image: 'registry.k8s.io/nothing:1' } }), {
    image: null,
    info: {},
  });
});

test('PullImage: the auth config reaches the registry; a missing image is NOT_FOUND', async () => {
  await assert.rejects(
    call(imageClient, 'PullImage', { image: { image: `${authed}/private/app:1` } }),
    (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /pull access denied/.test(e.details),
  );
  const withAuth = await call(imageClient, 'PullImage', {
    image: { image: `${authed}/private/app:1` },
    auth: { auth: Buffer.from('kube:pullsecret').toString('base64'), server_address: authed },
  });
  assert.match(withAuth.image_ref, /^sha256:/);
  await assert.rejects(
    call(imageClient, 'PullImage', { image: { image: 'registry.k8s.io/nope:1' } }),
    (e: grpc.ServiceError) =>
      e.code === grpc.status.NOT_FOUND && /manifest for registry\.k8s\.io\/nope:1 not found/.test(e.details),
  );
  await assert.rejects(
    call(imageClient, 'PullImage', { image: { image: 'Not A Reference' } }),
    (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT,
  );
});

test('RemoveImage removes every name of the image, for docker too; removing it again succeeds', async () => {
  await dockerOk(d, ['tag', 'registry.k8s.io/user:1', 'registry.k8s.io/user:other']);
  await call(imageClient, 'RemoveImage', { image: { image: 'registry.k8s.io/user:1' } });
  assert.equal(
    (await call(imageClient, 'ImageStatus', { image: { image: 'registry.k8s.io/user:other' } })).image,
    null,
  );
  assert.equal((await docker(d, ['image', 'inspect', 'registry.k8s.io/user:other'])).code, 1);
  await call(imageClient, 'RemoveImage', { image: { image: 'registry.k8s.io/user:1' } });
});

test('ImageFsInfo reports the layer store: its directory, bytes and inodes in use', async () => {
  const { image_filesystems } = await call(imageClient, 'ImageFsInfo', {});
  assert.equal(image_filesystems.length, 1);
  const fs = image_filesystems[0];
  assert.equal(fs.fs_id.mountpoint, join(d.root, 'data', 'overlay'));
  assert.ok(Number(fs.used_bytes.value) > 1_000_000, fs.used_bytes.value);
  assert.ok(Number(fs.inodes_used.value) > 100, fs.inodes_used.value);
  assert.ok(Math.abs(Number(BigInt(fs.timestamp) / 1_000_000n) - Date.now()) < 60_000);
});

test(
  'crictl against the CRI socket: version, pull, images, inspecti, imagefsinfo, rmi',
  { skip: process.env.CRICTL ? false : 'CRICTL is not set (cri-tools cannot be fetched in CI)' },
  async () => {
    const crictl = (...args: string[]) =>
      run(process.env.CRICTL!, [
        '--runtime-endpoint',
        `unix://${criSock}`,
        '--image-endpoint',
        `unix://${criSock}`,
        ...args,
      ]);
    const ok = async (...args: string[]) => {
      const r = await crictl(...args);
      assert.equal(r.code, 0, `crictl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(await ok('version'), /RuntimeName:\s+berth/);
    assert.match(await ok('pull', 'registry.k8s.io/user:1'), /Image is up to date for sha256:/);
    assert.match(await ok('images'), /registry\.k8s\.io\/user\s+1\s/);
    assert.equal(JSON.parse(await ok('inspecti', 'registry.k8s.io/user:1')).status.uid.value, '1002');
    assert.match(await ok('imagefsinfo'), /"mountpoint"/);
    assert.match(await ok('rmi', 'registry.k8s.io/user:1'), /Deleted: registry\.k8s\.io\/user:1/);
  },
);

test('--sandbox-image: the first sandbox pulls it through the mirror and runs it as the infra; it is listed pinned', async () => {
  const other = await startDaemon([
    '--sandbox-image',
    'registry.k8s.io/pause:3.9',
    '--registry-certs-dir',
    join(scratch, 'certs.d'),
  ]);
  const sock = join(other.root, 'run', 'cri.sock');
  // The CRI socket comes up after the Engine API's, which startDaemon waited for.
  for (let i = 0; i < 300 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  const options = { 'grpc.default_authority': sock };
  const rt = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), options);
  const im = new pkg.runtime.v1.ImageService(`unix://${sock}`, grpc.credentials.createInsecure(), options);
  try {
    // The host's network: this daemon has no bridge, and the infra's image is what is checked.
    const config = {
      metadata: { name: 'paused', uid: 'paused-uid', namespace: 'default', attempt: 0 },
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const { pod_sandbox_id: id } = await call(rt, 'RunPodSandbox', { config });
    const { status } = await call(rt, 'PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
    assert.equal(status.state, 'SANDBOX_READY');
    const infra = JSON.parse(await dockerOk(other, ['inspect', `k8s_POD_paused_default_paused-uid_0`]))[0];
    assert.equal(infra.Config.Image, 'registry.k8s.io/pause:3.9');
    assert.deepEqual(infra.Config.Cmd, ['sleep', '2147483647']);
    const { images } = await call(im, 'ListImages', {});
    const pause = images.find((i: any) => i.repo_tags.includes('registry.k8s.io/pause:3.9'));
    assert.equal(pause?.pinned, true);
    assert.ok(images.filter((i: any) => i !== pause).every((i: any) => !i.pinned));
    await call(rt, 'StopPodSandbox', { pod_sandbox_id: id });
    await call(rt, 'RemovePodSandbox', { pod_sandbox_id: id });
  } finally {
    rt.close();
    im.close();
    await cleanup(other);
  }
});

test('--registries-conf: mirrors for any registry serve CRI PullImage and docker pull alike', async () => {
  const conf = join(scratch, 'registries.conf');
  // registry.k8s.io and quay.io both served by the loopback registry, over plain HTTP.
  writeFileSync(
    conf,
    ['registry.k8s.io', 'quay.io']
      .map((r) => `[[registry]]\nlocation = "${r}"\n[[registry.mirror]]\nlocation = "${reg}"\ninsecure = true\n`)
      .join('\n'),
  );
  const other = await startDaemon(['--registries-conf', conf]);
  const sock = join(other.root, 'run', 'cri.sock');
  for (let i = 0; i < 300 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  const im = new pkg.runtime.v1.ImageService(`unix://${sock}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': sock,
  });
  try {
    const { image_ref } = await call(im, 'PullImage', { image: { image: 'registry.k8s.io/pause:3.9' } });
    assert.match(image_ref, /^sha256:/);
    await dockerOk(other, ['pull', 'quay.io/user:1']);
    const { images } = await call(im, 'ListImages', {});
    const tags = images.flatMap((i: any) => i.repo_tags);
    assert.ok(tags.includes('registry.k8s.io/pause:3.9'), tags.join(' '));
    assert.ok(tags.includes('quay.io/user:1'), tags.join(' '));
  } finally {
    im.close();
    await cleanup(other);
  }
});

test('berthd --cri=false serves no CRI socket', async () => {
  const other = await startDaemon(['--cri=false']);
  try {
    assert.equal(existsSync(join(other.root, 'run', 'cri.sock')), false);
  } finally {
    await cleanup(other);
  }
});
