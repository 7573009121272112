import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from './config.ts';

test('defaults follow the design', () => {
  const c = parseFlags([]);
  assert.equal(c.dataRoot, '/var/lib/berth');
  assert.deepEqual(c.hosts, ['unix:///run/berth/berth.sock']);
  assert.equal(c.pidfile, '/run/berth/berthd.pid');
  assert.equal(c.liveRestore, false);
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

test('bad flags are refused clearly', () => {
  assert.throws(() => parseFlags(['--nope']), /unknown flag: --nope/);
  assert.throws(() => parseFlags(['--data-root']), /flag needs an argument/);
  assert.throws(() => parseFlags(['--log-level', 'loud']), /unable to parse logging level/);
});
