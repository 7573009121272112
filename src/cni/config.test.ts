import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNetworkConfig, networkNotReady, parseNetworkFile, selectNetwork } from './config.ts';

const bridge = {
  cniVersion: '1.0.0',
  name: 'pods',
  plugins: [
    { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.22.0.0/16' } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

test('a .conflist is read as it is: name, version, plugins in order, disableCheck', () => {
  const n = parseNetworkFile('10-pods.conflist', JSON.stringify({ ...bridge, disableCheck: true }));
  assert.equal(n.name, 'pods');
  assert.equal(n.cniVersion, '1.0.0');
  assert.equal(n.disableCheck, true);
  assert.deepEqual(
    n.plugins.map((p) => p.type),
    ['bridge', 'portmap'],
  );
});

test('a single-plugin .conf becomes a list of one; a missing cniVersion is 0.1.0, as libcni reads it', () => {
  const n = parseNetworkFile('99-loop.conf', JSON.stringify({ name: 'lo', type: 'loopback' }));
  assert.equal(n.cniVersion, '0.1.0');
  assert.deepEqual(n.plugins, [{ type: 'loopback' }]);
});

test('a file that is not a network says why: JSON, name, version, plugins, type', () => {
  assert.throws(() => parseNetworkFile('a.conf', '{'), /a\.conf: not JSON/);
  assert.throws(() => parseNetworkFile('a.conflist', '{"cniVersion":"1.0.0","plugins":[]}'), /no name/);
  assert.throws(() => parseNetworkFile('a.conflist', '{"name":"x y","plugins":[]}'), /characters/);
  assert.throws(() => parseNetworkFile('a.conflist', '{"name":"x","cniVersion":"2.0.0"}'), /cniVersion "2\.0\.0"/);
  assert.throws(() => parseNetworkFile('a.conflist', '{"name":"x","plugins":[]}'), /no plugins in list/);
  assert.throws(
    () => parseNetworkFile('a.conflist', '{"name":"x","plugins":[{"bridge":"b"}]}'),
    /plugins\[0\]: missing 'type'/,
  );
  assert.throws(() => parseNetworkFile('a.conflist', '{"name":"x","plugins":[{"type":"../sh"}]}'), /not a plugin name/);
  // A list saved as .conf has no type of its own: refused, as libcni refuses it.
  assert.throws(() => parseNetworkFile('a.conf', JSON.stringify(bridge)), /missing 'type'/);
});

test('the network is the first valid file by name; other extensions are ignored, invalid files skipped with a reason', () => {
  const sel = selectNetwork([
    { name: '20-second.conflist', text: JSON.stringify({ ...bridge, name: 'second' }) },
    { name: '10-broken.conflist', text: '{"name":' },
    { name: '05-notes.txt', text: 'not a config' },
    { name: '15-first.conflist', text: JSON.stringify({ ...bridge, name: 'first' }) },
  ]);
  assert.equal(sel.network?.name, 'first');
  assert.deepEqual(
    sel.skipped.map((s) => s.file),
    ['10-broken.conflist'],
  );
  assert.deepEqual(selectNetwork([]), { skipped: [] });
});

test("NetworkReady's reason: no valid network (naming the directory and the skipped files), or plugins missing", () => {
  const none = networkNotReady(selectNetwork([{ name: 'a.conf', text: '{' }]), '/etc/cni/net.d', []);
  assert.equal(none?.reason, 'NetworkPluginNotReady');
  assert.match(none!.message, /no valid network in \/etc\/cni\/net\.d: a\.conf: not JSON/);
  const sel = selectNetwork([{ name: 'a.conflist', text: JSON.stringify(bridge) }]);
  assert.match(networkNotReady(sel, '/x', ['portmap'])!.message, /plugins not found for network "pods": portmap/);
  assert.equal(networkNotReady(sel, '/x', []), undefined);
});

test("the default network is a valid list: a bridge of its own off berth0's ranges, host-local, portmap", () => {
  const n = parseNetworkFile('10-berth.conflist', JSON.stringify(defaultNetworkConfig()));
  assert.equal(n.name, 'berth-pods');
  assert.equal(n.plugins[0]!.bridge, 'berth-cni0');
  assert.deepEqual(n.plugins[0]!.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.231.0.0/16' }]],
    routes: [{ dst: '0.0.0.0/0' }],
  });
  assert.deepEqual(n.plugins[1], { type: 'portmap', capabilities: { portMappings: true } });
});
