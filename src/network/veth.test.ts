import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeHost } from '../host/testing.ts';
import type { LinkFailure, LinkMaker, VethLink } from '../host/index.ts';
import { plugVeth } from './veth.ts';

const plug = {
  hostVeth: 'vethabc',
  bridge: 'berth0',
  mtu: 1500,
  ifname: 'eth0',
  macAddress: '02:42:ac:11:00:02',
  address: '172.17.0.2/16',
  gateway: '172.17.0.1',
};

test('a veth pair made on the host, set up inside the namespace', async () => {
  const host = new FakeHost();
  await plugVeth(host, 4242, plug);
  assert.deepEqual(
    host.calls.map((c) => [c.netns ?? 'host', ...c.args]),
    [
      ['host', 'ip', '-batch', '-'],
      ['/proc/4242/ns/net', 'ip', '-batch', '-'],
    ],
  );
});

/** The `ip -batch` scripts plugVeth ran, host's first. */
async function scripts(p: Parameters<typeof plugVeth>[2]): Promise<string[]> {
  const host = new FakeHost();
  const seen: string[] = [];
  host.responses.set('ip', (_args, input) => {
    seen.push(input ?? '');
    return { code: 0, stdout: '', stderr: '' };
  });
  await plugVeth(host, 4242, p);
  return seen;
}

test('on a network without IPv6 neither end of the pair gets a link-local address, set before either is up', async () => {
  const [made, inside] = await scripts({ ...plug, noLinkLocal6: true });
  const hostLines = made.trim().split('\n');
  assert.doesNotMatch(hostLines[0], /\bup\b/);
  assert.ok(hostLines.indexOf('link set dev vethabc addrgenmode none') < hostLines.indexOf('link set dev vethabc up'));
  const lines = inside.trim().split('\n');
  assert.ok(lines.indexOf('link set dev eth0 addrgenmode none') >= 0);
  assert.ok(lines.indexOf('link set dev eth0 addrgenmode none') < lines.indexOf('link set eth0 up'));
});

test('an interface with an IPv6 address keeps the link-local one the kernel gives it', async () => {
  const withV6 = { ...plug, noLinkLocal6: true, address6: '2001:db8::2/64', gateway6: '2001:db8::1' };
  for (const script of [...(await scripts(withV6)), ...(await scripts(plug))])
    assert.doesNotMatch(script, /addrgenmode/);
});

test('a host end left by a crash is deleted and the pair made again', async () => {
  const host = new FakeHost();
  let made = 0;
  host.responses.set('ip', (args) => {
    if (args[0] !== '-batch') return { code: 0, stdout: '', stderr: '' };
    made++;
    return made === 1
      ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' }
      : { code: 0, stdout: '', stderr: '' };
  });
  await plugVeth(host, 4242, plug);
  assert.deepEqual(
    host.calls.map((c) => c.args),
    [
      ['ip', '-batch', '-'],
      ['ip', 'link', 'del', 'vethabc'],
      ['ip', '-batch', '-'],
      ['ip', '-batch', '-'],
    ],
  );
});

test("another failure is reported with ip's words", async () => {
  const host = new FakeHost();
  host.responses.set('ip', () => ({ code: 2, stdout: '', stderr: 'Cannot find device "berth0"\n' }));
  await assert.rejects(plugVeth(host, 4242, plug), /connect vethabc to berth0: Cannot find device "berth0"/);
});

/** A host that makes links itself (the real one through its launcher): what plugVeth asked of it. */
function linkingHost(answers: (LinkFailure | undefined)[] = []) {
  const host = new FakeHost() as FakeHost & { links: LinkMaker };
  const asked: unknown[] = [];
  host.links = {
    plugVeth: (l) => (asked.push(['plug', l]), Promise.resolve(answers.shift())),
    deleteLink: (name) => (asked.push(['delete', name]), Promise.resolve()),
    isolatePort: (name) => (asked.push(['isolate', name]), Promise.resolve()),
    setUpBridge: (b) => (asked.push(['bridge', b]), Promise.resolve(undefined)),
    netInfo: () => Promise.resolve({ links: [], addrs: [], routes: [] }),
  };
  return { host, asked };
}

test('a host with rtnetlink of its own plugs without ip: the same steps asked in one request', async () => {
  const { host, asked } = linkingHost();
  await plugVeth(host, 4242, { ...plug, noLinkLocal6: true, isolated: true, gateway6: '2001:db8::1' });
  assert.deepEqual(host.calls, []);
  assert.deepEqual(asked, [
    [
      'plug',
      {
        netns: '/proc/4242/ns/net',
        hostVeth: 'vethabc',
        bridge: 'berth0',
        ifname: 'eth0',
        macAddress: '02:42:ac:11:00:02',
        mtu: 1500,
        address: '172.17.0.2/16',
        gateway: '172.17.0.1',
        address6: undefined,
        // No IPv6 address: no IPv6 route either, as with ip.
        gateway6: undefined,
        quiet: true,
        isolated: true,
      },
    ],
  ]);
  // An IPv6 address keeps the link-local one; a namespace given by path is used as it is.
  const v6 = linkingHost();
  await plugVeth(v6.host, '/run/berth/netns/x', {
    ...plug,
    noLinkLocal6: true,
    address6: '2001:db8::2/64',
    gateway6: '2001:db8::1',
  });
  const [[, l]] = v6.asked as [string, VethLink][];
  assert.equal(l.netns, '/run/berth/netns/x');
  assert.equal(l.quiet, false);
  assert.equal(l.gateway6, '2001:db8::1');
});

test('with rtnetlink, a host end left by a crash is deleted and the pair made again; another failure names its step', async () => {
  const { host, asked } = linkingHost([{ step: 'create the veth pair', errno: 'EEXIST' }]);
  await plugVeth(host, 4242, plug);
  assert.deepEqual(
    asked.map(
      (a) =>
        (a as [string, unknown])[0] +
        ((a as [string, unknown])[0] === 'delete' ? ` ${(a as [string, string])[1]}` : ''),
    ),
    ['plug', 'delete vethabc', 'plug'],
  );
  const failing = linkingHost([{ step: 'find the bridge', errno: 'ENODEV' }]);
  await assert.rejects(plugVeth(failing.host, 4242, plug), /connect vethabc to berth0: find the bridge: ENODEV/);
  assert.equal(failing.asked.length, 1);
});
