import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeHost } from '../host/testing.ts';
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
