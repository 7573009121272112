import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerDefaults, parseFlags } from './config.ts';

test('defaults follow the design', () => {
  const c = parseFlags([]);
  assert.equal(c.dataRoot, '/var/lib/berth');
  assert.deepEqual(c.hosts, ['unix:///run/berth/berth.sock']);
  assert.equal(c.pidfile, '/run/berth/berthd.pid');
  assert.equal(c.liveRestore, false);
  assert.equal(c.monitor, 'berth');
});

test("--monitor picks conmon or Berth's own monitor, and nothing else", () => {
  assert.equal(parseFlags(['--monitor', 'berth']).monitor, 'berth');
  assert.equal(parseFlags(['--monitor=conmon']).monitor, 'conmon');
  assert.throws(() => parseFlags(['--monitor', 'crun']), /invalid monitor "crun": conmon or berth/);
});

test("dockerd's flag spellings", () => {
  const c = parseFlags([
    '--data-root',
    '/tmp/d',
    '--exec-root=/tmp/e',
    '-H',
    'unix:///tmp/e/s.sock',
    '-H',
    'tcp://127.0.0.1:2375',
    '--live-restore',
    '--log-level',
    'debug',
    '--pidfile',
    '/tmp/p',
  ]);
  assert.equal(c.dataRoot, '/tmp/d');
  assert.equal(c.execRoot, '/tmp/e');
  assert.deepEqual(c.hosts, ['unix:///tmp/e/s.sock', 'tcp://127.0.0.1:2375']);
  assert.equal(c.liveRestore, true);
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.pidfile, '/tmp/p');
});

test('--add-runtime name=path registers a runtime by name, the last of a name winning, and refuses anything else', () => {
  const c = parseFlags([
    '--add-runtime',
    'kata=/usr/bin/kata',
    '--add-runtime=fast=/opt/a',
    '--add-runtime',
    'fast=/opt/b',
  ]);
  assert.deepEqual(c.addedRuntimes, [
    { name: 'kata', path: '/usr/bin/kata', args: [] },
    { name: 'fast', path: '/opt/b', args: [] },
  ]);
  assert.throws(
    () => parseFlags(['--add-runtime', '/usr/bin/kata']),
    /invalid runtime "\/usr\/bin\/kata": expected name=path/,
  );
  assert.throws(() => parseFlags(['--add-runtime', 'x=']), /expected name=path/);
});

test('bad flags are refused clearly', () => {
  assert.throws(() => parseFlags(['--nope']), /unknown flag: --nope/);
  assert.throws(() => parseFlags(['--data-root']), /flag needs an argument/);
  assert.throws(() => parseFlags(['--log-level', 'loud']), /unable to parse logging level/);
});

test('TLS flags mean what dockerd makes of them: --tlsverify or --tls alone verify clients, --tlsverify=false does not', () => {
  const env = { HOME: '/nonexistent' };
  const tls = (argv: string[], e: NodeJS.ProcessEnv = env) => parseFlags(argv, e).apiTls;
  assert.deepEqual(
    [
      tls([]).enabled,
      tls(['--tlsverify']).verifyClients,
      tls(['--tls']).verifyClients,
      tls(['--tls', '--tlsverify=false']).verifyClients,
    ],
    [false, true, true, false],
  );
  assert.equal(tls(['--tlsverify=false']).enabled, true, '--tlsverify=false still means TLS');
  assert.equal(tls(['--tls=false']).enabled, false);
  assert.equal(tls(['--tls=false']).explicit, true, 'plain TCP on purpose');
  assert.equal(tls([]).explicit, false);
  // DOCKER_TLS_VERIFY in the daemon's environment does not switch TLS on by itself (as dockerd)
  assert.equal(tls([], { ...env, DOCKER_TLS_VERIFY: '1' }).enabled, false);
  const files = tls(['--tlsverify', '--tlscacert', '/c/ca.pem', '--tlscert=/c/s.pem', '--tlskey', '/c/k.pem']);
  assert.deepEqual([files.ca, files.cert, files.key], ['/c/ca.pem', '/c/s.pem', '/c/k.pem']);
  const defaults = tls(['--tlsverify'], { DOCKER_CERT_PATH: '/certs' });
  assert.equal(defaults.ca, '/certs/ca.pem');
  assert.equal(defaults.cert, '', 'a default certificate that does not exist is no file');
  assert.throws(() => parseFlags(['--tls=yes']), /invalid argument "yes" for "--tls" flag/);
});

