import { test } from 'node:test';
import assert from 'node:assert/strict';
import { specToCreate } from './libpod-spec.ts';

test("podman --remote run's spec generator becomes the Engine API's create request", () => {
  // As Podman 4.3 sends it for: run -d --pod p1 --name m1 -e A=1 -v /srv:/h:ro -w /tmp --user 1000 -p 8080:80 busybox sleep 100
  const { name, pod, body } = specToCreate({
    name: 'm1',
    pod: 'p1',
    command: ['sleep', '100'],
    env: { A: '1' },
    annotations: { 'io.kubernetes.cri-o.TTY': 'false' },
    stop_timeout: 10,
    image: 'busybox',
    mounts: [{ destination: '/h', type: 'bind', source: '/srv', options: ['ro'] }],
    volumes: [{ Name: 'data', Dest: '/data', Options: [] }],
    portmappings: [{ container_port: 80, host_port: 8080, protocol: 'tcp', range: 1 }],
    work_dir: '/tmp',
    user: '1000',
    restart_policy: 'on-failure',
    restart_tries: 3,
    resource_limits: { memory: { limit: 64 << 20 } },
    netns: {},
    Networks: null as never,
  });
  assert.equal(name, 'm1');
  assert.equal(pod, 'p1');
  assert.deepEqual(body.Cmd, ['sleep', '100']);
  assert.deepEqual(body.Env, ['A=1']);
  assert.equal(body.WorkingDir, '/tmp');
  assert.equal(body.User, '1000');
  assert.equal(body.StopTimeout, 10);
  assert.deepEqual(body.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(body.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(body.HostConfig?.Mounts, [{ Type: 'bind', Source: '/srv', Target: '/h', ReadOnly: true }]);
  assert.deepEqual(body.HostConfig?.Binds, ['data:/data']);
  assert.deepEqual(body.HostConfig?.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(body.HostConfig?.Memory, 64 << 20);
});

test('a spec generator without an image, with an unknown mount type or restart policy, is refused by name', () => {
  assert.throws(() => specToCreate({ name: 'x' }), /must provide image/);
  assert.throws(
    () => specToCreate({ image: 'b', mounts: [{ destination: '/d', type: 'devpts', source: 'x' }] }),
    /mount type "devpts" is not supported/,
  );
  assert.throws(() => specToCreate({ image: 'b', restart_policy: 'sometimes' }), /invalid restart policy "sometimes"/);
  assert.throws(() => specToCreate([] as never), /not a spec generator object/);
});

test("podman run -i: the container's stdin is open, and ends with the client's input", () => {
  const { body } = specToCreate({ image: 'busybox', stdin: true });
  assert.equal(body.OpenStdin, true);
  assert.equal(body.StdinOnce, true);
  assert.equal(specToCreate({ image: 'busybox' }).body.StdinOnce, false);
});
