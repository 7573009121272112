import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBind, parseMount, parseTmpfs, planMounts } from './index.ts';

test('-v specifications: volumes, anonymous volumes, binds, modes', () => {
  assert.deepEqual(parseBind('data:/d'), {
    Type: 'volume',
    Name: 'data',
    Source: '',
    Destination: '/d',
    Driver: 'local',
    Mode: 'z',
    RW: true,
    Propagation: '',
    NoCopy: undefined,
    Anonymous: undefined,
  });
  const anon = parseBind('/d');
  assert.equal(anon.Name, undefined);
  assert.equal(anon.Anonymous, true);
  assert.throws(() => parseBind('/d:ro'), /^InvalidArgumentError: invalid volume specification: '\/d:ro'$/);
  assert.throws(
    () => parseMount({ Type: 'volume', Target: '/d', ReadOnly: true }, () => false),
    /invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes/,
  );
  const b = parseBind('/host/dir/:/d:ro,rshared');
  assert.deepEqual(
    [b.Type, b.Source, b.RW, b.Propagation, b.CreateSource],
    ['bind', '/host/dir', false, 'rshared', true],
  );
  assert.equal(parseBind('vv:/d:nocopy').NoCopy, true);
  assert.throws(() => parseBind('vv:rel'), /mount path must be absolute/);
  assert.throws(() => parseBind('vv:/d:what'), /invalid mode: what/);
  assert.throws(() => parseBind('vv:/d:ro,rw'), /invalid mode: ro,rw/);
  assert.throws(() => parseBind('/h:/d:shared,rslave'), /invalid mode: shared,rslave/);
  assert.equal(parseBind('/h:/d:ro,z,rslave,cached').Propagation, 'rslave');
  assert.throws(() => parseBind('a:b:c:d'), /invalid volume specification/);
  assert.throws(
    () => parseBind('vv:/'),
    /: invalid volume specification: 'vv:\/': invalid mount config for type "volume": invalid specification: destination can't be '\/'$/,
  );
  assert.throws(
    () => parseMount({ Type: 'volume', Target: '/' }, () => false),
    /: invalid mount config for type "volume": invalid specification: destination can't be '\/'$/,
  );
  assert.throws(
    () => parseBind('b:/d'),
    /create b: volume name is too short, names should be at least two alphanumeric characters/,
  );
  assert.throws(() => parseBind('b!:/d'), /create b!: "b!" includes invalid characters for a local volume name/);
});

test("--mount: bind source must exist, tmpfs gets Docker's flags, options belong to their type", () => {
  const none = () => false;
  assert.throws(
    () => parseMount({ Type: 'bind', Source: '/x', Target: '/y' }, none),
    /invalid mount config for type "bind": bind source path does not exist: \/x/,
  );
  assert.throws(() => parseMount({ Type: 'bind', Target: '/y' }, none), /field Source must not be empty/);
  assert.equal(
    parseMount({ Type: 'bind', Source: '/x', Target: '/y', BindOptions: { CreateMountpoint: true } }, none)
      .CreateSource,
    true,
  );
  assert.equal(
    parseMount({ Type: 'bind', Source: '/x', Target: '/y', BindOptions: { NonRecursive: true } }, () => true)
      .NonRecursive,
    true,
  );
  assert.equal(
    parseMount(
      { Type: 'bind', Source: '/x', Target: '/y', ReadOnly: true, BindOptions: { ReadOnlyNonRecursive: true } },
      () => true,
    ).ReadOnlyNonRecursive,
    true,
  );
  assert.throws(
    () =>
      parseMount({ Type: 'bind', Source: '/x', Target: '/y', BindOptions: { ReadOnlyNonRecursive: true } }, () => true),
    /need ReadOnly/,
  );
  assert.throws(
    () =>
      parseMount(
        {
          Type: 'bind',
          Source: '/x',
          Target: '/y',
          ReadOnly: true,
          BindOptions: { ReadOnlyForceRecursive: true, Propagation: 'rslave' },
        },
        () => true,
      ),
    /must be used with rprivate propagation/,
  );
  assert.throws(
    () => parseMount({ Type: 'volume', Target: '/y', BindOptions: { Propagation: 'shared' } }, none),
    /field BindOptions must not be specified/,
  );
  assert.throws(
    () => parseMount({ Type: 'nfs', Target: '/y' }, none),
    /^InvalidArgumentError: invalid mount config for type "nfs": mount type unknown$/,
  );
  const t = parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } }, none);
  assert.deepEqual(t.TmpfsOptions, ['nosuid', 'nodev', 'noexec', 'size=1024', 'mode=1777']);
  assert.deepEqual(parseTmpfs('/run', 'size=64m,exec').TmpfsOptions, ['nosuid', 'nodev', 'size=64m', 'exec']);
});

test('precedence: image volumes < --volumes-from < -v/--mount; duplicates refused', () => {
  const plan = planMounts(
    {
      volumes: ['/data', '/other'],
      binds: ['named:/data'],
      volumesFrom: [
        {
          mounts: [
            {
              Type: 'volume',
              Name: 'theirs',
              Source: '/s',
              Destination: '/other',
              Mode: 'z',
              RW: true,
              Propagation: '',
              Anonymous: true,
            },
          ],
          mode: 'ro',
        },
      ],
    },
    () => true,
  );
  const byDest = Object.fromEntries(plan.map((m) => [m.Destination, m]));
  assert.equal(byDest['/data']!.Name, 'named');
  assert.equal(byDest['/other']!.Name, 'theirs');
  assert.equal(byDest['/other']!.RW, false);
  assert.equal(byDest['/other']!.Anonymous, undefined, 'a borrowed volume is not ours to remove');
  assert.throws(
    () => planMounts({ binds: ['aa:/d'], mounts: [{ Type: 'volume', Source: 'bb', Target: '/d' }] }, () => true),
    /Duplicate mount point: \/d/,
  );
});
