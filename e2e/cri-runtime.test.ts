/**
 * The CRI's RuntimeService on pods and containers, against a private berthd, through the gRPC
 * client built from Berth's definitions (as kubelet would call it): a sandbox, a container in
 * it writing its log in the CRI format where kubelet asked, statuses, exec, stop, remove, the
 * list filters, stats and events, attach and port-forward through the streaming server, and
 * the same containers in `docker ps` with their Kubernetes labels. With CRICTL=<crictl>, the
 * crictl walk-through of a pod runs too (skipped without it: CI cannot fetch cri-tools).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criDefinitions } from '../src/cri/index.ts';
import { natRules, removePortmapChains } from '../src/cni/testing.ts';
import { cleanup, dockerOk, freePort, startDaemonWithBusybox, type Daemon } from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

const CRICTL = process.env.CRICTL;
let d: Daemon;
let sock: string;
let client: grpc.Client;
let logs: string;

/** A bridge of its own: the sandboxes' addresses come from it. */
const BRIDGE = `bcr${process.pid % 100000}`;

/** Retries `fn` (assertions included) until it passes or `ms` runs out. */
async function until<T>(fn: () => Promise<T> | T, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The CNI directory: empty (sandboxes on Berth's bridge) until the CNI test writes a network there. */
const netd = mkdtempSync(join(tmpdir(), 'berth-e2e-cni-'));
const CNI_BRIDGE = `bcn${process.pid % 100000}`;

let portmapChainsBefore = '';

before(async () => {
  portmapChainsBefore = natRules();
  d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--cni-conf-dir', netd]);
  sock = join(d.root, 'run', 'cri.sock');
  logs = join(d.root, 'pod-logs');
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': sock,
  });
});

after(async () => {
  client?.close();
  await cleanup(d);
  // The bridge the CNI plugin made; host-local's leases were under netd.
  spawnSync('ip', ['link', 'del', CNI_BRIDGE]);
  rmSync(netd, { recursive: true, force: true });
  // portmap's shared chains, when this test brought them and no other pod's mapping is in them.
  removePortmapChains(portmapChainsBefore);
});

function call<T = any>(method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

function sandboxConfig(name: string, extra: object = {}) {
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 1 },
    hostname: name,
    log_directory: join(logs, name),
    labels: { app: name, tier: 'test' },
    annotations: { 'note.example.com/why': 'e2e' },
    linux: {},
    ...extra,
  };
}

async function runSandbox(name: string, extra: object = {}): Promise<string> {
  const r = await call('RunPodSandbox', { config: sandboxConfig(name, extra) });
  return r.pod_sandbox_id;
}

async function createContainer(podId: string, pod: string, name: string, config: object = {}): Promise<string> {
  const r = await call('CreateContainer', {
    pod_sandbox_id: podId,
    config: {
      metadata: { name, attempt: 0 },
      image: { image: 'busybox' },
      log_path: `${name}/0.log`,
      labels: { role: name },
      annotations: { 'a.example.com/x': 'y' },
      ...config,
    },
    sandbox_config: sandboxConfig(pod),
  });
  return r.container_id;
}

