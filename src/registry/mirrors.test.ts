import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allRegistryHosts, checkRegistryFiles, registryHosts, type RegistryHost } from './mirrors.ts';
import type { RegistryConfig } from './endpoint.ts';
import { makePki } from '../tls/testing.ts';

let root: string;
let cfg: RegistryConfig;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-mirrors-'));
  const hostsDir = join(root, 'certs.d');
  await mkdir(join(hostsDir, 'registry.k8s.io'), { recursive: true });
  await writeFile(
    join(hostsDir, 'registry.k8s.io', 'hosts.toml'),
    'server = "https://registry.k8s.io"\n[host."http://127.0.0.1:5000"]\ncapabilities = ["pull", "resolve"]\n',
  );
  await mkdir(join(hostsDir, '_default'));
  await writeFile(join(hostsDir, '_default', 'hosts.toml'), '[host."http://127.0.0.1:6000"]\n');
  await writeFile(join(hostsDir, '_default', 'ignored.crt'), 'x');
  await writeFile(
    join(root, 'registries.conf'),
    `[[registry]]
location = "registry.k8s.io"
[[registry.mirror]]
location = "never.example"

[[registry]]
prefix = "quay.io/team"
location = "quay.internal:8443/mirror/team"
[[registry.mirror]]
location = "127.0.0.1:7000/cache"

[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:8000"
`,
  );
  cfg = { insecure: [], mirrors: [], certsDirs: [hostsDir], registriesConf: join(root, 'registries.conf') };
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

// A host as `base[|fallback] repo capabilities`.
const show = (hs: RegistryHost[]) =>
  hs.map(
    (h) =>
      `${h.endpoint.base}${h.endpoint.fallback ? `|${h.endpoint.fallback}` : ''} ${h.repo} ${h.capabilities.join(',')}`,
  );

test("a registry's own hosts.toml decides before registries.conf: its mirror, then its server", async () => {
  assert.deepEqual(show(await allRegistryHosts({ domain: 'registry.k8s.io', path: 'pause' }, cfg)), [
    'http://127.0.0.1:5000 pause pull,resolve',
    'https://registry.k8s.io pause pull,resolve,push',
  ]);
  const [mirror] = await allRegistryHosts({ domain: 'registry.k8s.io', path: 'pause' }, cfg);
  assert.equal(mirror!.endpoint.mirror, true);
  assert.equal(mirror!.endpoint.name, 'registry.k8s.io', 'knowledge of blobs stays under the registry');
});

test('registries.conf comes next: a mirror under a path of its own, then the location it names', async () => {
  assert.deepEqual(show(await allRegistryHosts({ domain: 'quay.io', path: 'team/app' }, cfg)), [
    'https://127.0.0.1:7000|http://127.0.0.1:7000 cache/app pull,resolve',
    'https://quay.internal:8443 mirror/team/app pull,resolve,push',
  ]);
});

test('docker.io: only its mirrors (Docker Hub itself is offline here); pushes have nowhere to go', async () => {
  assert.deepEqual(show(await allRegistryHosts({ domain: 'docker.io', path: 'library/busybox' }, cfg)), [
    'https://127.0.0.1:8000|http://127.0.0.1:8000 library/busybox pull,resolve',
  ]);
  await assert.rejects(
    registryHosts({ domain: 'docker.io', path: 'library/busybox' }, cfg, 'push'),
    /mirrors only serve pulls/,
  );
  await assert.rejects(
    registryHosts({ domain: 'docker.io', path: 'library/busybox' }, { insecure: [], mirrors: [] }, 'pull'),
    /Docker Hub is offline here/,
  );
  assert.deepEqual(
    show(
      await allRegistryHosts(
        { domain: 'docker.io', path: 'library/busybox' },
        { insecure: [], mirrors: ['http://127.0.0.1:9000/', 'http://127.0.0.1:9001'] },
      ),
    ),
    ['http://127.0.0.1:9000 library/busybox pull,resolve', 'http://127.0.0.1:9001 library/busybox pull,resolve'],
  );
});

test('_default/hosts.toml serves the rest, then the registry itself as the flags reach it', async () => {
  assert.deepEqual(show(await allRegistryHosts({ domain: 'ghcr.io', path: 'o/r' }, cfg)), [
    'http://127.0.0.1:6000 o/r pull,resolve,push',
    'https://ghcr.io o/r pull,resolve,push',
  ]);
  assert.deepEqual(
    show(await allRegistryHosts({ domain: 'ghcr.io', path: 'o/r' }, { ...cfg, certsDirs: [], insecure: ['ghcr.io'] })),
    ['https://ghcr.io|http://ghcr.io o/r pull,resolve,push'],
  );
});

