import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord } from '../services/containers/index.ts';
import {
  clampOomScoreAdj,
  containerMatches,
  containerMeta,
  containerRequest,
  containerStatus,
  exitReason,
  type ContainerConfig,
  type ContainerSecurityContext,
} from './containers.ts';
import { nanos } from './labels.ts';
import { sandboxRequest } from './sandboxes.ts';

const sandbox = {
  id: 'f'.repeat(64),
  meta: sandboxRequest(
    {
      metadata: { name: 'web', uid: 'u1', namespace: 'prod', attempt: 0 },
      hostname: '',
      log_directory: '/var/log/pods/prod_web_u1',
      dns_config: null,
      port_mappings: [],
      labels: {},
      annotations: {},
      linux: null,
    },
    '',
  ).meta,
};

const security = (s: Partial<ContainerSecurityContext>): ContainerSecurityContext => ({
  capabilities: null,
  privileged: false,
  namespace_options: null,
  run_as_user: null,
  run_as_username: '',
  run_as_group: null,
  readonly_rootfs: false,
  supplemental_groups: [],
  no_new_privs: false,
  masked_paths: [],
  readonly_paths: [],
  seccomp: null,
  seccomp_profile_path: '',
  ...s,
});

const config = (extra: Partial<ContainerConfig> = {}): ContainerConfig => ({
  metadata: { name: 'app', attempt: 1 },
  image: { image: 'busybox:latest' },
  command: ['sh', '-c'],
  args: ['echo hi'],
  working_dir: '/srv',
  envs: [{ key: 'A', value: 'b=c' }],
  mounts: [
    {
      container_path: '/data',
      host_path: '/srv/data',
      readonly: true,
      selinux_relabel: false,
      propagation: 'PROPAGATION_HOST_TO_CONTAINER',
    },
    {
      container_path: '/x',
      host_path: '/x',
      readonly: false,
      selinux_relabel: false,
      propagation: 'PROPAGATION_PRIVATE',
    },
  ],
  devices: [{ container_path: '/dev/xx', host_path: '/dev/null', permissions: 'rw' }],
  labels: { role: 'app' },
  annotations: { note: 'n' },
  log_path: 'app/1.log',
  stdin: true,
  stdin_once: true,
  tty: false,
  linux: {
    resources: {
      cpu_period: '100000',
      cpu_quota: '50000',
      cpu_shares: '512',
      memory_limit_in_bytes: '67108864',
      oom_score_adj: '-998',
      cpuset_cpus: '0',
      cpuset_mems: '',
      memory_swap_limit_in_bytes: '0',
    },
    security_context: security({}),
  },
  ...extra,
});