test("-H addresses get dockerd's defaults: port 2375, localhost, and tcp://localhost:2376 when TLS is on and none is given", () => {
  assert.deepEqual(parseFlags(['--tlsverify']).hosts, ['tcp://localhost:2376']);
  assert.deepEqual(parseFlags(['-H', 'tcp://0.0.0.0', '-H', 'tcp://:2376', '-H', '127.0.0.1:5555']).hosts, [
    'tcp://0.0.0.0:2375',
    'tcp://localhost:2376',
    'tcp://127.0.0.1:5555',
  ]);
  assert.deepEqual(parseFlags(['-H', 'tcp://[::1]:2376', '-H', 'unix://']).hosts, [
    'tcp://[::1]:2376',
    'unix:///run/berth/berth.sock',
  ]);
  assert.throws(
    () => parseFlags(['-H', 'tcp://1.2.3.4:http']),
    /invalid bind address \(tcp:\/\/1.2.3.4:http\): invalid port: http/,
  );
  assert.throws(() => parseFlags(['-H', 'udp://1.2.3.4']), /unsupported proto 'udp'/);
});

test('--default-ulimit and --no-new-privileges are read as dockerd reads them', () => {
  const c = parseFlags(['--default-ulimit', 'nofile=100:200', '--default-ulimit=nproc=50', '--no-new-privileges']);
  assert.deepEqual(c.defaultUlimits, [
    { Name: 'nofile', Soft: 100, Hard: 200 },
    { Name: 'nproc', Soft: 50, Hard: 50 },
  ]);
  assert.equal(c.noNewPrivileges, true);
  assert.throws(() => parseFlags(['--default-ulimit', 'nofile=300:200']), /soft limit must be less than or equal/);
  assert.deepEqual(parseFlags(['--registry-certs-dir', '/tmp/c']).registryCertsDirs, ['/tmp/c']);
  assert.deepEqual(parseFlags([]).registryCertsDirs, ['/etc/berth/certs.d', '/etc/docker/certs.d']);
});

test("containers get nofile 1024:524288 unless told otherwise, never above berthd's own hard limit", () => {
  assert.deepEqual(containerDefaults(parseFlags([]), Infinity).ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 524288 }]);
  assert.deepEqual(containerDefaults(parseFlags([]), 20000).ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 20000 }]);
  assert.deepEqual(containerDefaults(parseFlags([]), 512).ulimits, [{ Name: 'nofile', Soft: 512, Hard: 512 }]);
  const given = containerDefaults(
    parseFlags(['--default-ulimit', 'nofile=64:128', '--default-ulimit', 'nproc=10']),
    20000,
  );
  assert.deepEqual(given.ulimits, [
    { Name: 'nofile', Soft: 64, Hard: 128 },
    { Name: 'nproc', Soft: 10, Hard: 10 },
  ]);
  assert.equal(containerDefaults(parseFlags(['--no-new-privileges']), 1).noNewPrivileges, true);
});

test('registry hosts: hosts.toml in the certs directories, registries.conf only when named', () => {
  assert.equal(parseFlags([]).registriesConf, '');
  const c = parseFlags([
    '--registry-certs-dir',
    '/etc/containerd/certs.d',
    '--registry-certs-dir=/etc/docker/certs.d',
    '--registries-conf=/etc/containers/r.conf',
  ]);
  assert.deepEqual(c.registryCertsDirs, ['/etc/containerd/certs.d', '/etc/docker/certs.d']);
  assert.equal(c.registriesConf, '/etc/containers/r.conf');
});

test('CNI: /etc/cni/net.d and Debian then upstream plugin dirs by default; --cni-bin-dir repeated or colon-separated', () => {
  const d = parseFlags([]);
  assert.equal(d.cniConfDir, '/etc/cni/net.d');
  assert.deepEqual(d.cniBinDirs, ['/usr/lib/cni', '/opt/cni/bin']);
  const c = parseFlags(['--cni-conf-dir=/tmp/net.d', '--cni-bin-dir', '/a:/b', '--cni-bin-dir=/c']);
  assert.equal(c.cniConfDir, '/tmp/net.d');
  assert.deepEqual(c.cniBinDirs, ['/a', '/b', '/c']);
  assert.equal(d.cniDefaultNetwork, false);
  assert.equal(parseFlags(['--cni-default-network']).cniDefaultNetwork, true);
});

test('--userns-remap uses idmapped layers where the kernel can, unless BERTH_USERNS_IDMAP=0 asks for the chowned copy', () => {
  assert.equal(parseFlags(['--userns-remap', 'default'], {}).usernsIdmap, true);
  assert.equal(parseFlags(['--userns-remap', 'default'], { BERTH_USERNS_IDMAP: '0' }).usernsIdmap, false);
});

test("--sandbox-image names the CRI's pause image; by default none, so sandboxes run Berth's own berth-pause", () => {
  assert.equal(parseFlags([]).sandboxImage, '');
  assert.equal(parseFlags(['--sandbox-image', 'registry.k8s.io/pause:3.9']).sandboxImage, 'registry.k8s.io/pause:3.9');
});