test('a sandbox runs, with its metadata, labels, annotations, address and namespaces in its status', async () => {
  const id = await runSandbox('web');
  assert.match(id, /^[0-9a-f]{64}$/);
  const { status, info } = await call('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  assert.equal(status.id, id);
  assert.deepEqual(status.metadata, { name: 'web', uid: 'uid-web', namespace: 'default', attempt: 1 });
  assert.equal(status.state, 'SANDBOX_READY');
  assert.deepEqual(status.labels, { app: 'web', tier: 'test' });
  assert.deepEqual(status.annotations, { 'note.example.com/why': 'e2e' });
  assert.match(status.network.ip, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(status.linux.namespaces.options.network, 'POD');
  assert.ok(BigInt(status.created_at) > BigInt(Date.now() - 60_000) * 1_000_000n);
  assert.ok(JSON.parse(info.info).pid > 0);
});

test('a container in a sandbox writes its log in the CRI format where kubelet asked; status and exec', async () => {
  const podId = await runSandbox('logger');
  const id = await createContainer(podId, 'logger', 'printer', {
    command: ['sh', '-c'],
    args: ['echo to-out; echo to-err >&2; printf partial; sleep 1000'],
    envs: [{ key: 'GREETING', value: 'hello' }],
  });
  let st = (await call('ContainerStatus', { container_id: id })).status;
  assert.equal(st.state, 'CONTAINER_CREATED');
  assert.equal(st.started_at, '0');
  await call('StartContainer', { container_id: id });
  const logPath = join(logs, 'logger', 'printer', '0.log');
  const text = await until(async () => {
    const t = await fs.readFile(logPath, 'utf8');
    assert.match(t, /partial/);
    return t;
  });
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F to-out$/);
  assert.ok(lines.some((l) => / stderr F to-err$/.test(l)));
  assert.ok(lines.some((l) => / stdout P partial$/.test(l)));
  st = (await call('ContainerStatus', { container_id: id })).status;
  assert.equal(st.state, 'CONTAINER_RUNNING');
  assert.equal(st.log_path, logPath);
  assert.deepEqual(st.metadata, { name: 'printer', attempt: 0 });
  assert.deepEqual(st.labels, { role: 'printer' });
  assert.deepEqual(st.annotations, { 'a.example.com/x': 'y' });
  assert.equal(st.image.image, 'busybox');
  assert.match(st.image_ref, /^sha256:/);
  assert.ok(BigInt(st.started_at) >= BigInt(st.created_at));
  const ex = await call('ExecSync', { container_id: id, cmd: ['sh', '-c', 'echo $GREETING; hostname'], timeout: 10 });
  assert.equal(ex.stdout.toString(), 'hello\nlogger\n');
  // The container shares the sandbox's network: its address is the sandbox's.
  const podIp = (await call('PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip;
  const addr = await call('ExecSync', {
    container_id: id,
    cmd: ['ip', '-4', '-o', 'addr', 'show', 'eth0'],
    timeout: 10,
  });
  assert.match(addr.stdout.toString(), new RegExp(`inet ${podIp.replace(/\./g, '\\.')}/`));

  await call('StopContainer', { container_id: id, timeout: 1 });
  st = (await call('ContainerStatus', { container_id: id })).status;
  assert.equal(st.state, 'CONTAINER_EXITED');
  assert.equal(st.reason, 'Error');
  assert.equal(st.exit_code, 137);
  assert.ok(BigInt(st.finished_at) >= BigInt(st.started_at));
  await call('StopContainer', { container_id: id, timeout: 1 });
  await call('RemoveContainer', { container_id: id });
  await call('RemoveContainer', { container_id: id });
  await assert.rejects(call('ContainerStatus', { container_id: id }), { code: grpc.status.NOT_FOUND });
});

test('a container that exits 0 is Completed; one the OOM killer ends would be OOMKilled', async () => {
  const podId = await runSandbox('done');
  const id = await createContainer(podId, 'done', 'quick', { command: ['true'] });
  await call('StartContainer', { container_id: id });
  const st = await until(async () => {
    const s = (await call('ContainerStatus', { container_id: id })).status;
    assert.equal(s.state, 'CONTAINER_EXITED');
    return s;
  });
  assert.equal(st.reason, 'Completed');
  assert.equal(st.exit_code, 0);
});

test("the sandbox's containers are in docker ps with the Kubernetes labels cri-dockerd gives", async () => {
  const podId = await runSandbox('visible');
  const id = await createContainer(podId, 'visible', 'app', { command: ['sleep', '1000'] });
  await call('StartContainer', { container_id: id });
  const ps = await dockerOk(d, [
    'ps',
    '--filter',
    'label=io.kubernetes.pod.name=visible',
    '--format',
    '{{.ID}} {{.Names}} {{.Label "io.kubernetes.container.name"}} {{.Label "io.kubernetes.pod.namespace"}}',
  ]);
  const rows = ps.trim().split('\n').sort();
  assert.equal(rows.length, 2, ps);
  assert.ok(rows.includes(`${id.slice(0, 12)} k8s_app_visible_default_uid-visible_0 app default`), ps);
  assert.ok(
    rows.some((r) => / k8s_POD_visible_default_uid-visible_1 /.test(r)),
    ps,
  );
  const sandboxIdLabel = await dockerOk(d, [
    'inspect',
    '--format',
    '{{index .Config.Labels "io.kubernetes.sandbox.id"}}',
    id,
  ]);
  assert.equal(sandboxIdLabel.trim(), podId);
});

test('lists filter by ID prefix, state, sandbox and labels', async () => {
  const a = await runSandbox('list-a');
  const b = await runSandbox('list-b');
  const ca = await createContainer(a, 'list-a', 'one', { command: ['sleep', '1000'] });
  const cb = await createContainer(b, 'list-b', 'two', { command: ['sleep', '1000'] });
  await call('StartContainer', { container_id: ca });
  await call('StopPodSandbox', { pod_sandbox_id: b });
  await call('StopPodSandbox', { pod_sandbox_id: b });

  const pods = async (filter: object) =>
    (await call('ListPodSandbox', { filter })).items
      .map((p: { id: string }) => p.id)
      .filter((id: string) => id === a || id === b);
  assert.deepEqual(await pods({ id: a.slice(0, 10) }), [a]);
  assert.deepEqual(await pods({ state: { state: 'SANDBOX_NOTREADY' } }), [b]);
  assert.deepEqual(await pods({ state: { state: 'SANDBOX_READY' } }), [a]);
  assert.deepEqual(await pods({ label_selector: { app: 'list-b' } }), [b]);
  assert.deepEqual(await pods({ label_selector: { app: 'list-b', tier: 'other' } }), []);

  const ctrs = async (filter: object) =>
    (await call('ListContainers', { filter })).containers
      .map((c: { id: string }) => c.id)
      .filter((id: string) => id === ca || id === cb);
  assert.deepEqual(await ctrs({ pod_sandbox_id: b }), [cb]);
  assert.deepEqual(await ctrs({ state: { state: 'CONTAINER_RUNNING' } }), [ca]);
  assert.deepEqual(await ctrs({ state: { state: 'CONTAINER_CREATED' } }), [cb]);
  assert.deepEqual(await ctrs({ id: ca.slice(0, 8), label_selector: { role: 'one' } }), [ca]);
  const listed = (await call('ListContainers', { filter: { id: ca } })).containers[0];
  assert.equal(listed.pod_sandbox_id, a);
  assert.deepEqual(listed.metadata, { name: 'one', attempt: 0 });
});

test('removing a sandbox removes its containers; stop and remove of a gone sandbox succeed', async () => {
  const podId = await runSandbox('gone');
  const id = await createContainer(podId, 'gone', 'c', { command: ['sleep', '1000'] });
  await call('StartContainer', { container_id: id });
  await call('StopPodSandbox', { pod_sandbox_id: podId });
  assert.equal((await call('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_EXITED');
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
  await assert.rejects(call('PodSandboxStatus', { pod_sandbox_id: podId }), { code: grpc.status.NOT_FOUND });
  await assert.rejects(call('ContainerStatus', { container_id: id }), { code: grpc.status.NOT_FOUND });
  const all = await dockerOk(d, ['ps', '-a', '--filter', 'label=io.kubernetes.pod.name=gone', '-q']);
  assert.equal(all.trim(), '');
  await call('StopPodSandbox', { pod_sandbox_id: podId });
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('stats of a running container and its sandbox come from its cgroup', async () => {
  const podId = await runSandbox('stats');
  const id = await createContainer(podId, 'stats', 'busy', { command: ['sh', '-c', 'while :; do :; done'] });
  await call('StartContainer', { container_id: id });
  await new Promise((r) => setTimeout(r, 500));
  const { stats } = await call('ContainerStats', { container_id: id });
  assert.equal(stats.attributes.id, id);
  assert.ok(BigInt(stats.cpu.usage_core_nano_seconds.value) > 0n);
  assert.ok(BigInt(stats.memory.working_set_bytes.value) > 0n);
  const list = await call('ListContainerStats', { filter: { pod_sandbox_id: podId } });
  assert.deepEqual(
    list.stats.map((s: any) => s.attributes.id),
    [id],
  );
  const pod = (await call('PodSandboxStats', { pod_sandbox_id: podId })).stats;
  assert.equal(pod.attributes.id, podId);
  assert.equal(pod.linux.containers.length, 1);
  assert.ok(BigInt(pod.linux.cpu.usage_core_nano_seconds.value) >= BigInt(stats.cpu.usage_core_nano_seconds.value));
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('GetContainerEvents streams the start and stop of a CRI container', async () => {
  const podId = await runSandbox('events');
  const id = await createContainer(podId, 'events', 'ev', { command: ['sleep', '1000'] });
  const stream = (client as any).GetContainerEvents({});
  const seen: any[] = [];
  stream.on('data', (e: any) => seen.push(e));
  stream.on('error', () => {});
  // The server sends nothing when a watch begins, and events from before it are not sent: the
  // stream is live once it delivers one that happened after it was opened — a probe
  // container's creation, made again until one arrives.
  let probes = 0;
  await until(async () => {
    const probe = await createContainer(podId, 'events', `probe${++probes}`);
    await until(() => assert.ok(seen.some((e) => e.container_id === probe)), 2_000);
  }, 30_000);
  await call('StartContainer', { container_id: id });
  await call('StopContainer', { container_id: id, timeout: 0 });
  await until(() => {
    const mine = seen.filter((e) => e.container_id === id).map((e) => e.container_event_type);
    assert.deepEqual(mine, ['CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT']);
  });
  const started = seen.find((e) => e.container_id === id)!;
  assert.equal(started.pod_sandbox_status.id, podId);
  stream.cancel();
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('UpdateContainerResources changes the cgroup limits of a running container', async () => {
  const podId = await runSandbox('update');
  const id = await createContainer(podId, 'update', 'u', { command: ['sleep', '1000'] });
  await call('StartContainer', { container_id: id });
  await call('UpdateContainerResources', { container_id: id, linux: { memory_limit_in_bytes: 64 * 1024 * 1024 } });
  const st = (await call('ContainerStatus', { container_id: id })).status;
  assert.equal(st.resources.linux.memory_limit_in_bytes, String(64 * 1024 * 1024));
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test("Attach streams a container's output; PortForward reaches a port in the sandbox", async () => {
  const podId = await runSandbox('streams');
  const id = await createContainer(podId, 'streams', 'srv', {
    command: ['sh', '-c', 'while :; do echo tick; sleep 0.2; done & nc -l -p 8080 -e echo served; sleep 1000'],
  });
  await call('StartContainer', { container_id: id });
  const { url } = await call('Attach', { container_id: id, stdout: true });
  const out: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const w = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
    w.binaryType = 'arraybuffer';
    w.onmessage = (e) => {
      out.push(Buffer.from(e.data as ArrayBuffer));
      if (Buffer.concat(out.map((m) => m.subarray(1))).includes('tick')) w.close();
    };
    w.onerror = () => reject(new Error('websocket error'));
    w.onclose = () => resolve();
  });
  assert.match(Buffer.concat(out.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString(), /tick/);

  const pf = await call('PortForward', { pod_sandbox_id: podId, port: [8080] });
  const got = await new Promise<string>((resolve, reject) => {
    const w = new WebSocket(`${pf.url.replace(/^http/, 'ws')}?port=8080`, ['v4.channel.k8s.io']);
    w.binaryType = 'arraybuffer';
    let data = Buffer.alloc(0);
    let first = true;
    w.onmessage = (e) => {
      const m = Buffer.from(e.data as ArrayBuffer);
      // Each channel's first message is its port number (two bytes).
      if (m[0] === 0 && first) {
        first = false;
        return;
      }
      if (m[0] === 0) data = Buffer.concat([data, m.subarray(1)]);
      if (data.includes('served')) w.close();
    };
    w.onerror = () => reject(new Error('websocket error'));
    w.onclose = () => resolve(data.toString());
  });
  assert.match(got, /served/);
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('with a CNI network in the directory, a sandbox gets its address from the plugins, and gives it back', async () => {
  const subnet = await reserveSubnet();
  await fs.writeFile(
    join(netd, '10-e2e.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: `berth-e2e-${process.pid}`,
      plugins: [
        {
          type: 'bridge',
          bridge: CNI_BRIDGE,
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: `${subnet}.0/24` }]], dataDir: join(netd, 'ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  try {
    const podId = await runSandbox('cni');
    const ip = (await call('PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip;
    assert.match(ip, new RegExp(`^${subnet.replace(/\./g, '\\.')}\\.\\d+$`));
    const id = await createContainer(podId, 'cni', 'web', {
      command: ['sh', '-c', 'while :; do nc -l -p 8080 -e echo via-cni; done'],
    });
    await call('StartContainer', { container_id: id });
    const addr = await call('ExecSync', {
      container_id: id,
      cmd: ['ip', '-4', '-o', 'addr', 'show', 'eth0'],
      timeout: 10,
    });
    assert.match(addr.stdout.toString(), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
    // The host reaches the pod on its CNI address (what port-forward dials).
    const got = await until(
      () =>
        new Promise<string>((resolve, reject) => {
          const s = connect({ host: ip, port: 8080 });
          let data = '';
          s.setTimeout(3000, () => s.destroy());
          s.on('data', (c: Buffer) => (data += c));
          s.on('error', reject);
          s.on('close', () => (data ? resolve(data) : reject(new Error('nothing'))));
        }),
    );
    assert.match(got, /via-cni/);
    await call('StopPodSandbox', { pod_sandbox_id: podId });
    await call('RemovePodSandbox', { pod_sandbox_id: podId });
    // host-local gave the address back.
    const leases = await fs.readdir(join(netd, 'ipam', `berth-e2e-${process.pid}`)).catch(() => [] as string[]);
    assert.ok(!leases.includes(ip), leases.join(' '));
  } finally {
    await fs.rm(join(netd, '10-e2e.conflist'), { force: true });
  }
});

function crictl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(CRICTL!, ['--runtime-endpoint', `unix://${sock}`, '--image-endpoint', `unix://${sock}`, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    if (input !== undefined) p.stdin.end(input);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test(
  'crictl runp, create, start, ps, logs, exec, attach, port-forward, stop, rm, stopp, rmp',
  { skip: !CRICTL && 'CRICTL is not set (cri-tools cannot be fetched in CI)' },
  async () => {
    const dir = join(d.root, 'crictl');
    await fs.mkdir(dir, { recursive: true });
    const pod = {
      metadata: { name: 'cc', namespace: 'default', uid: 'cc-uid', attempt: 1 },
      log_directory: join(logs, 'cc'),
      linux: {},
    };
    const ctr = {
      metadata: { name: 'hello' },
      image: { image: 'busybox' },
      command: [
        'sh',
        '-c',
        'echo hello from crictl; (while :; do nc -l -p 9090 -e echo pong; done) & while :; do sleep 0.3; echo beat; done',
      ],
      log_path: 'hello.log',
    };
    await fs.writeFile(join(dir, 'pod.json'), JSON.stringify(pod));
    await fs.writeFile(join(dir, 'ctr.json'), JSON.stringify(ctr));
    const ok = async (args: string[]) => {
      const r = await crictl(args);
      assert.equal(r.code, 0, `crictl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    const podId = await ok(['runp', join(dir, 'pod.json')]);
    const id = await ok(['create', podId, join(dir, 'ctr.json'), join(dir, 'pod.json')]);
    await ok(['start', id]);
    assert.match(await ok(['ps', '--pod', podId]), /Running\s+hello/);
    assert.match(await ok(['pods', '--name', 'cc']), /Ready\s+cc\s+default\s+1/);
    await until(async () => assert.match(await ok(['logs', id]), /hello from crictl/));
    assert.equal(await ok(['exec', id, 'echo', 'inside']), 'inside');
    const attach = spawn(CRICTL!, ['--runtime-endpoint', `unix://${sock}`, 'attach', id]);
    let attached = '';
    attach.stdout.on('data', (c) => (attached += c));
    await until(() => assert.match(attached, /beat/));
    attach.kill();
    const port = await freePort();
    const pf = spawn(CRICTL!, ['--runtime-endpoint', `unix://${sock}`, 'port-forward', podId, `${port}:9090`]);
    let pfOut = '';
    pf.stdout.on('data', (c) => (pfOut += c));
    pf.stderr.on('data', (c) => (pfOut += c));
    try {
      const reply = await until(
        () =>
          new Promise<string>((resolve, reject) => {
            const s = connect({ host: '127.0.0.1', port });
            s.on('error', (e) => reject(new Error(`${e.message}: ${pfOut}`)));
            s.setTimeout(3000, () => s.destroy());
            let got = '';
            s.on('data', (c: Buffer) => (got += c));
            s.on('close', () => (got ? resolve(got) : reject(new Error(`nothing: ${pfOut}`))));
          }),
        15_000,
      );
      assert.match(reply, /pong/, pfOut);
    } finally {
      pf.kill();
    }
    await ok(['stop', id]);
    await ok(['rm', id]);
    await ok(['stopp', podId]);
    await ok(['rmp', podId]);
    assert.equal(await ok(['pods', '-q', '--name', 'cc']), '');
  },
);