test('a container config becomes the Engine API request docker create would send, in its pod, with its log where kubelet asked', () => {
  const { request, name, meta } = containerRequest(sandbox, config(), { oomScoreFloor: 0 });
  assert.equal(name, 'k8s_app_web_prod_u1_1');
  assert.deepEqual(request.Entrypoint, ['sh', '-c']);
  assert.deepEqual(request.Cmd, ['echo hi']);
  assert.equal(request.WorkingDir, '/srv');
  assert.deepEqual(request.Env, ['A=b=c']);
  assert.equal(request.OpenStdin, true);
  assert.equal(request.StdinOnce, true);
  const h = request.HostConfig!;
  assert.deepEqual(h.Binds, ['/srv/data:/data:ro,rslave', '/x:/x:rw,rprivate']);
  assert.deepEqual(h.Devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/xx', CgroupPermissions: 'rw' }]);
  assert.deepEqual([h.CpuPeriod, h.CpuQuota, h.CpuShares, h.Memory, h.CpusetCpus], [100000, 50000, 512, 67108864, '0']);
  assert.equal(h.OomScoreAdj, 0, 'raised to the floor the daemon can give');
  assert.deepEqual(h.LogConfig, { Type: 'k8s-file', Config: { path: '/var/log/pods/prod_web_u1/app/1.log' } });
  assert.deepEqual(h.RestartPolicy, { Name: 'no' });
  const l = request.Labels!;
  assert.equal(l['io.kubernetes.container.name'], 'app');
  assert.equal(l['io.kubernetes.pod.name'], 'web');
  assert.equal(l['io.kubernetes.pod.namespace'], 'prod');
  assert.equal(l['io.kubernetes.pod.uid'], 'u1');
  assert.equal(l['io.kubernetes.sandbox.id'], sandbox.id);
  assert.equal(l.role, 'app');
  assert.deepEqual(meta.labels, { role: 'app' });
  assert.deepEqual(meta.annotations, { note: 'n' });
});

test("no command keeps the image's entrypoint and takes args as its command; neither keeps both", () => {
  const args = containerRequest(sandbox, config({ command: [], args: ['x'] }), { oomScoreFloor: 0 }).request;
  assert.equal(args.Entrypoint, undefined);
  assert.deepEqual(args.Cmd, ['x']);
  const none = containerRequest(sandbox, config({ command: [], args: [] }), { oomScoreFloor: 0 }).request;
  assert.equal(none.Entrypoint, undefined);
  assert.equal(none.Cmd, undefined);
});

test('the security context: user and group, capabilities, privileged, read-only root, no-new-privs, seccomp, paths, namespaces', () => {
  const sc = security({
    run_as_user: { value: '1000' },
    run_as_group: { value: '3000' },
    capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['ALL'] },
    readonly_rootfs: true,
    no_new_privs: true,
    supplemental_groups: ['44'],
    masked_paths: ['/proc/kcore'],
    readonly_paths: ['/proc/sys'],
    seccomp: { profile_type: 'Unconfined', localhost_ref: '' },
    namespace_options: { network: 'POD', pid: 'NODE', ipc: 'POD', target_id: '' },
  });
  const { request } = containerRequest(sandbox, config({ linux: { resources: null, security_context: sc } }), {
    oomScoreFloor: -1000,
  });
  const h = request.HostConfig!;
  assert.equal(request.User, '1000:3000');
  assert.deepEqual(h.CapAdd, ['CAP_NET_ADMIN']);
  assert.deepEqual(h.CapDrop, ['ALL']);
  assert.equal(h.ReadonlyRootfs, true);
  assert.deepEqual(h.GroupAdd, ['44']);
  assert.deepEqual(h.MaskedPaths, ['/proc/kcore']);
  assert.deepEqual(h.ReadonlyPaths, ['/proc/sys']);
  assert.deepEqual(h.SecurityOpt, ['no-new-privileges', 'seccomp=unconfined']);
  assert.equal(h.PidMode, 'host');
  const named = security({
    run_as_username: 'nobody',
    seccomp: { profile_type: 'Localhost', localhost_ref: '/p.json' },
  });
  const r2 = containerRequest(sandbox, config({ linux: { resources: null, security_context: named } }), {
    oomScoreFloor: 0,
    seccompProfile: '{"defaultAction":"SCMP_ACT_ALLOW"}',
  }).request;
  assert.equal(r2.User, 'nobody');
  assert.deepEqual(r2.HostConfig!.SecurityOpt, ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']);
});

test("oom_score_adj below what the daemon may give is raised to it (containerd's restrict_oom_score_adj)", () => {
  assert.equal(clampOomScoreAdj(-998, 0), 0);
  assert.equal(clampOomScoreAdj(-998, -1000), -998);
  assert.equal(clampOomScoreAdj(500, -100), 500);
});

function record(state: Partial<ContainerRecord['State']>): ContainerRecord {
  const { request } = containerRequest(sandbox, config(), { oomScoreFloor: 0 });
  return {
    Id: 'c'.repeat(64),
    Name: 'k8s_app_web_prod_u1_1',
    Created: '2026-12-06T10:00:00.5Z',
    Image: 'sha256:' + 'd'.repeat(64),
    Path: 'sh',
    Args: [],
    Config: { Labels: request.Labels },
    HostConfig: request.HostConfig!,
    State: {
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 0,
      ExitCode: 0,
      Error: '',
      StartedAt: '2026-12-06T10:00:01.000000001Z',
      FinishedAt: '2026-12-06T10:00:02Z',
      ...state,
    },
    RestartCount: 0,
    TopChain: null,
  } as ContainerRecord;
}

test("a container's status: state, nanosecond times, exit code, kubelet's reasons, image, log path, labels", () => {
  const c = record({});
  const meta = containerMeta(c)!;
  const st = containerStatus(c, meta, '/ignored');
  assert.equal(st.state, 'CONTAINER_EXITED');
  assert.equal(st.reason, 'Completed');
  assert.equal(st.created_at, nanos('2026-12-06T10:00:00.5Z'));
  assert.equal(st.started_at, String(BigInt(Date.parse('2026-12-06T10:00:01Z')) * 1_000_000n + 1n));
  assert.equal(st.image.image, 'busybox:latest');
  assert.equal(st.image_ref, 'sha256:' + 'd'.repeat(64));
  assert.equal(st.log_path, '/var/log/pods/prod_web_u1/app/1.log');
  assert.deepEqual(st.labels, { role: 'app' });
  assert.equal(st.resources.linux.memory_limit_in_bytes, '67108864');
  assert.equal(exitReason(record({ ExitCode: 2 })), 'Error');
  assert.equal(exitReason(record({ ExitCode: 137, OOMKilled: true })), 'OOMKilled');
  const created = containerStatus(record({ Status: 'created', StartedAt: '0001-01-01T00:00:00Z' }), meta, '');
  assert.deepEqual(
    [created.state, created.started_at, created.finished_at, created.reason],
    ['CONTAINER_CREATED', '0', '0', ''],
  );
  assert.equal(containerStatus(record({ Status: 'running', Running: true }), meta, '').state, 'CONTAINER_RUNNING');
});

test('the container filter: ID and sandbox prefixes, state, labels', () => {
  const v = { id: 'abc', pod_sandbox_id: 'fff', state: 'CONTAINER_RUNNING' as const, labels: { role: 'app' } };
  const f = { id: '', state: null, pod_sandbox_id: '', label_selector: {} };
  assert.ok(containerMatches(v, null));
  assert.ok(containerMatches(v, { ...f, id: 'ab', pod_sandbox_id: 'ff' }));
  assert.ok(!containerMatches(v, { ...f, pod_sandbox_id: 'ee' }));
  assert.ok(!containerMatches(v, { ...f, state: { state: 'CONTAINER_EXITED' } }));
  assert.ok(!containerMatches(v, { ...f, label_selector: { role: 'db' } }));
});

test('nanos: RFC 3339 with up to nine digits, offsets, and the zero time', () => {
  assert.equal(nanos('1970-01-01T00:00:01.000000002Z'), '1000000002');
  assert.equal(nanos('1970-01-01T01:00:01+01:00'), '1000000000');
  assert.equal(nanos('0001-01-01T00:00:00Z'), '0');
  assert.equal(nanos(''), '0');
});
