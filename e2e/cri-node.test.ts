/**
 * What a Kubernetes node needs of Berth's CRI beyond each call working once, against a private
 * berthd on a CNI network of its own (Debian's bridge, host-local and portmap), through the gRPC
 * client built from Berth's definitions:
 *
 * - nothing leaks: BERTH_CRI_CYCLES (50 by default, as CI runs it; 200 is the count) rounds of RunPodSandbox,
 *   CreateContainer, StartContainer, StopContainer, RemoveContainer, StopPodSandbox and
 *   RemovePodSandbox leave no mount, network namespace, veth, cgroup, process, address lease,
 *   CNI result file, nat rule or container behind;
 * - a sandbox with a running container survives a berthd restart (without --live-restore, as
 *   containerd's tasks survive it): status, exec, the log going on, then stop and remove;
 * - ReopenContainerLog, oom_score_adj below the daemon's own, and a sandbox's network and
 *   process figures in its stats.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criDefinitions } from '../src/cri/index.ts';
import { natRules, removePortmapChains } from '../src/cni/testing.ts';
import {
  cleanup,
  dockerOk,
  freePort,
  startDaemon,
  startDaemonWithBusybox,
  stopDaemon,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

/** 50 in CI (`npm test`, about a minute); BERTH_CRI_CYCLES=200 is the count (about four minutes here). */
const CYCLES = Number(process.env.BERTH_CRI_CYCLES ?? 50);
const NET = `berth-node-${process.pid}`;
const CNI_BRIDGE = `bcq${process.pid % 100000}`;
const SUBNET = await reserveSubnet();

let d: Daemon;
let sock: string;
let client: grpc.Client;
let logs: string;
let portmapChainsBefore = '';
const netd = mkdtempSync(join(tmpdir(), 'berth-e2e-crinode-'));

function connectClient() {
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': sock,
  });
}