test('a blocked registry is refused; a broken file stops the daemon at start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mirrors-bad-'));
  try {
    await writeFile(join(dir, 'r.conf'), '[[registry]]\nprefix = "*.corp.example"\nblocked = true\n');
    const c = { insecure: [], mirrors: [], certsDirs: [], registriesConf: join(dir, 'r.conf') };
    await assert.rejects(allRegistryHosts({ domain: 'git.corp.example', path: 'a' }, c), /is blocked/);
    await checkRegistryFiles(c);
    await mkdir(join(dir, 'hosts', 'reg.example'), { recursive: true });
    await writeFile(join(dir, 'hosts', 'reg.example', 'hosts.toml'), '[host."http://x"\n');
    await assert.rejects(checkRegistryFiles({ ...c, certsDirs: [join(dir, 'hosts')] }), /hosts\.toml" line 1/);
    await assert.rejects(checkRegistryFiles({ ...c, registriesConf: join(dir, 'missing.conf') }), /no such file/);
    await checkRegistryFiles({ ...c, certsDirs: [join(dir, 'no-such-dir')] });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("TLS per host: certs.d's files for the host it names, then hosts.toml's ca, client and skip_verify over them", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mirrors-tls-'));
  try {
    const pki = makePki(join(dir, 'pki'));
    const certs = join(dir, 'certs.d');
    const put = async (host: string, file: string, text: string) => {
      await mkdir(join(certs, host), { recursive: true });
      await writeFile(join(certs, host, file), text);
    };
    // The mirror's own CA in Docker's layout, under the mirror's name.
    await mkdir(join(certs, 'mirror.example:5443'), { recursive: true });
    await copyFile(pki.ca, join(certs, 'mirror.example:5443', 'ca.crt'));
    await mkdir(join(certs, 'registry.k8s.io'));
    await copyFile(pki.ca, join(certs, 'registry.k8s.io', 'ours.crt'));
    await copyFile(pki.clientCert, join(certs, 'registry.k8s.io', 'client.pem'));
    await copyFile(pki.clientKey, join(certs, 'registry.k8s.io', 'client-key.pem'));
    await put(
      'registry.k8s.io',
      'hosts.toml',
      `server = "https://registry.k8s.io"
[host."https://mirror.example:5443"]
  capabilities = ["pull", "resolve"]
[host."https://127.0.0.1:5443"]
  ca = "ours.crt"
  client = [["client.pem", "client-key.pem"]]
[host."https://untrusted.example"]
  skip_verify = true
`,
    );
    // The registry itself on loopback, as the defaults reach it, until its file says whom to trust.
    await put('127.0.0.1:6000', 'hosts.toml', '[host."http://127.0.0.1:6001"]\n');
    const c: RegistryConfig = { insecure: [], mirrors: [], certsDirs: [certs] };
    const [mirror, loop, untrusted, server] = (
      await allRegistryHosts({ domain: 'registry.k8s.io', path: 'pause' }, c)
    ).map((h) => h.endpoint);
    const ca = (await readFile(pki.ca, 'utf8')).trim();
    assert.equal(mirror!.tls?.verify, true);
    assert.ok(
      mirror!.tls?.ca?.some((x) => x.trim() === ca),
      "certs.d's CA for the mirror's host",
    );
    assert.deepEqual([loop!.tls?.verify, loop!.fallback], [true, undefined], 'a CA given: checked, even on loopback');
    assert.ok(loop!.tls?.ca?.some((x) => x.trim() === ca) && loop!.tls.ca.length > 1, "besides the system's roots");
    assert.ok(loop!.tls?.cert && loop!.tls.key);
    assert.deepEqual([untrusted!.tls?.verify, untrusted!.fallback], [false, undefined]);
    assert.deepEqual([server!.base, server!.tls?.verify], ['https://registry.k8s.io', true]);
    const [, own] = (await allRegistryHosts({ domain: '127.0.0.1:6000', path: 'a' }, c)).map((h) => h.endpoint);
    assert.deepEqual(
      [own!.base, own!.fallback, own!.tls?.verify],
      ['https://127.0.0.1:6000', 'http://127.0.0.1:6000', false],
    );
    await put('127.0.0.1:6000', 'hosts.toml', 'skip_verify = false\n');
    const [checked] = (await allRegistryHosts({ domain: '127.0.0.1:6000', path: 'a' }, c)).map((h) => h.endpoint);
    assert.deepEqual([checked!.fallback, checked!.tls?.verify], [undefined, true]);
    // A file it names that is not there fails the pull with that file's name.
    await put('127.0.0.1:6000', 'hosts.toml', 'ca = "gone.crt"\n');
    await assert.rejects(allRegistryHosts({ domain: '127.0.0.1:6000', path: 'a' }, c), /gone\.crt: no such file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('registries.conf: insecure = true is HTTPS without checking, then plain HTTP; otherwise the host is checked', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mirrors-insecure-'));
  try {
    await writeFile(
      join(dir, 'r.conf'),
      `[[registry]]
location = "quay.example"
[[registry.mirror]]
location = "cache.example:5000/q"
insecure = true
`,
    );
    const c = { insecure: [], mirrors: [], certsDirs: [], registriesConf: join(dir, 'r.conf') };
    const [m, q] = (await allRegistryHosts({ domain: 'quay.example', path: 'a/b' }, c)).map((h) => h.endpoint);
    assert.deepEqual(
      [m!.base, m!.fallback, m!.tls?.verify, m!.name, m!.mirror],
      ['https://cache.example:5000', 'http://cache.example:5000', false, 'quay.example', true],
    );
    assert.deepEqual(
      [q!.base, q!.fallback, q!.tls?.verify, q!.mirror],
      ['https://quay.example', undefined, true, false],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
