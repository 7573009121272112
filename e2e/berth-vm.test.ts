/**
 * Micro-VM containers through the docker CLI: `--runtime berth-vm` runs the container in a qemu
 * microvm of its own (TCG here, so each boot takes seconds): the guest's kernel answers uname,
 * the exit code comes back, a volume written inside is on the host after, a published port
 * serves from inside the VM (traffic to loopback only), and the VM's processes are its own
 * (docker top lists them).
 * Few runs, each checking several things. Needs root, qemu and `npm run setup`'s build/vm.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import {
  startDaemonWithBusybox,
  cleanup,
  docker,
  dockerOk,
  eventually,
  freePort,
  REPO,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

const usable =
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/qemu-system-x86_64') &&
  existsSync(join(REPO, 'build', 'vm', 'initramfs.img'));
const skip = usable ? false : 'needs root, qemu and npm run setup (build/vm)';
const BRIDGE = `bvm${process.pid % 100000}`;
// A VM boots in seconds under TCG, longer on a loaded machine.
const SLOW = { timeoutMs: 300_000 };

let d: Daemon;
before(async () => {
  if (usable) d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--bip', `${await reserveSubnet()}.1/24`]);
});
after(() => cleanup(d));

test('docker info lists berth-vm among the runtimes', { skip }, async () => {
  const out = await dockerOk(d, ['info', '--format', '{{json .Runtimes}}']);
  assert.ok(JSON.parse(out)['berth-vm'], out);
});

test(
  'run --rm --runtime berth-vm: the guest kernel answers uname, the limits are the VM size, the exit code comes back',
  { skip },
  async () => {
    const guest = (await fs.readFile(join(REPO, 'build', 'vm', 'kernel.release'), 'utf8')).trim();
    const r = await docker(
      d,
      [
        'run',
        '--rm',
        '--runtime',
        'berth-vm',
        '-m',
        '256m',
        '--cpus',
        '2',
        'busybox',
        'sh',
        '-c',
        'uname -r; nproc; grep MemTotal /proc/meminfo; exit 3',
      ],
      SLOW,
    );
    const [kernel, cpus, mem] = r.stdout.trim().split('\n');
    assert.equal(kernel, guest, r.stderr);
    assert.equal(cpus, '2');
    // The guest's kernel keeps some of the 256 MiB for itself.
    const kib = Number(/MemTotal:\s+(\d+) kB/.exec(mem ?? '')?.[1]);
    assert.ok(kib > 150 * 1024 && kib <= 256 * 1024, mem);
    assert.notEqual(guest, release());
    assert.equal(r.code, 3);
    const left = await dockerOk(d, ['ps', '-aq']);
    assert.equal(left.trim(), '', 'the --rm container is gone');
  },
);

test(
  'a VM writes to a volume, serves a published port, and sees only its own processes, which docker top lists',
  { skip },
  async () => {
    const vol = await fs.mkdtemp('/tmp/berth-vm-vol-');
    const port = await freePort();
    try {
      const id = (
        await dockerOk(d, [
          'run',
          '-d',
          '--runtime',
          'berth-vm',
          '-v',
          `${vol}:/data`,
          '-p',
          `127.0.0.1:${port}:80`,
          'busybox',
          'sh',
          '-c',
          'ps -o pid,comm > /data/ps; echo from-the-vm > /www; mkdir -p /w && mv /www /w/index.html; exec httpd -f -p 80 -h /w',
        ])
      ).trim();
      const body = await eventually(
        // The proxy answers at once; the server in the VM once it has booted.
        () =>
          fetch(`http://127.0.0.1:${port}/`).then(
            (res) => res.text(),
            () => '',
          ),
        120_000,
        500,
      );
      assert.equal(body.trim(), 'from-the-vm');
      // docker top: the processes in the VM, not the shim, qemu and virtiofsd standing for it.
      const top = await dockerOk(d, ['top', id]);
      assert.match(top, /^0\s+1\s+0\s.*httpd -f -p 80/m);
      assert.doesNotMatch(top, /qemu|virtiofsd|berth-vm-shim/);
      const ps = await fs.readFile(join(vol, 'ps'), 'utf8');
      // The process list of the VM: the container's own process tree, none of the host's.
      const pids = ps.trim().split('\n').slice(1);
      assert.ok(pids.length > 0 && pids.length <= 3, ps);
      assert.doesNotMatch(ps, /berthd|node|qemu|systemd/);
      await dockerOk(d, ['rm', '-f', id]);
    } finally {
      await fs.rm(vol, { recursive: true, force: true });
    }
  },
);
