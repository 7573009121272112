import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord } from '../services/containers/index.ts';
import type { PodRecord } from '../services/pods/index.ts';
import {
  sandboxMatches,
  sandboxMeta,
  sandboxRequest,
  sandboxStatus,
  sandboxView,
  type SandboxConfig,
} from './sandboxes.ts';

const config = (extra: Partial<SandboxConfig> = {}): SandboxConfig => ({
  metadata: { name: 'web', uid: 'u1', namespace: 'prod', attempt: 2 },
  hostname: 'web-0',
  log_directory: '/var/log/pods/prod_web_u1',
  dns_config: { servers: ['10.0.0.10'], searches: ['prod.svc'], options: ['ndots:5'] },
  port_mappings: [
    { protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '127.0.0.1' },
    { protocol: 'UDP', container_port: 53, host_port: 0, host_ip: '' },
  ],
  labels: { app: 'web' },
  annotations: { why: 'test' },
  linux: { cgroup_parent: '/kubepods/pod-u1', sysctls: { 'net.ipv4.ip_forward': '1' }, security_context: null },
  ...extra,
});

test("a sandbox config becomes a pod with cri-dockerd's name and labels, its ports, DNS, sysctls and cgroup parent", () => {
  const { request, infraLabels, meta } = sandboxRequest(config(), '');
  assert.equal(request.name, 'k8s_POD_web_prod_u1_2');
  assert.equal(request.infra_name, 'k8s_POD_web_prod_u1_2');
  assert.equal(request.hostname, 'web-0');
  assert.deepEqual(request.shared_namespaces, ['net', 'uts', 'ipc']);
  assert.deepEqual(request.portmappings, [
    { container_port: 80, host_port: 8080, host_ip: '127.0.0.1', protocol: 'tcp' },
  ]);
  assert.deepEqual(
    [request.dns_server, request.dns_search, request.dns_option],
    [['10.0.0.10'], ['prod.svc'], ['ndots:5']],
  );
  assert.deepEqual(request.sysctl, { 'net.ipv4.ip_forward': '1' });
  assert.equal(request.cgroup_parent, '/kubepods/pod-u1');
  assert.equal(infraLabels['io.kubernetes.pod.name'], 'web');
  assert.equal(infraLabels['io.kubernetes.pod.namespace'], 'prod');
  assert.equal(infraLabels['io.kubernetes.pod.uid'], 'u1');
  assert.equal(infraLabels['io.kubernetes.docker.type'], 'podsandbox');
  assert.equal(infraLabels.app, 'web');
  assert.deepEqual(meta.labels, { app: 'web' });
  assert.deepEqual(meta.metadata, { name: 'web', uid: 'u1', namespace: 'prod', attempt: 2 });
});

test("host network and PID: the pod joins the host's network, without ports or host name; PID shared when the pod asks", () => {
  const { request } = sandboxRequest(
    config({
      linux: {
        cgroup_parent: '',
        sysctls: {},
        security_context: { namespace_options: { network: 'NODE', pid: 'POD', ipc: 'NODE', target_id: '' } },
      },
    }),
    '',
  );
  assert.deepEqual(request.netns, { nsmode: 'host' });
  assert.deepEqual(request.portmappings, []);
  assert.equal(request.hostname, undefined);
  assert.deepEqual(request.shared_namespaces, ['net', 'uts', 'pid']);
});

test("a sandbox without a host name gets the node's (its pod name is too long and has underscores)", () => {
  assert.equal(sandboxRequest(config({ hostname: '' }), '', 'node-1').request.hostname, 'node-1');
});

test('on a CNI network the infra gets a namespace with loopback only, and the ports are left to the portmap plugin', () => {
  const { request, meta } = sandboxRequest(config(), '', 'node-1', true);
  assert.deepEqual(request.netns, { nsmode: 'none' });
  assert.deepEqual(request.portmappings, []);
  assert.equal(meta.cni, true);
  const p = { ...pod(), Annotations: { 'io.berth.cri': JSON.stringify({ ...meta, ips: ['10.231.0.7', 'fd00::7'] }) } };
  const st = sandboxStatus(p, sandboxMeta(p)!, infra(true));
  assert.equal(st.network.ip, '10.231.0.7');
  assert.deepEqual(st.network.additional_ips, [{ ip: 'fd00::7' }]);
});

test('a sandbox config without name, namespace or uid is refused', () => {
  assert.throws(() => sandboxRequest(config({ metadata: null }), ''), /must include metadata/);
  assert.throws(
    () => sandboxRequest(config({ metadata: { name: 'x', uid: '', namespace: 'n', attempt: 0 } }), ''),
    /must include metadata/,
  );
});

function pod(): PodRecord {
  const { request, meta } = sandboxRequest(config(), 'runc');
  void meta;
  return {
    Id: 'a'.repeat(64),
    Name: request.name!,
    Created: '2026-12-06T10:00:00.123456789Z',
    Labels: request.labels!,
    Annotations: request.annotations!,
    Hostname: 'web-0',
    SharedNamespaces: ['ipc', 'net', 'uts'],
    InfraContainerID: 'b'.repeat(64),
    Network: 'bridge',
    PortMappings: [],
    Dns: [],
    DnsSearch: [],
    DnsOptions: [],
    HostAdd: [],
    Sysctls: {},
    CgroupParent: '',
  };
}

const infra = (running: boolean) =>
  ({ State: { Running: running }, Network: { ipAddress: '10.1.0.5' } }) as unknown as ContainerRecord;

test("a pod's view: the labels and annotations as given, ready while its infra runs, its address, nanosecond times", () => {
  const p = pod();
  const meta = sandboxMeta(p)!;
  const v = sandboxView(p, meta, infra(true));
  assert.deepEqual(v.labels, { app: 'web' });
  assert.deepEqual(v.annotations, { why: 'test' });
  assert.equal(v.state, 'SANDBOX_READY');
  assert.equal(v.created_at, '1796551200123456789');
  assert.equal(v.runtime_handler, 'runc');
  assert.equal(sandboxStatus(p, meta, infra(true)).network.ip, '10.1.0.5');
  const stopped = sandboxStatus(p, meta, infra(false));
  assert.equal(stopped.state, 'SANDBOX_NOTREADY');
  assert.equal(stopped.network.ip, '');
  assert.deepEqual(stopped.linux.namespaces.options, { network: 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '' });
  assert.equal(sandboxMeta({ ...p, Annotations: {} }), undefined);
});

test('the sandbox filter: ID prefix, state and every label of the selector', () => {
  const v = { id: 'abc123', state: 'SANDBOX_READY' as const, labels: { app: 'web', tier: 'front' } };
  assert.ok(sandboxMatches(v, null));
  assert.ok(sandboxMatches(v, { id: 'abc', state: null, label_selector: {} }));
  assert.ok(!sandboxMatches(v, { id: 'abd', state: null, label_selector: {} }));
  assert.ok(!sandboxMatches(v, { id: '', state: { state: 'SANDBOX_NOTREADY' }, label_selector: {} }));
  assert.ok(sandboxMatches(v, { id: '', state: { state: 'SANDBOX_READY' }, label_selector: { app: 'web' } }));
  assert.ok(!sandboxMatches(v, { id: '', state: null, label_selector: { app: 'web', tier: 'back' } }));
});
