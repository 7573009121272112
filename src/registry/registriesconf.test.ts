import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRule, parseRegistriesConf } from './registriesconf.ts';

const CONF = `unqualified-search-registries = ["docker.io"]

[[registry]]
location = "registry.k8s.io"
[[registry.mirror]]
location = "127.0.0.1:5000"
insecure = true
[[registry.mirror]]
location = "mirror.example/k8s"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "registry.k8s.io/special"
location = "internal.example/special"
insecure = true

[[registry]]
prefix = "*.corp.example"
blocked = true
`;

test('registries.conf: registries, their mirrors and settings', () => {
  const rules = parseRegistriesConf(CONF, '/etc/containers/registries.conf');
  assert.deepEqual(rules[0], {
    prefix: 'registry.k8s.io',
    location: 'registry.k8s.io',
    insecure: false,
    blocked: false,
    mirrors: [
      { location: '127.0.0.1:5000', insecure: true, pullFromMirror: 'all' },
      { location: 'mirror.example/k8s', insecure: false, pullFromMirror: 'digest-only' },
    ],
  });
  assert.equal(rules[2]!.blocked, true);
});

test('registries.conf: the longest prefix matches, on path boundaries; a wildcard matches hosts below it', () => {
  const rules = parseRegistriesConf(CONF, 'r.conf');
  assert.equal(matchRule(rules, 'registry.k8s.io/pause')?.rule.prefix, 'registry.k8s.io');
  assert.equal(matchRule(rules, 'registry.k8s.io/special/x')?.rule.prefix, 'registry.k8s.io/special');
  assert.equal(matchRule(rules, 'registry.k8s.io/specialist')?.rule.prefix, 'registry.k8s.io');
  assert.equal(matchRule(rules, 'registry.k8s.io.evil/x'), undefined);
  const w = matchRule(rules, 'git.corp.example:5000/a/b');
  assert.equal(w?.rule.prefix, '*.corp.example');
  assert.equal(w?.matched, 'git.corp.example:5000'.length);
  assert.equal(matchRule(rules, 'corp.example/a'), undefined);
});

test('registries.conf: the version 1 format, unknown keys and bad values are refused with the file', () => {
  assert.throws(
    () => parseRegistriesConf('[registries.search]\nregistries = ["docker.io"]\n', 'old.conf'),
    /"old.conf": the version 1 format/,
  );
  assert.throws(
    () => parseRegistriesConf('[[registry]]\nlocation = "a"\nmirrors = []\n', 'f'),
    /unknown key "mirrors"/,
  );
  assert.throws(
    () =>
      parseRegistriesConf(
        '[[registry]]\nlocation = "a"\n[[registry.mirror]]\nlocation = "b"\npull-from-mirror = "some"\n',
        'f',
      ),
    /pull-from-mirror "some"/,
  );
  assert.throws(() => parseRegistriesConf('[[registry]]\nprefix = "*.a/b"\n', 'f'), /wildcard prefix/);
  assert.throws(() => parseRegistriesConf('[[registry]\n', 'f'), /"f" line 1/);
});

test('registries.conf: mirror-by-digest-only makes every mirror of the registry digest-only', () => {
  const [r] = parseRegistriesConf(
    '[[registry]]\nlocation = "quay.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.example"\n',
    'f',
  );
  assert.equal(r!.mirrors[0]!.pullFromMirror, 'digest-only');
});
