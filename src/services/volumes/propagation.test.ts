import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPropagation, daemonRootRule, parseMountinfo, sourceMount } from './propagation.ts';
import type { MountPoint } from './mounts.ts';

const INFO = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '40 27 0:50 / /srv/shared rw,relatime shared:7 - tmpfs tmpfs rw',
  '41 27 0:51 / /srv/slave rw,relatime master:7 - tmpfs tmpfs rw',
  '42 27 0:52 / /srv/with\\040space rw,relatime shared:9 - tmpfs tmpfs rw',
].join('\n');

test("mountinfo: the source's mount is the longest mount point above it", () => {
  const e = parseMountinfo(INFO);
  assert.equal(sourceMount('/srv/shared/a/b', e)!.mountPoint, '/srv/shared');
  assert.equal(sourceMount('/srv/sharedx', e)!.mountPoint, '/');
  assert.equal(sourceMount('/srv/with space/x', e)!.mountPoint, '/srv/with space');
});

test('shared propagation needs a shared source mount, slave a shared or slave one', () => {
  const e = parseMountinfo(INFO);
  assert.equal(checkPropagation('/srv/shared/x', 'rshared', e), 'shared');
  assert.throws(
    () => checkPropagation('/srv/slave/x', 'shared', e),
    /^InvalidArgumentError: path \/srv\/slave\/x is mounted on \/srv\/slave but it is not a shared mount$/,
  );
  assert.equal(checkPropagation('/srv/slave/x', 'rslave', e), 'rslave');
  assert.equal(checkPropagation('/srv/shared/x', 'slave', e), 'rslave');
  assert.throws(
    () => checkPropagation('/home/x', 'rslave', e),
    /path \/home\/x is mounted on \/ but it is not a shared or slave mount/,
  );
  assert.equal(checkPropagation('/home/x', 'rprivate', e), undefined);
  assert.throws(() => checkPropagation('/link', 'rshared', e, '/home/real'), /path \/link is mounted on \/ but/);
});

test('binds related to the daemon root are rslave unless rshared or rslave was asked for', () => {
  const bind = (Source: string, Propagation = 'rprivate'): MountPoint => ({
    Type: 'bind',
    Source,
    Destination: '/b',
    Mode: '',
    RW: true,
    Propagation,
  });
  for (const src of ['/var/lib/berth', '/var/lib/berth/x', '/var', '/']) {
    const m = bind(src);
    daemonRootRule(m, false, '/var/lib/berth');
    assert.deepEqual([m.Propagation, m.DefaultSlave], ['rslave', true], src);
  }
  const other = bind('/var/lib/berthx');
  daemonRootRule(other, false, '/var/lib/berth');
  assert.equal(other.Propagation, 'rprivate');
  assert.throws(
    () => daemonRootRule(bind('/var'), true, '/var/lib/berth'),
    /^InvalidArgumentError: invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: "\/var\/lib\/berth", bind mount source: "\/var", propagation: "rprivate"$/,
  );
  const shared = bind('/var', 'rshared');
  daemonRootRule(shared, true, '/var/lib/berth');
  assert.deepEqual([shared.Propagation, shared.DefaultSlave], ['rshared', undefined]);
  daemonRootRule(shared, false, '/var/lib/berth');
  assert.equal(shared.Propagation, 'rshared', 'one borrowed by --volumes-from keeps what its owner asked for');
});
