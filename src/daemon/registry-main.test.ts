import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGcFlags, parseListen, parseRegistryFlags } from './registry-main.ts';

test('berth-registry flags: defaults are loopback:5000 and /var/lib/berth-registry', () => {
  assert.deepEqual(parseRegistryFlags([]), {
    host: '127.0.0.1',
    port: 5000,
    root: '/var/lib/berth-registry',
    realm: 'berth-registry',
    logLevel: 'info',
    help: false,
    deleteEnabled: true,
    readOnly: false,
    uploadPurging: { enabled: true, ageMs: 24 * 3600_000, intervalMs: 3600_000, dryRun: false },
    endpoints: [],
    includeReferences: false,
    ignored: [],
  });
  const cfg = parseRegistryFlags(['--listen', '127.0.0.1:5001', '--root=/tmp/r', '-l', 'debug']);
  assert.equal(cfg.port, 5001);
  assert.equal(cfg.root, '/tmp/r');
  assert.equal(cfg.logLevel, 'debug');
  assert.equal(parseRegistryFlags(['-h']).help, true);
  const auth = parseRegistryFlags(['--htpasswd', '/etc/htpasswd', '--realm=Private']);
  assert.equal(auth.htpasswd, '/etc/htpasswd');
  assert.equal(auth.realm, 'Private');
});

