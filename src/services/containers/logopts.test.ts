import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  logAttributes,
  logLimits,
  logPathOption,
  logsReadable,
  parseSize,
  DEFAULT_MAX_SIZE,
  NONE_ATTACH_BUFFER,
} from './logopts.ts';

test('log options: Docker units, a default cap, and Docker errors', () => {
  assert.equal(parseSize('10k'), 10240);
  assert.equal(parseSize('1m'), 1048576);
  assert.equal(parseSize('2g'), 2 * 1024 ** 3);
  assert.equal(parseSize('512'), 512);
  assert.deepEqual(logLimits({}), { maxSize: DEFAULT_MAX_SIZE, maxFiles: 1 });
  assert.deepEqual(logLimits({ LogConfig: { Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3' } } }), {
    maxSize: 1024,
    maxFiles: 3,
  });
  assert.throws(
    () => logLimits({ LogConfig: { Type: 'json-file', Config: { frob: '1' } } }),
    /unknown log opt 'frob' for json-file log driver/,
  );
  // As dockerd 20.10: max-file without max-size is accepted (rotation at the default cap).
  assert.deepEqual(logLimits({ LogConfig: { Type: 'json-file', Config: { 'max-file': '3' } } }), {
    maxSize: DEFAULT_MAX_SIZE,
    maxFiles: 3,
  });
  assert.throws(
    () => logLimits({ LogConfig: { Type: 'json-file', Config: { 'max-size': 'lots' } } }),
    /invalid size: 'lots'/,
  );
  assert.throws(
    () => logLimits({ LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '0' } } }),
    /max-file cannot be less than 1/,
  );
  assert.throws(() => logLimits({ LogConfig: { Type: 'syslog', Config: {} } }), /no log driver named 'syslog'/);
  // none: options ignored, only what attached clients need is kept, nothing to read back.
  assert.deepEqual(logLimits({ LogConfig: { Type: 'none', Config: { 'max-size': 'lots' } } }), {
    maxSize: NONE_ATTACH_BUFFER,
    maxFiles: 1,
  });
  assert.equal(logsReadable({ LogConfig: { Type: 'none', Config: {} } }), false);
  assert.equal(logsReadable({ LogConfig: { Type: 'json-file', Config: {} } }), true);
  assert.equal(logsReadable({}), true);
});

test('the k8s-file driver writes its log where its path option says, which must be absolute', () => {
  assert.equal(
    logPathOption({ LogConfig: { Type: 'k8s-file', Config: { path: '/var/log/pods/a/c/0.log' } } }),
    '/var/log/pods/a/c/0.log',
  );
  assert.equal(logPathOption({ LogConfig: { Type: 'json-file', Config: {} } }), undefined);
  assert.doesNotThrow(() => logLimits({ LogConfig: { Type: 'k8s-file', Config: { path: '/var/log/x.log' } } }));
  assert.throws(
    () => logLimits({ LogConfig: { Type: 'k8s-file', Config: { path: 'x.log' } } }),
    /log path must be absolute/,
  );
  assert.throws(
    () => logLimits({ LogConfig: { Type: 'json-file', Config: { path: '/x.log' } } }),
    /unknown log opt 'path'/,
  );
});

test("logAttributes: moby's --details prefix from labels, labels-regex, env and env-regex, sorted and query-escaped", () => {
  const c = (Config: Record<string, string>) => ({
    Config: { Labels: { team: 'core', other: '1', 'tier.web': 'a&b' }, Env: ['A=x y', 'B=2', 'BARE', 'C=3'] },
    HostConfig: { LogConfig: { Type: 'json-file', Config } },
  });
  assert.equal(logAttributes(c({})), '');
  // dockerd 20.10 printed "A=x+y,B=2,team=core hello" for these options.
  assert.equal(logAttributes(c({ labels: 'team,missing', env: 'A', 'env-regex': '^B' })), 'A=x+y,B=2,team=core');
  assert.equal(logAttributes(c({ 'labels-regex': '^tier' })), 'tier.web=a%26b');
  assert.equal(logAttributes(c({ 'env-regex': '(' })), '', 'a pattern that does not compile matches nothing');
});
