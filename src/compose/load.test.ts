import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject, normalizeProjectName, parseProject } from './load.ts';
import { ComposeError } from './model.ts';

const parse = (
  text: string,
  env: Record<string, string> = {},
  extra: { profiles?: string[]; services?: string[] } = {},
) => parseProject([{ path: '/p/compose.yaml', text }], { cwd: '/p', workingDir: '/p', env, ...extra });

test('project names: -p, name:, directory, normalised', () => {
  assert.equal(normalizeProjectName('My App.v2'), 'myappv2');
  assert.equal(normalizeProjectName('__x'), 'x');
  assert.equal(parse('services: {}').name, 'p');
  assert.equal(parse('name: Top\nservices: {}').name, 'top');
  assert.equal(
    parseProject([{ path: '/p/c.yaml', text: 'name: top' }], {
      cwd: '/',
      workingDir: '/p',
      env: {},
      projectName: 'cli',
    }).name,
    'cli',
  );
  assert.equal(parse('services: {}', { COMPOSE_PROJECT_NAME: 'envname' }).name, 'envname');
  assert.throws(
    () =>
      parseProject([{ path: '/p/c.yaml', text: '' }], { cwd: '/', workingDir: '/p', env: {}, projectName: 'Bad Name' }),
    ComposeError,
  );
});