test('berth-registry flags: listen addresses and mistakes', () => {
  assert.deepEqual(parseListen(':5000'), { host: '0.0.0.0', port: 5000 });
  assert.deepEqual(parseListen('[::1]:5000'), { host: '::1', port: 5000 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['5000', '127.0.0.1:', '127.0.0.1:70000', '::1:5000'])
    assert.throws(() => parseListen(bad), /invalid --listen/, bad);
  assert.throws(() => parseRegistryFlags(['--root']), /needs an argument/);
  assert.throws(() => parseRegistryFlags(['--log-level', 'loud']), /invalid log level/);
  assert.throws(() => parseRegistryFlags(['serve']), /unknown flag/);
});

test('berth-registry TLS flags: both files or neither, and Basic auth off loopback only with TLS', () => {
  const tls = parseRegistryFlags(['--tls-cert', '/c.pem', '--tls-key=/k.pem', '--tls-client-ca', '/ca.pem']);
  assert.deepEqual([tls.tlsCert, tls.tlsKey, tls.tlsClientCa], ['/c.pem', '/k.pem', '/ca.pem']);
  assert.throws(() => parseRegistryFlags(['--tls-cert', '/c.pem']), /--tls-cert and --tls-key go together/);
  assert.throws(() => parseRegistryFlags(['--tls-client-ca', '/ca.pem']), /--tls-client-ca needs --tls-cert/);
  assert.throws(
    () => parseRegistryFlags(['--listen', ':5000', '--htpasswd', '/h']),
    /refusing Basic auth over plain HTTP on 0\.0\.0\.0:5000: passwords would cross the network merely base64-encoded/,
  );
  assert.throws(
    () => parseRegistryFlags(['--listen', 'registry.example:5000', '--htpasswd', '/h']),
    /refusing Basic auth/,
  );
  // on loopback, or with TLS, it is allowed
  parseRegistryFlags(['--listen', '127.0.0.1:5000', '--htpasswd', '/h']);
  parseRegistryFlags(['--listen', '[::1]:5000', '--htpasswd', '/h']);
  parseRegistryFlags(['--listen', ':5000', '--htpasswd', '/h', '--tls-cert', '/c', '--tls-key', '/k']);
});

const CONFIG = `
version: 0.1
log:
  level: debug
  formatter: text
storage:
  filesystem:
    rootdirectory: /srv/registry
  delete:
    enabled: false
  maintenance:
    uploadpurging:
      enabled: true
      age: 168h
      interval: 24h
      dryrun: false
    readonly:
      enabled: true
http:
  addr: 127.0.0.1:5055
auth:
  htpasswd:
    realm: basic-realm
    path: /etc/registry/htpasswd
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      url: http://127.0.0.1:9999/callback
      headers:
        Authorization: [Bearer secret]
      timeout: 500ms
      threshold: 5
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        actions:
          - pull
`;

test('berth-registry --config reads a distribution config.yml; flags beside it win', () => {
  const read = (p: string) => {
    assert.equal(p, '/etc/registry/config.yml');
    return CONFIG;
  };
  const cfg = parseRegistryFlags(['--config', '/etc/registry/config.yml'], read);
  assert.equal(cfg.root, '/srv/registry');
  assert.equal(cfg.port, 5055);
  assert.equal(cfg.logLevel, 'debug');
  assert.equal(cfg.htpasswd, '/etc/registry/htpasswd');
  assert.equal(cfg.realm, 'basic-realm');
  assert.equal(cfg.deleteEnabled, false);
  assert.equal(cfg.readOnly, true);
  assert.deepEqual(cfg.uploadPurging, {
    enabled: true,
    ageMs: 168 * 3600_000,
    intervalMs: 24 * 3600_000,
    dryRun: false,
  });
  assert.equal(cfg.endpoints.length, 1);
  assert.deepEqual(cfg.endpoints[0], {
    name: 'alistener',
    url: 'http://127.0.0.1:9999/callback',
    headers: { Authorization: ['Bearer secret'] },
    timeoutMs: 500,
    threshold: 5,
    backoffMs: 1000,
    disabled: false,
    ignoredMediaTypes: ['application/octet-stream'],
    ignore: { mediaTypes: [], actions: ['pull'] },
  });
  assert.equal(cfg.includeReferences, true);
  assert.deepEqual(cfg.ignored, ['log.formatter'], 'what Berth does not act on is named');

  const over = parseRegistryFlags(['--root', '/tmp/r', '--config=/etc/registry/config.yml', '-l', 'warn'], read);
  assert.equal(over.root, '/tmp/r');
  assert.equal(over.logLevel, 'warn');
  assert.equal(over.port, 5055);
});

test('berth-registry --config: a malformed file is refused naming the key', () => {
  const bad = (yaml: string) => () => parseRegistryFlags(['--config', 'c.yml'], () => yaml);
  assert.throws(
    bad('storage:\n  delete:\n    enabled: sometimes\n'),
    /config "c.yml": storage.delete.enabled: want true or false/,
  );
  assert.throws(
    bad('storage:\n  s3:\n    bucket: b\n'),
    /storage.s3: Berth's registry stores on the local file system only/,
  );
  assert.throws(
    bad('storage:\n  maintenance:\n    uploadpurging:\n      age: a week\n'),
    /uploadpurging.age: invalid duration "a week"/,
  );
  assert.throws(
    bad('notifications:\n  endpoints:\n    - name: x\n      url: ftp://h\n'),
    /endpoints\[0\].url: want an http/,
  );
  assert.throws(bad('log:\n  level: loud\n'), /invalid log.level "loud"/);
  assert.throws(() => parseRegistryFlags(['--config', '/nonexistent/c.yml']), /read config "\/nonexistent\/c.yml"/);
});

test('berth-registry garbage-collect flags: the root from --root or a config file, dry run, untagged, grace', () => {
  assert.deepEqual(parseGcFlags([]), {
    root: '/var/lib/berth-registry',
    dryRun: false,
    deleteUntagged: false,
    graceMs: 600_000,
    help: false,
  });
  const f = parseGcFlags(['/etc/registry/config.yml', '--dry-run', '-m', '--grace', '0s'], () => CONFIG);
  assert.deepEqual(f, { root: '/srv/registry', dryRun: true, deleteUntagged: true, graceMs: 0, help: false });
  assert.equal(parseGcFlags(['--root=/r', '-d']).root, '/r');
  assert.throws(() => parseGcFlags(['--bogus']), /unknown flag: --bogus/);
});
