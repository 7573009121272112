import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProject } from './load.ts';
import {
  configHash,
  containerLabels,
  containerName,
  createRequest,
  imageName,
  networkRequest,
  replicas,
  volumeRequest,
} from './convert.ts';

const load = (text: string) =>
  parseProject([{ path: '/p/compose.yaml', text }], {
    cwd: '/p',
    workingDir: '/p',
    env: { FROM_SHELL: 'shell' },
    projectName: 'demo',
  });

const P = load(`
services:
  web:
    image: busybox
    command: [httpd, -f]
    environment: {A: "1", FROM_SHELL: null, MISSING: null}
    ports: ["127.0.0.1:8080:80", "53:53/udp", "9000"]
    expose: ["3000", "4000/udp"]
    volumes: ["data:/data:ro", "./site:/www", "/anon", {type: tmpfs, target: /run/t, tmpfs: {size: 1k}}, {type: bind, source: /etc/x, target: /x, bind: {propagation: rslave}}]
    tmpfs: [/tmp:size=1m]
    networks:
      back: {aliases: [api], ipv4_address: 10.9.0.5}
      front:
    depends_on: {one: {condition: service_healthy, restart: true}}
    healthcheck: {test: [CMD, "true"], interval: 1m30s, timeout: 500ms, retries: 2, start_period: 1s}
    restart: on-failure:3
    deploy: {resources: {limits: {memory: 64m, cpus: "1.5", pids: 50}}}
    user: "1000:1000"
    working_dir: /w
    hostname: h
    domainname: example.test
    init: true
    labels: {team: x}
    stop_signal: SIGINT
    stop_grace_period: 1m
    extra_hosts: ["a.test:10.0.0.1", "b.test=10.0.0.2"]
    dns: 10.0.0.53
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    privileged: true
    read_only: true
    shm_size: 128m
    ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
    sysctls: {net.core.somaxconn: 1024}
    logging: {driver: json-file, options: {max-size: 1m}}
    tty: true
    stdin_open: true
  db:
    build: ./db
    network_mode: "service:web"
  one:
    image: busybox
    network_mode: none
    entrypoint: /bin/sh -c
    container_name: the-one
    mem_limit: 32m
    cpus: 0.25
    scale: 1
networks: {back: {ipam: {config: [{subnet: 10.9.0.0/24}]}}, front: {internal: true, labels: {a: b}}}
volumes: {data: {driver_opts: {type: tmpfs, device: tmpfs}, labels: [x=y]}}
`);

test('names, images and replicas', () => {
  assert.equal(containerName(P, P.services.web!, 2), 'demo-web-2');
  assert.equal(containerName(P, P.services.one!, 1), 'the-one');
  assert.equal(imageName(P, P.services.db!), 'demo-db');
  assert.equal(imageName(P, P.services.web!), 'busybox');
  assert.equal(replicas(P.services.web!), 1);
  assert.equal(replicas(P.services.web!, { web: 3 }), 3);
});

test('labels as docker compose v2 writes them', () => {
  const l = containerLabels(P, P.services.web!, { number: 2, imageId: 'sha256:abc' });
  assert.deepEqual(l, {
    team: 'x',
    'com.docker.compose.project': 'demo',
    'com.docker.compose.service': 'web',
    'com.docker.compose.container-number': '2',
    'com.docker.compose.oneoff': 'False',
    'com.docker.compose.project.working_dir': '/p',
    'com.docker.compose.project.config_files': '/p/compose.yaml',
    'com.docker.compose.config-hash': configHash(P.services.web!),
    'com.docker.compose.version': '2.29.7',
    'com.docker.compose.depends_on': 'one:service_healthy:true',
    'com.docker.compose.image': 'sha256:abc',
  });
  assert.equal(containerLabels(P, P.services.web!, { number: 1, oneoff: true })['com.docker.compose.oneoff'], 'True');
  assert.deepEqual(networkRequest(P, 'front', P.networks.front!).Labels, {
    a: 'b',
    'com.docker.compose.network': 'front',
    'com.docker.compose.project': 'demo',
    'com.docker.compose.version': '2.29.7',
  });
  assert.deepEqual(volumeRequest(P, 'data', P.volumes.data!), {
    Name: 'demo_data',
    Driver: 'local',
    DriverOpts: { type: 'tmpfs', device: 'tmpfs' },
    Labels: {
      x: 'y',
      'com.docker.compose.volume': 'data',
      'com.docker.compose.project': 'demo',
      'com.docker.compose.version': '2.29.7',
    },
  });
});