async function waitForSocket() {
  for (let i = 0; i < 300 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
}

before(async () => {
  portmapChainsBefore = natRules();
  await fs.writeFile(
    join(netd, '10-node.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: NET,
      plugins: [
        {
          type: 'bridge',
          bridge: CNI_BRIDGE,
          isGateway: true,
          ipMasq: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: `${SUBNET}.0/24` }]], dataDir: join(netd, 'ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  // No warm pool: its sandboxes come and go on their own, and the leak count is of CRI's.
  d = await startDaemonWithBusybox(['--cni-conf-dir', netd, '--cni-bin-dir', '/usr/lib/cni', '--warm-pool', '0']);
  sock = join(d.root, 'run', 'cri.sock');
  logs = join(d.root, 'pod-logs');
  await waitForSocket();
  connectClient();
});

after(async () => {
  client?.close();
  await cleanup(d);
  spawnSync('ip', ['link', 'del', CNI_BRIDGE]);
  rmSync(netd, { recursive: true, force: true });
  removePortmapChains(portmapChainsBefore);
});

function call<T = any>(method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

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

function sandboxConfig(name: string, extra: object = {}) {
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'node', attempt: 0 },
    hostname: name,
    log_directory: join(logs, name),
    linux: {},
    ...extra,
  };
}

async function runSandbox(name: string, extra: object = {}): Promise<string> {
  return (await call('RunPodSandbox', { config: sandboxConfig(name, extra) })).pod_sandbox_id;
}

async function createContainer(podId: string, pod: string, name: string, config: object = {}): Promise<string> {
  const r = await call('CreateContainer', {
    pod_sandbox_id: podId,
    config: { metadata: { name, attempt: 0 }, image: { image: 'busybox' }, log_path: `${name}/0.log`, ...config },
    sandbox_config: sandboxConfig(pod),
  });
  return r.container_id;
}

/** Every place a sandbox or container could leave something behind on the host, as text to compare. */
function footprint(ids: Set<string>) {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(d.root) || [...ids].some((id) => l.includes(id.slice(0, 12))));
  // The bridge itself comes with the first sandbox: none yet is no port.
  const veths = (spawnSync('ip', ['-o', 'link', 'show', 'master', CNI_BRIDGE], { encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim());
  // Cgroups are named for the container's ID under whatever parent: any directory naming one is a leak.
  const cgroups: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[] = [];
    try {
      names = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const n of names) {
      if ([...ids].some((id) => n.includes(id))) cgroups.push(join(dir, n));
      if (depth < 4) walk(join(dir, n), depth + 1);
    }
  };
  for (const ctl of ['memory', 'pids', 'cpu,cpuacct', 'unified']) walk(join('/sys/fs/cgroup', ctl), 0);
  // Processes: a monitor, runc or a container's process has the daemon's root or an ID in its command line.
  const processes: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmd.includes(d.root) || [...ids].some((id) => cmd.includes(id))) processes.push(`${pid} ${cmd}`);
  }
  const leaseDir = join(netd, 'ipam', NET);
  const leases = existsSync(leaseDir)
    ? readdirSync(leaseDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'))
    : [];
  const resultsDir = join(d.root, 'data', 'cni', 'results');
  const results = existsSync(resultsDir) ? readdirSync(resultsDir) : [];
  const nat = natRules()
    .split('\n')
    .filter((l) => [...ids].some((id) => l.includes(id)));
  const containersDir = join(d.root, 'data', 'containers');
  const containerDirs = existsSync(containersDir) ? readdirSync(containersDir) : [];
  return { mounts, veths, cgroups, processes, leases, results, nat, containerDirs };
}

test('ReopenContainerLog: after kubelet renames the log away, the container goes on writing at its path', async () => {
  const podId = await runSandbox('rotate');
  const id = await createContainer(podId, 'rotate', 'chatty', {
    command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.1; done'],
  });
  await call('StartContainer', { container_id: id });
  const logPath = join(logs, 'rotate', 'chatty', '0.log');
  await until(async () => assert.match(await fs.readFile(logPath, 'utf8'), /line 3\n/));
  await fs.rename(logPath, `${logPath}.20261206-120000`);
  await call('ReopenContainerLog', { container_id: id });
  assert.ok(existsSync(logPath), 'the new log is there when the call returns');
  const fresh = await until(async () => {
    const t = await fs.readFile(logPath, 'utf8');
    assert.match(t, /^\S+ stdout F line \d+\n/);
    return t;
  });
  const old = (await fs.readFile(`${logPath}.20261206-120000`, 'utf8')).trimEnd().split('\n');
  const lastOld = Number(/line (\d+)$/.exec(old.at(-1)!)![1]);
  const firstNew = Number(/line (\d+)$/m.exec(fresh)![1]);
  assert.ok(firstNew > lastOld, `${lastOld} then ${firstNew}`);
  await call('StopContainer', { container_id: id, timeout: 0 });
  await assert.rejects(call('ReopenContainerLog', { container_id: id }), /not running/);
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test("oom_score_adj below the daemon's own (kubelet asks -998) is raised to it, not refused", async () => {
  const podId = await runSandbox('oom');
  const id = await createContainer(podId, 'oom', 'guaranteed', {
    command: ['sleep', '1000'],
    linux: { resources: { oom_score_adj: -998 } },
  });
  await call('StartContainer', { container_id: id });
  const { info } = await call('ContainerStatus', { container_id: id, verbose: true });
  const pid = JSON.parse(info.info).pid;
  const floor = Number(readFileSync(`/proc/${d.proc.pid}/oom_score_adj`, 'utf8'));
  assert.equal(Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8')), Math.max(-998, floor));
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test("a sandbox's stats: its namespace's interface counters and its processes, infra included", async () => {
  const podId = await runSandbox('counted');
  const id = await createContainer(podId, 'counted', 'three', {
    command: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'],
  });
  await call('StartContainer', { container_id: id });
  // Traffic of its own: ARP and pings to the bridge's address.
  await call('ExecSync', { container_id: id, cmd: ['ping', '-c', '2', '-W', '1', `${SUBNET}.1`], timeout: 10 });
  const stats = await until(async () => {
    const { stats } = await call('PodSandboxStats', { pod_sandbox_id: podId });
    assert.ok(Number(stats.linux.process.process_count.value) >= 4, stats.linux.process.process_count.value);
    return stats;
  });
  const net = stats.linux.network;
  assert.equal(net.default_interface.name, 'eth0');
  assert.ok(Number(net.default_interface.rx_bytes.value) > 0);
  assert.ok(Number(net.default_interface.tx_bytes.value) > 0);
  assert.deepEqual(
    net.interfaces.map((i: { name: string }) => i.name),
    ['eth0'],
  );
  const listed = (await call('ListPodSandboxStats', { filter: { id: podId } })).stats;
  assert.equal(listed.length, 1);
  assert.equal(listed[0].linux.network.default_interface.name, 'eth0');
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test(
  'Attach to a container with a terminal has no detach keys: ctrl-p ctrl-q reach it',
  { timeout: 60_000 },
  async () => {
    const podId = await runSandbox('tty');
    const id = await createContainer(podId, 'tty', 'term', {
      // Raw mode first (else the terminal itself takes ctrl-q, XON), then the bytes it reads as hex.
      command: ['sh', '-c', 'stty raw -echo; echo ready; head -c 3 | od -An -tx1; sleep 1000'],
      tty: true,
      stdin: true,
    });
    await call('StartContainer', { container_id: id });
    const logPath = join(logs, 'tty', 'term', '0.log');
    await until(async () => assert.match(await fs.readFile(logPath, 'utf8'), /ready/));
    const { url } = await call('Attach', { container_id: id, stdin: true, stdout: true, tty: true });
    const out = await new Promise<string>((resolve, reject) => {
      const w = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
      w.binaryType = 'arraybuffer';
      let got = '';
      w.onopen = () => w.send(Buffer.from([0, 0x10, 0x11, 0x7a]));
      w.onmessage = (e) => {
        const m = Buffer.from(e.data as ArrayBuffer);
        if (m[0] === 1) got += m.subarray(1).toString();
        if (/10 11 7a/.test(got)) {
          w.close();
          resolve(got);
        }
      };
      w.onerror = () => reject(new Error('websocket error'));
    });
    assert.match(out, /10 11 7a/);
    await call('RemovePodSandbox', { pod_sandbox_id: podId });
  },
);

test('a stop that reaches PID 1 before it has a handler is sent again once it has one (critest stops at once)', async () => {
  const podId = await runSandbox('late-trap');
  const id = await createContainer(podId, 'late-trap', 'app', {
    // PID 1 of its namespace without a TERM handler for two seconds: a SIGTERM then is discarded.
    command: ['sh', '-c', 'sleep 2; trap "exit 0" TERM; while :; do sleep 0.1; done'],
  });
  await call('StartContainer', { container_id: id });
  const t0 = Date.now();
  await call('StopContainer', { container_id: id, timeout: 30 });
  const took = Date.now() - t0;
  const st = (await call('ContainerStatus', { container_id: id })).status;
  assert.equal(st.exit_code, 0, `exit ${st.exit_code} after ${took} ms`);
  assert.ok(took < 15_000, `${took} ms`);
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('a sandbox with a running container survives a berthd restart: status, exec, its log going on, then stop and remove', async () => {
  const podId = await runSandbox('survivor');
  const id = await createContainer(podId, 'survivor', 'ticker', {
    command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done'],
  });
  await call('StartContainer', { container_id: id });
  const before = await call('ContainerStatus', { container_id: id, verbose: true });
  const pid = JSON.parse(before.info.info).pid;
  const ip = (await call('PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip;
  const logPath = before.status.log_path;
  await until(async () => assert.match(await fs.readFile(logPath, 'utf8'), /tick 2\n/));

  client.close();
  await stopDaemon(d, 'term');
  assert.ok(existsSync(`/proc/${pid}`), 'the container runs on while berthd is down');
  d = await startDaemon(d.extraArgs, d.root);
  await waitForSocket();
  connectClient();

  const sb = (await call('PodSandboxStatus', { pod_sandbox_id: podId })).status;
  assert.equal(sb.state, 'SANDBOX_READY');
  assert.equal(sb.network.ip, ip);
  const st = await call('ContainerStatus', { container_id: id, verbose: true });
  assert.equal(st.status.state, 'CONTAINER_RUNNING');
  assert.equal(JSON.parse(st.info.info).pid, pid);
  const ex = await call('ExecSync', {
    container_id: id,
    cmd: ['sh', '-c', 'hostname; ip -4 -o addr show eth0'],
    timeout: 10,
  });
  assert.match(ex.stdout.toString(), new RegExp(`^survivor\\n.*inet ${ip.replace(/\./g, '\\.')}/`, 's'));
  const lines = (await fs.readFile(logPath, 'utf8')).split('\n').length;
  await until(async () => assert.ok((await fs.readFile(logPath, 'utf8')).split('\n').length > lines + 2));

  await call('StopContainer', { container_id: id, timeout: 0 });
  assert.equal((await call('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_EXITED');
  await call('RemoveContainer', { container_id: id });
  await call('StopPodSandbox', { pod_sandbox_id: podId });
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.ok(!existsSync(`/proc/${pid}`));
  assert.ok(!readdirSync(join(netd, 'ipam', NET)).includes(ip), 'its address is given back');
  assert.ok(!existsSync(join(d.root, 'data', 'cni', 'results', `${podId}.json`)));
});

test(`${CYCLES} sandboxes with a container, each run, stopped and removed, leave nothing behind`, async () => {
  const ids = new Set<string>();
  const baseline = footprint(ids);
  const started = Date.now();
  for (let i = 0; i < CYCLES; i++) {
    const pod = `cycle${i}`;
    const hostPort = i % 10 === 0 ? await freePort() : 0;
    const podId = await runSandbox(pod, {
      port_mappings: hostPort ? [{ protocol: 'TCP', container_port: 80, host_port: hostPort }] : [],
    });
    ids.add(podId);
    const infra = JSON.parse(
      await call('PodSandboxStatus', { pod_sandbox_id: podId, verbose: true }).then((r) => r.info.info),
    );
    ids.add(infra.infraContainerId);
    const id = await createContainer(podId, pod, 'app', { command: ['sleep', '1000'] });
    ids.add(id);
    await call('StartContainer', { container_id: id });
    if (i === 0) {
      // The probe sees a running sandbox: without this, a footprint that saw nothing would pass.
      const live = footprint(ids);
      assert.equal(live.veths.length, baseline.veths.length + 1);
      assert.equal(live.leases.length, 1);
      assert.deepEqual(live.results, [`${podId}.json`]);
      assert.ok(live.cgroups.length >= 2, live.cgroups.join(' '));
      assert.ok(live.processes.length > baseline.processes.length + 1);
      assert.ok(live.mounts.length > baseline.mounts.length);
      if (hostPort) assert.ok(live.nat.length > 0);
      assert.equal(live.containerDirs.length, 2);
    }
    await call('StopContainer', { container_id: id, timeout: 0 });
    await call('RemoveContainer', { container_id: id });
    await call('StopPodSandbox', { pod_sandbox_id: podId });
    await call('RemovePodSandbox', { pod_sandbox_id: podId });
  }
  const perCycle = (Date.now() - started) / CYCLES;
  // Removal is done when the calls return; the wait is for a loaded machine's stragglers (a dying process).
  await until(() => assert.deepEqual(footprint(ids), baseline), 30_000);
  assert.deepEqual((await call('ListPodSandbox', {})).items, []);
  assert.deepEqual((await call('ListContainers', {})).containers, []);
  assert.equal((await dockerOk(d, ['ps', '-aq'])).trim(), '');
  console.log(`# ${CYCLES} cycles, ${perCycle.toFixed(0)} ms each`);
});
