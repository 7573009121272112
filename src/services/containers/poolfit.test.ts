import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asSandboxed,
  joinedFits,
  poolShares,
  requestFits,
  sandboxKey,
  sandboxNetworkOf,
  sandboxNice,
  SANDBOX_NICE,
  SANDBOX_NICE_BOUND_MS,
  searchPath,
  zygoteCommand,
  type SandboxNetwork,
} from './poolfit.ts';
import type { Spec } from '../../oci/index.ts';

const pool: Parameters<typeof requestFits>[3] = {
  imageId: 'sha256:busybox',
  runtime: 'crun',
  chosenRuntime: 'crun',
  network: 'none',
};
const image: { id: string; volumes: object | null } = { id: 'sha256:busybox', volumes: null };
const fits = (req: object, h: object = { NetworkMode: 'none' }, img = image, p = pool) =>
  requestFits({ Image: 'busybox', ...req }, h, img, p);

test('a plain run without network of the pool image fits the pool, with any command, environment, user or directory', () => {
  assert.ok(fits({}));
  assert.ok(fits({ Cmd: ['sh', '-c', 'true'], Env: ['A=1'], User: 'nobody', WorkingDir: '/w', Labels: { a: 'b' } }));
  assert.ok(fits({}, { NetworkMode: 'none', AutoRemove: true, Memory: 1 << 20 }));
  // a daemon without a bridge (`--bridge none`) gives the default network nothing but lo, as none
  assert.ok(fits({}, { NetworkMode: 'default' }, image, { ...pool, bridgeless: true }));
  assert.ok(fits({}, {}, image, { ...pool, bridgeless: true }));
});

test('what the sandbox was made without does not fit: another image or runtime, a network, a terminal, stdin, mounts, a hostname, logging options', () => {
  assert.ok(!fits({}, { NetworkMode: 'none' }, { id: 'sha256:other', volumes: null }));
  assert.ok(!fits({}, { NetworkMode: 'none' }, image, { ...pool, chosenRuntime: 'runc' }));
  assert.ok(!fits({}, {}));
  assert.ok(!fits({}, { NetworkMode: 'bridge' }));
  assert.ok(!fits({}, { NetworkMode: 'mynet' }));
  assert.ok(!fits({}, { NetworkMode: 'host' }));
  assert.ok(!fits({}, { NetworkMode: 'container:web' }, image, { ...pool, bridgeless: true }));
  assert.ok(!fits({ Tty: true }));
  assert.ok(!fits({ OpenStdin: true }));
  assert.ok(!fits({ Hostname: 'web' }));
  assert.ok(!fits({ Domainname: 'example.org' }));
  assert.ok(!fits({ Volumes: { '/data': {} } }));
  assert.ok(!fits({}, { NetworkMode: 'none' }, { id: image.id, volumes: { '/var/lib/x': {} } }));
  assert.ok(!fits({}, { NetworkMode: 'none', Binds: ['/a:/b'] }));
  assert.ok(!fits({}, { NetworkMode: 'none', Tmpfs: { '/t': '' } }));
  assert.ok(!fits({}, { NetworkMode: 'none', Init: true }));
  assert.ok(!fits({}, { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } }));
  assert.ok(!fits({}, { NetworkMode: 'none', LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } } }));
});

const bridged = { ...pool, network: 'bridge' as const };
const onBridge = (req: object, h: object = {}) => fits(req, h, image, bridged);

test('on a daemon with a bridge, a plain run on the default network fits a pool of bridge sandboxes, with --dns and --add-host', () => {
  assert.ok(onBridge({}));
  assert.ok(onBridge({}, { NetworkMode: 'bridge' }));
  assert.ok(onBridge({}, { NetworkMode: 'default', Dns: ['9.9.9.9'], ExtraHosts: ['a:1.2.3.4'], AutoRemove: true }));
  // the CLI sends the default network's (empty) endpoint settings
  assert.ok(onBridge({ NetworkingConfig: { EndpointsConfig: { default: {} } } }));
  assert.ok(onBridge({ ExposedPorts: { '80/tcp': {} } }));
  // published ports are published on the sandbox's endpoint at start
  assert.ok(onBridge({}, { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }));
  assert.ok(onBridge({ ExposedPorts: { '80/tcp': {} } }, { PublishAllPorts: true }));
  // and a pool of bridge sandboxes is not for --network none, nor the other way round
  assert.ok(!fits({}, { NetworkMode: 'none' }, image, bridged));
  assert.ok(!fits({}, {}, image, pool));
});

