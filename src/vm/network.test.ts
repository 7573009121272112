import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handoverScript, parseDefaultRoute, parseIpAddr } from './network.ts';
import { tscKhzOf } from './assets.ts';

test("eth0's MAC, IPv4 addresses and MTU are read from ip's JSON; IPv6 is left out", () => {
  const json = JSON.stringify([
    {
      ifname: 'eth0',
      mtu: 1500,
      address: '02:42:ac:11:00:02',
      addr_info: [
        { family: 'inet', local: '172.18.0.2', prefixlen: 16 },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
      ],
    },
  ]);
  assert.deepEqual(parseIpAddr(json), { mac: '02:42:ac:11:00:02', mtu: 1500, addresses: ['172.18.0.2/16'] });
  assert.equal(parseIpAddr('[]'), undefined);
  assert.equal(
    parseDefaultRoute(JSON.stringify([{ dst: 'default', gateway: '172.18.0.1', dev: 'eth0' }])),
    '172.18.0.1',
  );
  assert.equal(parseDefaultRoute('[]'), undefined);
});

test('the hand-over takes the address off eth0 and redirects both ways between eth0 and the tap', () => {
  const s = handoverScript();
  assert.match(s, /ip addr flush dev eth0/);
  assert.match(s, /dev eth0 parent ffff: .* redirect dev tap0/);
  assert.match(s, /dev tap0 parent ffff: .* redirect dev eth0/);
});

test("the host's TSC rate comes from /proc/cpuinfo's first cpu MHz", () => {
  assert.equal(tscKhzOf('processor\t: 0\ncpu MHz\t\t: 2096.019\n'), 2096019);
  assert.equal(tscKhzOf(''), undefined);
});
