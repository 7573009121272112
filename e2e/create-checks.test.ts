/**
 * What dockerd checks of a create before anything is made, and the words of what fails later,
 * through the real `docker` CLI: the refusals of moby's API decoder and verifyContainerSettings
 * (no container is left behind), the warnings it answers a create with, and a runtime's refusal
 * worded as moby 24+ answers it through containerd's shim.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { api, cleanup, docker, dockerOk, startDaemonWithBusybox, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => {
  d = await startDaemonWithBusybox();
  await dockerOk(d, ['run', '-d', '--name', 'netowner', 'busybox', 'sleep', '600']);
});
after(() => cleanup(d));

test('refused at create in dockerd words, and no container is made', async () => {
  const refused: [string[], string][] = [
    [['-w', 'relative'], "the working directory 'relative' is invalid, it needs to be an absolute path"],
    [['--stop-signal', 'SIGBOGUS'], 'Invalid signal: SIGBOGUS'],
    [['--stop-signal', '0'], 'Invalid signal: 0'],
    [['--health-cmd', 'true', '--health-interval', '1us'], 'Interval in Healthcheck cannot be less than 1ms'],
    [['--health-cmd', 'true', '--health-timeout', '1us'], 'Timeout in Healthcheck cannot be less than 1ms'],
    [['--uts', 'host', '--hostname', 'x'], 'conflicting options: hostname and the UTS mode'],
    [['--network', 'container:netowner', '--hostname', 'x'], 'conflicting options: hostname and the network mode'],
    [['--network', 'container:netowner', '--dns', '192.0.2.53'], 'conflicting options: dns and the network mode'],
    [
      ['--network', 'container:netowner', '--add-host', 'a:192.0.2.1'],
      'conflicting options: custom host-to-IP mapping and the network mode',
    ],
    [
      ['--network', 'container:netowner', '-p', '8080:80'],
      'conflicting options: port publishing and the container type network mode',
    ],
    [
      ['--network', 'container:netowner', '--expose', '80'],
      'conflicting options: port exposing and the container type network mode',
    ],
    [['--cpu-shares', '-1'], 'invalid CPU shares (-1): value must be a positive integer'],
    [['--cap-add', 'bogus'], 'invalid CapAdd: unknown capability: "CAP_BOGUS"'],
    [['--cap-drop', 'nope'], 'invalid CapDrop: unknown capability: "CAP_NOPE"'],
    [['--memory-reservation', '1m'], 'Minimum memory reservation allowed is 6MB'],
    [['--memory-swap', '64m'], 'You should always set the Memory limit when using Memoryswap limit, see usage'],
    [
      ['--memory', '64m', '--memory-swap', '32m'],
      'Minimum memoryswap limit should be larger than memory limit, see usage',
    ],
    [['--oom-score-adj', '2000'], 'Invalid value 2000, range for oom score adj is [-1000, 1000]'],
    [['--isolation', 'hyperv'], "invalid isolation (hyperv): linux only supports 'default'"],
    [['--hostname', 'h'.repeat(65)], `hostname "${'h'.repeat(65)}" is too long (maximum 64 bytes)`],
  ];
  for (const [args, message] of refused) {
    const r = await docker(d, ['run', '--rm', '--name', 'refused', ...args, 'busybox', 'true']);
    assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], `docker: Error response from daemon: ${message}`, args.join(' '));
    assert.equal((await docker(d, ['inspect', 'refused'])).code, 1, `${args.join(' ')}: no container was made`);
  }
  // A container of the same network may still be made with none of those; it takes the
  // other's host name with its /etc files, as with dockerd.
  await dockerOk(d, ['run', '-d', '--name', 'named-owner', '--hostname', 'owner.example', 'busybox', 'sleep', '600']);
  assert.equal(
    await dockerOk(d, [
      'run',
      '--rm',
      '--network',
      'container:named-owner',
      'busybox',
      'sh',
      '-c',
      'hostname; cat /etc/hostname',
    ]),
    'owner.example\nowner.example\n',
  );
  await dockerOk(d, ['rm', '-f', 'named-owner']);
});

test('the memory cgroup gets a reservation alone, --oom-kill-disable and --memory-swappiness, as dockerd applies them', async () => {
  const memoryFile = (args: string[], file: string) =>
    dockerOk(d, ['run', '--rm', ...args, 'busybox', 'head', '-1', `/sys/fs/cgroup/memory/${file}`]);
  assert.equal(
    await memoryFile(['--memory', '64m', '--oom-kill-disable'], 'memory.oom_control'),
    'oom_kill_disable 1\n',
  );
  assert.equal(await memoryFile(['--memory', '64m'], 'memory.oom_control'), 'oom_kill_disable 0\n');
  assert.equal(await memoryFile(['--memory-swappiness', '10'], 'memory.swappiness'), '10\n');
  const badSwappiness = await api(
    d,
    'POST',
    '/containers/create',
    '{"Image":"busybox","HostConfig":{"MemorySwappiness":101}}',
    {
      'Content-Type': 'application/json',
    },
  );
  assert.equal(badSwappiness.status, 400);
  assert.match(badSwappiness.body, /Invalid value: 101, valid memory swappiness range is 0-100/);
  const soft = await dockerOk(d, [
    'run',
    '--rm',
    '--memory-reservation',
    '64m',
    'busybox',
    'cat',
    '/sys/fs/cgroup/memory/memory.soft_limit_in_bytes',
  ]);
  assert.equal(soft, `${64 * 1024 * 1024}\n`);
});

test('a create answers with dockerd warnings, and the CLI prints them', async () => {
  const hostPorts = await docker(d, ['run', '--rm', '--network', 'host', '-p', '8080:80', 'busybox', 'true']);
  assert.equal(hostPorts.code, 0, hostPorts.stderr);
  assert.match(hostPorts.stderr, /^WARNING: Published ports are discarded when using host network mode$/m);
  const oom = await docker(d, ['run', '--rm', '--oom-kill-disable', 'busybox', 'true']);
  assert.equal(oom.code, 0, oom.stderr);
  assert.match(
    oom.stderr,
    /^WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources\.$/m,
  );
  const limited = await docker(d, ['run', '--rm', '--oom-kill-disable', '--memory', '64m', 'busybox', 'true']);
  assert.equal(limited.stderr, '', 'no warning with a memory limit');
  // Block I/O weight needs CFQ or BFQ: where the host has neither, dockerd drops it and says so.
  const weighable = ['blkio/blkio.weight', 'blkio/blkio.bfq.weight', 'io.weight', 'io.bfq.weight'].some((f) =>
    existsSync(`/sys/fs/cgroup/${f}`),
  );
  await docker(d, ['create', '--name', 'weighted', '--blkio-weight', '300', 'busybox', 'true']).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    if (weighable) assert.doesNotMatch(r.stderr, /WARNING/);
    else
      assert.match(
        r.stderr,
        /^WARNING: Your kernel does not support Block I\/O weight or the cgroup is not mounted\. Weight discarded\.$/m,
      );
  });
  assert.equal(
    await dockerOk(d, ['inspect', '-f', '{{.HostConfig.BlkioWeight}}', 'weighted']),
    weighable ? '300\n' : '0\n',
  );
  await dockerOk(d, ['rm', 'weighted']);
  const perDevice = ['blkio/blkio.weight_device', 'blkio/blkio.bfq.weight_device'].some((f) =>
    existsSync(`/sys/fs/cgroup/${f}`),
  );
  const byDevice = await docker(d, ['run', '--rm', '--blkio-weight-device', '/dev/null:300', 'busybox', 'true']);
  if (!perDevice)
    assert.match(
      byDevice.stderr,
      /^WARNING: Your kernel does not support Block I\/O weight_device or the cgroup is not mounted\. Weight-device discarded\.$/m,
    );
});

test("a runtime's refusal is worded as moby's through containerd; a spec's own refusal is bare", async () => {
  const chain = 'failed to create task for container: failed to create shim task: OCI runtime create failed: ';
  const missing = await docker(d, ['run', '--rm', 'busybox', 'nosuchcmd']);
  assert.equal(missing.code, 127, missing.stderr);
  assert.equal(
    missing.stderr.split('\n')[0],
    `docker: Error response from daemon: ${chain}runc create failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown`,
  );
  const dir = await docker(d, ['run', '--rm', 'busybox', '/etc']);
  assert.equal(dir.code, 126, dir.stderr);
  assert.match(dir.stderr, /exec: "\/etc": permission denied: unknown/);
  // The error kept in the container's state is the one the client was given.
  await dockerOk(d, ['create', '--name', 'never-ran', 'busybox', 'nosuchcmd']);
  const start = await docker(d, ['start', 'never-ran']);
  assert.notEqual(start.code, 0);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.State.Error}}', 'never-ran'])).trim(),
    start.stderr.split('\n')[0]!.replace(/^Error response from daemon: /, ''),
  );
  await dockerOk(d, ['rm', 'never-ran']);
  // A working directory the image has as a file: moby's SetupWorkingDirectory words, from a
  // warm sandbox (the pool's zygote would only find it out once the command ran) and cold.
  for (const net of ['none', 'host']) {
    const wd = await docker(d, ['run', '--rm', '--network', net, '-w', '/etc/passwd', 'busybox', 'pwd']);
    assert.equal(wd.code, 125, wd.stderr);
    assert.equal(wd.stdout, '');
    assert.equal(
      wd.stderr.split('\n')[0],
      'docker: Error response from daemon: Cannot mkdir: /etc/passwd is not a directory',
    );
  }
  // A security option moby does not know, in its words.
  for (const [opt, n] of [
    ['bogus=x', 2],
    ['no-new-privileges=maybe', 2],
  ] as const) {
    const r = await docker(d, ['run', '--rm', '--security-opt', opt, 'busybox', 'true']);
    assert.equal(r.code, 125, r.stderr);
    assert.equal(r.stderr.split('\n')[0], `docker: Error response from daemon: invalid --security-opt ${n}: "${opt}"`);
  }
  // A device that is not there fails the spec, before any runtime: dockerd's words alone.
  const device = await docker(d, ['run', '--rm', '--device', '/dev/nosuch', 'busybox', 'true']);
  // The CLI reads 127 into "no such file or directory", for dockerd's answer too.
  assert.equal(device.code, 127, device.stderr);
  assert.equal(
    device.stderr.split('\n')[0],
    'docker: Error response from daemon: error gathering device information while adding custom device "/dev/nosuch": no such file or directory',
  );
});

test('inspect shows what dockerd fills in at create: the 64 MB SHM size, no pids limit, no ports or volumes', async () => {
  await dockerOk(d, ['create', '--name', 'filled', '--pids-limit', '-1', 'busybox', 'true']);
  assert.equal(
    await dockerOk(d, [
      'inspect',
      '-f',
      '{{.HostConfig.ShmSize}} {{.HostConfig.PidsLimit}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}}',
      'filled',
    ]),
    '67108864 <nil> null null\n',
  );
  await dockerOk(d, ['rm', 'filled']);
  await dockerOk(d, [
    'create',
    '--name',
    'given',
    '--pids-limit',
    '50',
    '--shm-size',
    '1m',
    '--expose',
    '80',
    '-v',
    '/data',
    'busybox',
  ]);
  assert.equal(
    await dockerOk(d, [
      'inspect',
      '-f',
      '{{.HostConfig.ShmSize}} {{.HostConfig.PidsLimit}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}}',
      'given',
    ]),
    '1048576 50 {"80/tcp":{}} {"/data":{}}\n',
  );
  await dockerOk(d, ['rm', '-v', 'given']);
});

test('block I/O throttles land in the blkio cgroup by the device numbers; a device that is not there is refused', async (t) => {
  const missing = await docker(d, ['run', '--rm', '--device-read-bps', '/dev/no-such-disk:1mb', 'busybox', 'true']);
  assert.notEqual(missing.code, 0);
  assert.equal(
    missing.stderr.split('\n')[0],
    'docker: Error response from daemon: stat /dev/no-such-disk: no such file or directory',
  );
  const disk = readdirSync('/sys/block').find((b) => /^(sd|vd|xvd|nvme)/.test(b));
  if (!disk || !existsSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device')) {
    t.skip('no disk or no cgroup v1 blkio throttle files on this host');
    return;
  }
  const [major, minor] = readFileSync(`/sys/block/${disk}/dev`, 'utf8').trim().split(':');
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--device-read-bps',
    `/dev/${disk}:1mb`,
    '--device-write-iops',
    `/dev/${disk}:100`,
    'busybox',
    'cat',
    '/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device',
    '/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device',
  ]);
  assert.equal(out, `${major}:${minor} 1048576\n${major}:${minor} 100\n`);
});