test('a service in canonical form', () => {
  const p = parse(`
services:
  web:
    image: "busybox:\${TAG:-1.36}"
    command: sh -c 'echo hi'
    entrypoint: ["/bin/sh", "-c"]
    environment: [A=1, B]
    labels: {x: "1"}
    ports: ["8080:80", "127.0.0.1:9000-9001:9000-9001/udp", {target: 443, published: 8443, host_ip: 127.0.0.1}]
    expose: [3000]
    volumes: [data:/data, ./src:/src:ro, /anon, {type: tmpfs, target: /t, tmpfs: {size: 1m}}]
    networks: {front: {aliases: [www], ipv4_address: 10.5.0.5}, back: null}
    depends_on: {db: {condition: service_healthy}}
    healthcheck: {test: "wget -q localhost", interval: 2s, retries: 3}
    deploy: {replicas: 2, resources: {limits: {memory: 64m, cpus: "0.5", pids: 100}}}
    mem_limit: 1g
    init: true
    x-note: ignored
  db: {image: busybox}
networks: {front: {}, back: {internal: true, name: custom-back}}
volumes: {data: {}}
x-anchors: {a: 1}
`);
  const w = p.services.web!;
  assert.equal(w.image, 'busybox:1.36');
  assert.deepEqual(w.command, ['sh', '-c', 'echo hi']);
  assert.deepEqual(w.entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(w.environment, { A: '1', B: null });
  assert.deepEqual(w.ports, [
    { target: 80, published: '8080', protocol: 'tcp', mode: 'ingress' },
    { target: 9000, published: '9000', host_ip: '127.0.0.1', protocol: 'udp', mode: 'ingress' },
    { target: 9001, published: '9001', host_ip: '127.0.0.1', protocol: 'udp', mode: 'ingress' },
    { target: 443, published: '8443', host_ip: '127.0.0.1', protocol: 'tcp', mode: 'ingress' },
  ]);
  assert.deepEqual(w.volumes, [
    { type: 'volume', source: 'data', target: '/data' },
    { type: 'bind', source: '/p/src', target: '/src', read_only: true, bind: { create_host_path: true } },
    { type: 'volume', target: '/anon' },
    { type: 'tmpfs', target: '/t', tmpfs: { size: 1048576 } },
  ]);
  assert.deepEqual(w.networks, { front: { aliases: ['www'], ipv4_address: '10.5.0.5' }, back: null });
  assert.deepEqual(w.depends_on, { db: { condition: 'service_healthy', restart: false, required: true } });
  assert.deepEqual(w.healthcheck, { test: ['CMD-SHELL', 'wget -q localhost'], interval: '2s', retries: 3 });
  assert.deepEqual(w.deploy, {
    replicas: 2,
    resources: { limits: { memory: 64 * 1024 * 1024, cpus: 0.5, pids: 100 } },
  });
  assert.equal(w.mem_limit, 1024 ** 3);
  assert.equal((w as unknown as Record<string, unknown>)['x-note'], undefined);
  assert.deepEqual(p.services.db!.networks, { default: null });
  assert.deepEqual(p.networks.default, { name: 'p_default' });
  assert.deepEqual(p.networks.back, { name: 'custom-back', internal: true });
  assert.deepEqual(p.volumes.data, { name: 'p_data' });
  assert.ok(Object.isFrozen(p.services.web!.ports));
});

test('network_mode leaves networks out; external networks and volumes keep their names', () => {
  const p = parse(`
services:
  a: {image: x, network_mode: host}
  b: {image: x, networks: [ext]}
networks: {ext: {external: true}}
volumes: {v: {external: true, name: shared}}
`);
  assert.equal(p.services.a!.networks, undefined);
  assert.deepEqual(p.networks, { ext: { name: 'ext', external: true } });
  assert.deepEqual(p.volumes.v, { name: 'shared', external: true });
});

test('profiles: off unless active, or named on the command line (with what they need)', () => {
  const text = `
services:
  web: {image: x}
  debug: {image: x, profiles: [dev], depends_on: [tool]}
  tool: {image: x, profiles: [tools]}
`;
  assert.deepEqual(Object.keys(parse(text).services), ['web']);
  assert.deepEqual(parse(text).disabled, ['debug', 'tool']);
  assert.deepEqual(Object.keys(parse(text, {}, { profiles: ['dev'] }).services), ['debug', 'tool', 'web']);
  assert.deepEqual(Object.keys(parse(text, { COMPOSE_PROFILES: 'tools' }).services), ['tool', 'web']);
  assert.deepEqual(Object.keys(parse(text, {}, { services: ['debug'] }).services), ['debug', 'tool', 'web']);
});

test('several files merge in order', () => {
  const p = parseProject(
    [
      {
        path: '/p/compose.yaml',
        text: `
services:
  web:
    image: a
    command: [one]
    environment: {A: "1", B: "1"}
    ports: ["80:80"]
    volumes: ["d:/data", "./x:/x"]
    labels: [l1=a]
volumes: {d: {}}
`,
      },
      {
        path: '/p/compose.override.yaml',
        text: `
services:
  web:
    image: b
    command: two words
    environment: [B=2, C=3]
    ports: ["81:81", "80:80"]
    volumes: ["./y:/x"]
    labels: {l2: b}
  extra: {image: c}
`,
      },
    ],
    { cwd: '/p', workingDir: '/p', env: {} },
  );
  const w = p.services.web!;
  assert.equal(w.image, 'b');
  assert.deepEqual(w.command, ['two', 'words']);
  assert.deepEqual(w.environment, { A: '1', B: '2', C: '3' });
  assert.deepEqual(
    w.ports!.map((x) => x.published),
    ['80', '81'],
  );
  assert.deepEqual(
    w.volumes!.map((v) => `${v.source}:${v.target}`),
    ['d:/data', '/p/y:/x'],
  );
  assert.deepEqual(w.labels, { l1: 'a', l2: 'b' });
  assert.deepEqual(p.configFiles, ['/p/compose.yaml', '/p/compose.override.yaml']);
  assert.ok(p.services.extra);
});

test('validation errors name the file, the key and the line', () => {
  const err = (text: string) => {
    try {
      parse(text);
    } catch (e) {
      assert.ok(e instanceof ComposeError, String(e));
      return e.message;
    }
    assert.fail('no error');
  };
  assert.equal(
    err('services:\n  web:\n    image: x\n    imagee: y\n'),
    '/p/compose.yaml: line 4: services.web: additional property "imagee" is not allowed',
  );
  assert.equal(
    err('services:\n  web:\n    image: x\n    ports: 80\n'),
    '/p/compose.yaml: line 4: services.web.ports: must be a list',
  );
  assert.equal(
    err('services:\n  web:\n    image: x\n    privileged: maybe\n'),
    '/p/compose.yaml: line 4: services.web.privileged: must be a boolean',
  );
  assert.equal(
    err('services:\n  web:\n    image: x\n   bad: 1\n'),
    '/p/compose.yaml: line 4: yaml: All mapping items must start at the same column',
  );
  assert.equal(
    err('services:\n  web:\n    image: x\n    depends_on: {db: {condition: soon}}\n  db: {image: x}\n'),
    '/p/compose.yaml: line 4: services.web.depends_on.db.condition: must be one of service_started, service_healthy, service_completed_successfully',
  );
  assert.equal(
    err('services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n'),
    '/p/compose.yaml: depends_on: dependency cycle detected: a -> b -> a',
  );
  assert.equal(
    err('services:\n  a: {image: x, networks: [nope]}\n'),
    '/p/compose.yaml: service "a" refers to undefined network nope: invalid compose project',
  );
  assert.equal(
    err('services:\n  a: {image: x, volumes: ["nope:/x"]}\n'),
    '/p/compose.yaml: service "a" refers to undefined volume nope: invalid compose project',
  );
  assert.equal(
    err('services:\n  a: {command: x}\n'),
    '/p/compose.yaml: service "a" has neither an image nor a build context specified: invalid compose project',
  );
  assert.equal(
    err('services:\n  a: {image: "${X:?X is needed}"}\n'),
    '/p/compose.yaml: required variable X is missing a value: X is needed',
  );
  assert.equal(
    err('services:\n  a: {image: x, ports: ["1:2:3:4"]}\n'),
    '/p/compose.yaml: services.a: ports[0]: invalid port "1:2:3:4"',
  );
  assert.equal(
    err('services:\n  a:\n    image: x\n    devices: [/dev/fuse]\n'),
    '/p/compose.yaml: line 4: services.a: "devices" is not supported by berth compose',
  );
  assert.equal(
    err('services:\n  a:\n    image: x\n    volumes:\n      - type: bind\n        sorce: /x\n        target: /y\n'),
    '/p/compose.yaml: line 6: services.a.volumes.0: additional property "sorce" is not allowed',
  );
  assert.equal(
    err('services:\n  a:\n    image: x\n    networks:\n      n: {alias: [y]}\nnetworks: {n: {}}\n'),
    '/p/compose.yaml: line 5: services.a.networks.n: additional property "alias" is not allowed',
  );
  assert.equal(err('include: [other.yaml]\n'), '/p/compose.yaml: line 1: "include" is not supported by berth compose');
  assert.equal(
    err('volumes:\n  v: {drver: local}\n'),
    '/p/compose.yaml: line 2: volumes.v: additional property "drver" is not allowed',
  );
});

test('loadProject: file discovery, .env, --env-file, env_file and the process environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-compose-load-'));
  try {
    mkdirSync(join(dir, 'My Proj'));
    const d = join(dir, 'My Proj');
    writeFileSync(
      join(d, 'docker-compose.yml'),
      'services:\n  web:\n    image: "busybox:${TAG}"\n    env_file: [web.env]\n    environment: {B: from-file-overridden}\n',
    );
    writeFileSync(join(d, 'docker-compose.override.yml'), 'services:\n  web:\n    environment: [C=over]\n');
    writeFileSync(join(d, '.env'), 'TAG=fromdotenv\n');
    writeFileSync(join(d, 'web.env'), 'A=1\nB=2\n');
    writeFileSync(join(d, 'other.env'), 'TAG=other\n');
    let p = loadProject({ cwd: d, env: {} });
    assert.equal(p.name, 'myproj');
    assert.equal(p.services.web!.image, 'busybox:fromdotenv');
    assert.deepEqual(p.services.web!.environment, { A: '1', B: 'from-file-overridden', C: 'over' });
    assert.equal(p.configFiles.length, 2);
    p = loadProject({ cwd: d, env: { TAG: 'fromshell' } });
    assert.equal(p.services.web!.image, 'busybox:fromshell');
    p = loadProject({ cwd: d, env: {}, envFiles: ['other.env'], files: ['docker-compose.yml'] });
    assert.equal(p.services.web!.image, 'busybox:other');
    assert.equal(p.configFiles.length, 1);
    assert.throws(() => loadProject({ cwd: dir, env: {} }), /no configuration file provided/);
    p = loadProject({ cwd: dir, env: {}, projectDirectory: 'My Proj' });
    assert.equal(p.workingDir, d);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("build: cache_from (names, and buildx's type=registry,ref=), no_cache, network, shm_size and extra_hosts reach the build", () => {
  const p = parse(`
services:
  app:
    build:
      context: ./app
      cache_from: [ci/app:latest, "type=registry,ref=reg.example/app:cache"]
      no_cache: true
      network: host
      shm_size: 128m
      extra_hosts: ["db=10.0.0.5", "cache:10.0.0.6"]
`);
  assert.deepEqual(p.services.app!.build, {
    context: '/p/app',
    cache_from: ['ci/app:latest', 'reg.example/app:cache'],
    no_cache: true,
    network: 'host',
    shm_size: 128 * 1024 * 1024,
    extra_hosts: ['db:10.0.0.5', 'cache:10.0.0.6'],
  });
});