test('a request that changes the endpoint the bridge sandbox was wired with does not fit: a MAC, an address, another network', () => {
  assert.ok(!onBridge({ MacAddress: '02:42:ac:11:00:09' }));
  assert.ok(!onBridge({ NetworkingConfig: { EndpointsConfig: { default: { MacAddress: '02:42:ac:11:00:09' } } } }));
  assert.ok(
    !onBridge({ NetworkingConfig: { EndpointsConfig: { bridge: { IPAMConfig: { IPv4Address: '1.2.3.4' } } } } }),
  );
  assert.ok(!onBridge({ NetworkingConfig: { EndpointsConfig: { default: {}, mynet: {} } } }));
  assert.ok(!onBridge({}, { NetworkMode: 'mynet' }));
  assert.ok(!onBridge({}, { NetworkMode: 'host' }));
});

/** A user network `mynet` (ID `NET`) and another, `other`, as the daemon's user networks resolve them. */
const NET = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const userNetwork = (ref: string) =>
  ref === 'mynet' || NET.startsWith(ref) ? NET : ref === 'other' || OTHER.startsWith(ref) ? OTHER : undefined;
const onUser = (req: object, h: object = { NetworkMode: 'mynet' }) =>
  fits(req, h, image, { ...pool, network: NET, bridgeless: true, userNetwork });

test('a plain run on a user network fits a pool of its sandboxes, by name or ID, with aliases, --dns and --add-host', () => {
  assert.ok(onUser({}));
  assert.ok(onUser({}, { NetworkMode: NET }));
  assert.ok(onUser({}, { NetworkMode: NET.slice(0, 12) }));
  // the CLI sends the network's endpoint settings under the name given
  assert.ok(onUser({ NetworkingConfig: { EndpointsConfig: { mynet: {} } } }));
  // the names are registered when a container takes the sandbox
  assert.ok(onUser({ NetworkingConfig: { EndpointsConfig: { mynet: { Aliases: ['db'] } } } }));
  assert.ok(onUser({}, { NetworkMode: 'mynet', Dns: ['9.9.9.9'], ExtraHosts: ['a:1.2.3.4'], AutoRemove: true }));
});

test("a request that changes a user network sandbox's endpoint does not fit: an address, a MAC, a link, a further network, another network", () => {
  assert.ok(!onUser({ NetworkingConfig: { EndpointsConfig: { mynet: { IPAMConfig: { IPv4Address: '10.9.0.9' } } } } }));
  assert.ok(!onUser({ NetworkingConfig: { EndpointsConfig: { mynet: { IPAMConfig: { IPv6Address: 'fd00::9' } } } } }));
  assert.ok(!onUser({ MacAddress: '02:42:ac:11:00:09' }));
  assert.ok(!onUser({ NetworkingConfig: { EndpointsConfig: { mynet: { MacAddress: '02:42:ac:11:00:09' } } } }));
  assert.ok(!onUser({ NetworkingConfig: { EndpointsConfig: { mynet: { Links: ['web:w'] } } } }));
  assert.ok(!onUser({ NetworkingConfig: { EndpointsConfig: { mynet: {}, other: {} } } }));
  assert.ok(!onUser({}, { NetworkMode: 'other' }));
  assert.ok(!onUser({}, { NetworkMode: 'gone' }));
  assert.ok(!onUser({}, { NetworkMode: 'none' }));
  assert.ok(!onUser({}, {}));
});