test('the config hash follows the config, not its spelling or scale', () => {
  const a = load('services:\n  s: {image: x, environment: [A=1, B=2], ports: ["80:80"]}\n').services.s!;
  const b = load(
    'services:\n  s:\n    ports: [{target: 80, published: "80"}]\n    environment: {B: "2", A: "1"}\n    image: x\n    scale: 3\n',
  ).services.s!;
  const c = load('services:\n  s: {image: x, environment: [A=1, B=3], ports: ["80:80"]}\n').services.s!;
  assert.equal(configHash(a), configHash(b));
  assert.notEqual(configHash(a), configHash(c));
  assert.match(configHash(a), /^[0-9a-f]{64}$/);
});

test('a service as a container create request', () => {
  const r = createRequest(P, P.services.web!, { number: 1 });
  assert.equal(r.Image, 'busybox');
  assert.deepEqual(r.Cmd, ['httpd', '-f']);
  assert.deepEqual(r.Env, ['A=1', 'FROM_SHELL=shell']);
  assert.deepEqual(r.ExposedPorts, { '3000/tcp': {}, '4000/udp': {}, '80/tcp': {}, '53/udp': {}, '9000/tcp': {} });
  const hc = r.HostConfig!;
  assert.deepEqual(hc.PortBindings, {
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
    '53/udp': [{ HostIp: '', HostPort: '53' }],
    '9000/tcp': [{ HostIp: '', HostPort: '' }],
  });
  assert.deepEqual(hc.Binds, ['/p/site:/www']);
  assert.deepEqual(hc.Mounts, [
    { Type: 'volume', Target: '/data', ReadOnly: true, Source: 'demo_data' },
    { Type: 'volume', Target: '/anon' },
    { Type: 'tmpfs', Target: '/run/t', TmpfsOptions: { SizeBytes: 1024 } },
    { Type: 'bind', Target: '/x', Source: '/etc/x', BindOptions: { Propagation: 'rslave' } },
  ]);
  assert.deepEqual(hc.Tmpfs, { '/tmp': 'size=1m' });
  assert.equal(hc.NetworkMode, 'demo_back');
  assert.deepEqual(r.NetworkingConfig, {
    EndpointsConfig: { demo_back: { Aliases: ['web', 'api'], IPAMConfig: { IPv4Address: '10.9.0.5' } } },
  });
  assert.deepEqual(r.Healthcheck, {
    Test: ['CMD', 'true'],
    Interval: 90e9,
    Timeout: 5e8,
    Retries: 2,
    StartPeriod: 1e9,
  });
  assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(hc.Memory, 64 * 1024 * 1024);
  assert.equal(hc.NanoCpus, 1.5e9);
  assert.equal(hc.PidsLimit, 50);
  assert.equal(r.User, '1000:1000');
  assert.equal(r.WorkingDir, '/w');
  assert.equal(r.Hostname, 'h');
  assert.equal(r.Domainname, 'example.test');
  assert.equal(hc.Init, true);
  assert.equal(r.StopSignal, 'SIGINT');
  assert.equal(r.StopTimeout, 60);
  assert.deepEqual(hc.ExtraHosts, ['a.test:10.0.0.1', 'b.test:10.0.0.2']);
  assert.deepEqual(hc.Dns, ['10.0.0.53']);
  assert.deepEqual(hc.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(hc.CapDrop, ['ALL']);
  assert.equal(hc.Privileged, true);
  assert.equal(hc.ReadonlyRootfs, true);
  assert.equal(hc.ShmSize, 128 * 1024 * 1024);
  assert.deepEqual(hc.Ulimits, [
    { Name: 'nofile', Soft: 100, Hard: 200 },
    { Name: 'nproc', Soft: 50, Hard: 50 },
  ]);
  assert.deepEqual(hc.Sysctls, { 'net.core.somaxconn': '1024' });
  assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
  assert.equal(r.Tty, true);
  assert.equal(r.OpenStdin, true);
});

test('network modes, entrypoint strings, mem_limit and cpus', () => {
  const one = createRequest(P, P.services.one!, { number: 1 });
  assert.equal(one.HostConfig!.NetworkMode, 'none');
  assert.equal(one.NetworkingConfig, undefined);
  assert.deepEqual(one.Entrypoint, ['/bin/sh', '-c']);
  assert.equal(one.HostConfig!.Memory, 32 * 1024 * 1024);
  assert.equal(one.HostConfig!.NanoCpus, 2.5e8);
  const db = createRequest(P, P.services.db!, {
    number: 1,
    serviceContainer: (s) => (s === 'web' ? 'abc123' : undefined),
  });
  assert.equal(db.HostConfig!.NetworkMode, 'container:abc123');
  assert.equal(db.Image, 'demo-db');
  assert.throws(() => createRequest(P, P.services.db!, { number: 1 }), /no container of service "web"/);
});

test('one-off containers: no service alias, no published ports unless asked, overrides', () => {
  const r = createRequest(P, P.services.web!, {
    number: 1,
    oneoff: true,
    publish: false,
    command: ['echo', 'x'],
    env: ['X=1'],
  });
  assert.deepEqual(r.NetworkingConfig!.EndpointsConfig!.demo_back!.Aliases, ['api']);
  assert.equal(r.HostConfig!.PortBindings, undefined);
  assert.deepEqual(r.Cmd, ['echo', 'x']);
  assert.ok(r.Env!.includes('X=1'));
  assert.equal(r.Labels!['com.docker.compose.oneoff'], 'True');
});

test("a recreated container keeps its anonymous volumes, the file's and the image's", () => {
  const r = createRequest(P, P.services.web!, {
    number: 1,
    anonymousVolumes: { '/anon': 'a'.repeat(64), '/from-image': 'b'.repeat(64) },
  });
  const mounts = r.HostConfig!.Mounts as Record<string, unknown>[];
  assert.deepEqual(
    mounts.find((m) => m.Target === '/anon'),
    { Type: 'volume', Target: '/anon', Source: 'a'.repeat(64) },
  );
  assert.deepEqual(
    mounts.find((m) => m.Target === '/from-image'),
    { Type: 'volume', Source: 'b'.repeat(64), Target: '/from-image' },
  );
});

test("deploy.restart_policy in the engine's words; restart: wins", () => {
  const p = load(
    'services:\n  a: {image: x, deploy: {restart_policy: {condition: any}}}\n  b: {image: x, deploy: {restart_policy: {condition: on-failure, max_attempts: 2}}}\n  c: {image: x, restart: "no", deploy: {restart_policy: {condition: any}}}\n',
  );
  assert.deepEqual(createRequest(p, p.services.a!, { number: 1 }).HostConfig!.RestartPolicy, { Name: 'always' });
  assert.deepEqual(createRequest(p, p.services.b!, { number: 1 }).HostConfig!.RestartPolicy, {
    Name: 'on-failure',
    MaximumRetryCount: 2,
  });
  assert.deepEqual(createRequest(p, p.services.c!, { number: 1 }).HostConfig!.RestartPolicy, { Name: 'no' });
});

test('networks as create requests', () => {
  assert.deepEqual(networkRequest(P, 'back', P.networks.back!), {
    Name: 'demo_back',
    Driver: 'bridge',
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/24' }] },
    Labels: {
      'com.docker.compose.network': 'back',
      'com.docker.compose.project': 'demo',
      'com.docker.compose.version': '2.29.7',
    },
    CheckDuplicate: true,
  });
  assert.equal(networkRequest(P, 'front', P.networks.front!).Internal, true);
});
