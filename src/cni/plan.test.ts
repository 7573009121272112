import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseNetworkFile } from './config.ts';
import { cniArgs, loopbackCalls, missingPlugins, planCalls, stdinFor, type PodNetwork } from './plan.ts';

const net = parseNetworkFile(
  '10-pods.conflist',
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pods',
    plugins: [
      { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.22.0.0/16' } },
      { type: 'portmap', capabilities: { portMappings: true, bandwidth: false } },
    ],
  }),
);
const bins = ['/usr/lib/cni', '/opt/cni/bin'];
const available = new Map(['bridge', 'portmap', 'host-local', 'loopback'].map((t) => [t, `/usr/lib/cni/${t}`]));
const pod: PodNetwork = {
  id: 'sb1',
  netns: '/run/berth/netns/sb1',
  podName: 'web',
  podNamespace: 'default',
  podUid: 'u-1',
  portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  bandwidth: { ingressRate: 1000 },
};

test('ADD runs the plugins in order, each with its binary and the CNI_* environment', () => {
  const calls = planCalls('ADD', net, pod, bins, available);
  assert.deepEqual(
    calls.map((c) => c.binary),
    ['/usr/lib/cni/bridge', '/usr/lib/cni/portmap'],
  );
  assert.deepEqual(calls[0]!.env, {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'sb1',
    CNI_NETNS: '/run/berth/netns/sb1',
    CNI_IFNAME: 'eth0',
    CNI_ARGS:
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u-1',
    CNI_PATH: '/usr/lib/cni:/opt/cni/bin',
  });
  assert.equal(cniArgs(pod).split(';').length, 5);
});

test('a plugin gets the network name and version, and runtime config only for the capabilities it declares', () => {
  const [bridge, portmap] = planCalls('ADD', net, pod, bins, available);
  assert.deepEqual(bridge!.config, {
    type: 'bridge',
    bridge: 'cni0',
    ipam: { type: 'host-local', subnet: '10.22.0.0/16' },
    name: 'pods',
    cniVersion: '1.0.0',
  });
  // bandwidth is declared false: not sent, though the pod has a rate.
  assert.deepEqual(portmap!.config.runtimeConfig, {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  });
  assert.equal('capabilities' in portmap!.config, false);
  const noPorts = planCalls('ADD', net, { ...pod, portMappings: [] }, bins, available);
  assert.equal('runtimeConfig' in noPorts[1]!.config, false);
});

test('DEL goes in reverse; CHECK only from 0.4.0 and unless disabled', () => {
  assert.deepEqual(
    planCalls('DEL', net, pod, bins, available).map((c) => [c.type, c.env.CNI_COMMAND]),
    [
      ['portmap', 'DEL'],
      ['bridge', 'DEL'],
    ],
  );
  assert.equal(planCalls('CHECK', net, pod, bins, available).length, 2);
  assert.equal(planCalls('CHECK', { ...net, cniVersion: '0.3.1' }, pod, bins, available).length, 0);
  assert.equal(planCalls('CHECK', { ...net, disableCheck: true }, pod, bins, available).length, 0);
});

test('the previous result is chained into stdin from 0.3.0 on, not before', () => {
  const [, portmap] = planCalls('ADD', net, pod, bins, available);
  const prev = { cniVersion: '1.0.0', ips: [{ address: '10.22.0.5/16' }] };
  assert.deepEqual(JSON.parse(stdinFor(portmap!, prev)).prevResult, prev);
  assert.equal('prevResult' in JSON.parse(stdinFor(portmap!)), false);
  const old = planCalls('ADD', { ...net, cniVersion: '0.2.0' }, pod, bins, available);
  assert.equal('prevResult' in JSON.parse(stdinFor(old[1]!, prev)), false);
});

test("a plugin without a binary fails with libcni's words; the missing ones are listed, ipam types included", () => {
  const few = new Map([['bridge', '/usr/lib/cni/bridge']]);
  assert.throws(() => planCalls('ADD', net, pod, bins, few), {
    message: 'failed to find plugin "portmap" in path [/usr/lib/cni /opt/cni/bin]',
  });
  assert.deepEqual(missingPlugins(net, few), ['host-local', 'portmap']);
});

test('loopback is planned on lo, with no port mappings', () => {
  const [lo] = loopbackCalls('ADD', pod, bins, available);
  assert.equal(lo!.env.CNI_IFNAME, 'lo');
  assert.deepEqual(lo!.config, { type: 'loopback', name: 'cni-loopback', cniVersion: '1.0.0' });
});

test(
  "Debian's plugins understand the planned environment and stdin (their VERSION answer)",
  { skip: !existsSync('/usr/lib/cni/bridge') },
  () => {
    for (const type of ['bridge', 'portmap', 'loopback']) {
      const [c] = planCalls(
        'ADD',
        { ...net, plugins: [{ type }] },
        pod,
        bins,
        new Map([[type, `/usr/lib/cni/${type}`]]),
      );
      const r = spawnSync(c!.binary, [], {
        env: { ...c!.env, CNI_COMMAND: 'VERSION' },
        input: stdinFor(c!),
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok((JSON.parse(r.stdout).supportedVersions as string[]).includes(net.cniVersion), r.stdout);
    }
  },
);