test('the sandbox network of a mode: none without a bridge or with networking disabled, a known user network by ID, none for host', () => {
  assert.equal(sandboxNetworkOf({ NetworkMode: 'mynet' }, {}, true, userNetwork), NET);
  assert.equal(sandboxNetworkOf({ NetworkMode: 'gone' }, {}, true, userNetwork), undefined);
  assert.equal(sandboxNetworkOf({ NetworkMode: 'host' }, {}, false, userNetwork), undefined);
  assert.equal(sandboxNetworkOf({}, {}, false), 'bridge');
  assert.equal(sandboxNetworkOf({ NetworkMode: 'bridge' }, {}, false), 'bridge');
  assert.equal(sandboxNetworkOf({}, {}, true), 'none');
  assert.equal(sandboxNetworkOf({}, { NetworkDisabled: true }, false), 'none');
  assert.equal(sandboxNetworkOf({ NetworkMode: 'none' }, {}, false), 'none');
  assert.equal(sandboxNetworkOf({ NetworkMode: 'mynet' }, {}, false), undefined);
  assert.equal(sandboxNetworkOf({ NetworkMode: 'container:x' }, {}, true), undefined);
});

test("the pool's sandboxes go to the networks of the last starts in proportion; a tie goes to the default network, then the first seen", () => {
  const shares = (recent: (SandboxNetwork | undefined)[], size = 2, bridgeless = false) =>
    Object.fromEntries(poolShares(recent, size, bridgeless));
  assert.deepEqual(shares([]), { bridge: 2 });
  assert.deepEqual(shares([], 2, true), { none: 2 });
  assert.deepEqual(shares(['none']), { none: 2 });
  // alternating starts: one sandbox on each network
  assert.deepEqual(shares(['none', NET, 'none', NET], 2, true), { none: 1, [NET]: 1 });
  assert.deepEqual(shares([NET, 'none', NET, 'none', NET], 2, true), { [NET]: 1, none: 1 });
  // a pool of one: a tie goes to the default network, then to the network seen first
  assert.deepEqual(shares(['none', 'bridge'], 1), { bridge: 1 });
  assert.deepEqual(shares([NET, 'none'], 1, true), { none: 1 });
  assert.deepEqual(shares([NET, OTHER], 1), { [NET]: 1 });
  // a network started once among many gets nothing; starts no sandbox can take do not count
  assert.deepEqual(shares([...Array(9).fill(NET), 'none', undefined, undefined], 2, true), { [NET]: 2 });
  assert.deepEqual(shares([undefined, undefined, 'bridge']), { bridge: 2 });
  assert.deepEqual(shares(['bridge', NET, NET, OTHER], 4), { [NET]: 2, bridge: 1, [OTHER]: 1 });
  // without a bridge, no bridge sandboxes
  assert.deepEqual(shares(['bridge', 'bridge'], 2, true), { none: 2 });
  assert.deepEqual(shares(['none'], 0), {});
});

const spec = (user: { uid: number; gid: number }, caps: Spec['process']['capabilities']): Spec =>
  ({
    ociVersion: '1.0.2',
    process: { user, args: ['x'], env: ['A=1'], cwd: '/', capabilities: caps, noNewPrivileges: false },
    root: { path: 'rootfs' },
    hostname: 'abc',
  }) as unknown as Spec;

test("two specs that differ only in the process's command, environment, directory and user have one sandbox key", () => {
  const a = spec({ uid: 0, gid: 0 }, { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] });
  const b = {
    ...a,
    process: { ...a.process, args: ['y', 'z'], env: [], cwd: '/w', user: { uid: 0, gid: 5, additionalGids: [1] } },
  };
  assert.equal(sandboxKey(a), sandboxKey(b));
  assert.notEqual(sandboxKey(a), sandboxKey({ ...a, hostname: 'other' }));
  assert.notEqual(sandboxKey(a), sandboxKey({ ...a, process: { ...a.process, noNewPrivileges: true } }));
});

test("a non-root user's spec is its sandbox's: the runtime gives it no effective or permitted capabilities, and setuid takes root's away", () => {
  const root = spec({ uid: 0, gid: 0 }, { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] });
  const user = spec({ uid: 1000, gid: 1000 }, { bounding: ['CAP_KILL'] });
  assert.equal(sandboxKey(asSandboxed(user)), sandboxKey(root));
  // root's own (say --cap-drop'd) set is compared as it is
  const dropped = spec({ uid: 0, gid: 0 }, { bounding: ['CAP_KILL'] });
  assert.notEqual(sandboxKey(asSandboxed(dropped)), sandboxKey(root));
});

