import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResult, pluginFailure, podIps } from './result.ts';

test("a 1.0.0 result: the pod's addresses are those of its eth0 in the sandbox, IPv4 first, without prefix", () => {
  const r = parseResult(
    JSON.stringify({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cni0', mac: 'aa' },
        { name: 'veth1', mac: 'bb' },
        { name: 'eth0', mac: 'cc', sandbox: '/run/netns/x' },
      ],
      ips: [
        { address: 'fd00::5/64', interface: 2 },
        { address: '10.22.0.5/16', gateway: '10.22.0.1', interface: 2 },
        { address: '10.22.0.1/16', interface: 0 },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    }),
  );
  assert.deepEqual(podIps(r), ['10.22.0.5', 'fd00::5']);
  assert.equal(r.ips[1]!.gateway, '10.22.0.1');
});

test('a 0.2.0 result (ip4/ip6, no interfaces) gives its addresses too', () => {
  const r = parseResult(
    JSON.stringify({
      cniVersion: '0.2.0',
      ip4: { ip: '10.1.0.2/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] },
    }),
  );
  assert.deepEqual(podIps(r), ['10.1.0.2']);
  assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0' }]);
});

test("a plugin's failure in libcni's words: its error object, else its stderr, else the exit status", () => {
  assert.equal(
    pluginFailure('bridge', 'ADD', 1, '{"code":11,"msg":"failed to allocate","details":"range full"}', '').message,
    'plugin type="bridge" failed (add): failed to allocate: range full',
  );
  assert.equal(
    pluginFailure('portmap', 'DEL', 1, '', 'iptables: no chain\n').message,
    'plugin type="portmap" failed (del): iptables: no chain',
  );
  assert.equal(pluginFailure('x', 'ADD', 2, '', '').message, 'plugin type="x" failed (add): exit status 2');
  assert.throws(() => parseResult('nope'), /not JSON/);
});
