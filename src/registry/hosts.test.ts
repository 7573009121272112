import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostDirNames, parseGoDuration, parseHostsToml, readHostsDirs } from './hosts.ts';

test('hosts.toml: hosts in the order the file lists them, then the server', () => {
  const hosts = parseHostsToml(
    `server = "https://registry.k8s.io"

[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]

[host."https://mirror.example/cache"]
  capabilities = ["pull"]
  ca = "mirror.crt"
  skip_verify = true
  dial_timeout = "1.5s"
  [host."https://mirror.example/cache".header]
    x-token = "abc"
    x-many = ["a", "b"]
`,
    '/etc/berth/certs.d/registry.k8s.io',
  );
  assert.deepEqual(
    hosts.map((h) => [h.base, h.apiRoot, h.capabilities]),
    [
      ['http://127.0.0.1:5000', '/v2', ['pull', 'resolve']],
      ['https://mirror.example', '/cache/v2', ['pull']],
      ['https://registry.k8s.io', '/v2', ['pull', 'resolve', 'push']],
    ],
  );
  assert.deepEqual(hosts[1]!.ca, ['/etc/berth/certs.d/registry.k8s.io/mirror.crt']);
  assert.equal(hosts[1]!.skipVerify, true);
  assert.equal(hosts[1]!.dialTimeoutMs, 1500);
  assert.deepEqual(hosts[1]!.headers, { 'x-token': 'abc', 'x-many': ['a', 'b'] });
});

test('hosts.toml: without a server the registry itself comes last; override_path keeps the path as the API root', () => {
  const hosts = parseHostsToml(
    `[host."http://10.0.0.5:8080/some/api"]
  override_path = true
  client = [["/c/client.cert", "/c/client.key"], "both.pem"]
`,
    '/d',
  );
  assert.equal(hosts.length, 2);
  assert.equal(hosts[0]!.apiRoot, '/some/api');
  assert.deepEqual(hosts[0]!.client, [
    ['/c/client.cert', '/c/client.key'],
    ['/d/both.pem', ''],
  ]);
  assert.equal(hosts[1]!.base, undefined, 'the registry, reached as the defaults say');
  assert.deepEqual(hosts[1]!.capabilities, ['pull', 'resolve', 'push']);
});

test('hosts.toml: mistakes are refused with the file, and the line for a syntax error', () => {
  assert.throws(() => parseHostsToml('server = "https://a"\n[host."http://b"\n', '/d'), /"\/d\/hosts\.toml" line 2/);
  assert.throws(
    () => parseHostsToml('[host."http://b"]\ncapabilities = ["pull", "fetch"]\n', '/d'),
    /unknown capability "fetch"/,
  );
  assert.throws(() => parseHostsToml('[host."http://b"]\nskip-verify = true\n', '/d'), /unknown key "skip-verify"/);
  assert.throws(() => parseHostsToml('server = "ftp://x"\n', '/d'), /only http and https/);
  assert.throws(() => parseGoDuration('10'), /invalid duration/);
  assert.equal(parseGoDuration('1m30s'), 90_000);
});

test("hosts directories: containerd's order of names, _default last", () => {
  assert.deepEqual(hostDirNames('myregistry.io:5000'), ['myregistry.io_5000_', 'myregistry.io:5000', '_default']);
  assert.deepEqual(hostDirNames('registry.k8s.io'), ['registry.k8s.io', '_default']);
});

test('hosts directories: a hosts.toml under its own names in any certs directory, else the first _default; certificate files alone say nothing', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-hosts-'));
  const [berth, docker] = [join(root, 'berth'), join(root, 'docker')];
  const put = async (dir: string, file: string, text: string) => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, file), text);
  };
  try {
    assert.equal(await readHostsDirs([berth, docker], 'quay.io'), undefined);
    await put(join(docker, '_default'), 'hosts.toml', '[host."http://127.0.0.1:5000"]\n');
    const d = await readHostsDirs([berth, docker], 'quay.io');
    assert.equal(d?.isDefault, true);
    assert.equal(d?.hosts[0]!.base, 'http://127.0.0.1:5000');
    // Docker's certificate files without hosts.toml are certs.d's business (tls/certsd.ts), and an empty file is none.
    await put(join(berth, 'reg.example:5000'), 'ca.crt', 'PEM');
    await put(join(berth, 'reg.example_5000_'), 'hosts.toml', '\n');
    assert.equal((await readHostsDirs([berth, docker], 'reg.example:5000'))?.isDefault, true);
    await put(join(docker, 'reg.example:5000'), 'hosts.toml', 'server = "http://127.0.0.1:6000"\n');
    const own = await readHostsDirs([berth, docker], 'reg.example:5000');
    assert.equal(own?.isDefault, false, "the second directory's own file before the first's _default");
    assert.deepEqual(
      own?.hosts.map((h) => h.base),
      ['http://127.0.0.1:6000'],
    );
    await put(join(berth, '_default'), 'hosts.toml', '[host."http://127.0.0.1:7000"]\n');
    assert.equal((await readHostsDirs([berth, docker], 'quay.io'))?.hosts[0]!.base, 'http://127.0.0.1:7000');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