test('berth-zygote is told uid, gid, groups, directory, HOME fallback, argument count, arguments and environment, NUL-separated', () => {
  const b = zygoteCommand(
    {
      args: ['sh', '-c', 'echo hi'],
      env: ['PATH=/bin', 'A=b c'],
      cwd: '/w',
      user: { uid: 1, gid: 2, additionalGids: [3, 4] },
    },
    '/',
  );
  assert.deepEqual(b.toString().split('\0'), [
    '1',
    '2',
    '3,4',
    '/w',
    '/',
    '3',
    'sh',
    '-c',
    'echo hi',
    'PATH=/bin',
    'A=b c',
  ]);
  assert.deepEqual(
    zygoteCommand({ args: ['true'], env: [], cwd: '', user: { uid: 0, gid: 0 } })
      .toString()
      .split('\0'),
    ['0', '0', '', '/', '', '1', 'true'],
  );
});

test("the command is looked up in the environment's PATH, Docker's default without one", () => {
  assert.deepEqual(searchPath(['PATH=/a::/b']), ['/a', '.', '/b']);
  assert.equal(searchPath([]).length, 6);
});

test('a sandbox is made at a lower priority while a ready one is left, at once for an empty pool or after a lowered making that took too long', () => {
  assert.equal(sandboxNice(1, undefined), SANDBOX_NICE);
  assert.equal(sandboxNice(3, { nice: SANDBOX_NICE, ms: 40 }), SANDBOX_NICE);
  // the next start would be cold
  assert.equal(sandboxNice(0, undefined), undefined);
  assert.equal(sandboxNice(0, { nice: SANDBOX_NICE, ms: 40 }), undefined);
  // a busy machine: the lowered one took too long, so the next goes at once, and the one after tries again
  assert.equal(sandboxNice(1, { nice: SANDBOX_NICE, ms: SANDBOX_NICE_BOUND_MS + 1 }), undefined);
  assert.equal(sandboxNice(1, { ms: SANDBOX_NICE_BOUND_MS + 500 }), SANDBOX_NICE);
});

test("a pod member fits its pod's member sandbox: the infra's namespaces, the sandbox's image and runtime, its pod's host name; nothing else does", () => {
  const owner = 'f'.repeat(64);
  const sandbox = { imageId: 'sha256:busybox', runtime: 'crun', chosenRuntime: 'crun', owner };
  const member = { NetworkMode: `container:${owner}`, IpcMode: `container:${owner}`, UTSMode: `container:${owner}` };
  const joins = (req: object, h: object = member, img = image, s = sandbox) =>
    joinedFits({ Image: 'busybox', Hostname: 'pod', ...req }, h, img, s);
  assert.ok(joins({ Cmd: ['sleep', '1000'], Env: ['A=1'], User: 'nobody', WorkingDir: '/w' }));
  assert.ok(joins({}, { ...member, AutoRemove: true, Memory: 1 << 20 }));
  // another pod's infra, or none
  assert.ok(!joins({}, { ...member, NetworkMode: `container:${'e'.repeat(64)}` }));
  assert.ok(!joins({}, { NetworkMode: 'none' }));
  assert.ok(!joins({}, member, { id: 'sha256:other', volumes: null }));
  assert.ok(!joins({}, member, image, { ...sandbox, chosenRuntime: 'runc' }));
  // what its monitor and root were made without, as for the pool's
  assert.ok(!joins({ Tty: true }));
  assert.ok(!joins({ OpenStdin: true }));
  assert.ok(!joins({}, { ...member, Binds: ['/tmp:/tmp'] }));
  assert.ok(!joins({}, { ...member, Init: true }));
  assert.ok(!joins({}, { ...member, LogConfig: { Type: 'none' } }));
  assert.ok(!joins({}, member, { id: 'sha256:busybox', volumes: { '/data': {} } }));
});
