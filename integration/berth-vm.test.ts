/**
 * berth-vm driven by hand as one drives runc: an OCI bundle (a busybox-static root file
 * system and a hand-written config.json), then create, state, start, exec, ps, pause, resume,
 * kill and delete with the real qemu, virtiofsd, guest kernel and agent. Two VMs boot here —
 * slowly under TCG — so the cases are few and each checks several things. Needs root, qemu
 * and `npm run setup`'s build/vm; skipped otherwise. Every VM is deleted with --force.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, openSync, closeSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RealHost } from '../src/host/index.ts';

const BERTH_VM = join(import.meta.dirname, '..', 'bin', 'berth-vm');
const BUILD = join(import.meta.dirname, '..', 'build');
const usable =
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/qemu-system-x86_64') &&
  existsSync(join(BUILD, 'vm', 'initramfs.img')) &&
  existsSync(join(BUILD, 'berth-vm-shim'));
const skip = usable ? false : 'needs root, qemu and npm run setup (build/vm)';

const host = new RealHost();
let tmp = '';
let root = '';
const ids: string[] = [];

before(async () => {
  if (!usable) return;
  tmp = await fs.mkdtemp('/tmp/berth-vm-test-');
  root = join(tmp, 'state');
});

after(async () => {
  if (!usable) return;
  for (const id of ids) await vm(['delete', '--force', id]);
  await fs.rm(tmp, { recursive: true, force: true });
});

async function vm(args: string[], out?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!out) return host.run(BERTH_VM, ['--root', root, ...args], { allowFailure: true, timeoutMs: 300_000 });
  // Output to a file: the shim keeps the descriptors it is given as the container's stdio.
  const fd = openSync(out, 'a');
  try {
    const r = await host.run(BERTH_VM, ['--root', root, ...args], {
      allowFailure: true,
      stdio: ['ignore', fd, fd],
      timeoutMs: 300_000,
    });
    return { ...r, stdout: await fs.readFile(out, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

async function bundle(name: string, args: string[], volume?: string): Promise<string> {
  const dir = join(tmp, name);
  const rootfs = join(dir, 'rootfs');
  await fs.mkdir(join(rootfs, 'bin'), { recursive: true });
  await fs.copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  await fs.chmod(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'cat', 'echo', 'uname', 'sleep', 'ps', 'ls', 'hostname', 'id'])
    await fs.symlink('busybox', join(rootfs, 'bin', a));
  const config = {
    ociVersion: '1.0.2',
    process: { user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
    root: { path: 'rootfs' },
    hostname: name,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...(volume ? [{ destination: '/data', type: 'bind', source: volume, options: ['rbind'] }] : []),
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }],
      cgroupsPath: `/berth-vm-test/${name}`,
      maskedPaths: ['/proc/kcore'],
    },
  };
  await fs.writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

test('berth-vm run: the guest kernel answers uname, the exit status is the process status', { skip }, async () => {
  const dir = await bundle('vmrun', ['sh', '-c', 'uname -r; hostname; exit 7']);
  ids.push('vmrun');
  const r = await vm(['run', '--bundle', dir, 'vmrun'], join(tmp, 'vmrun.out'));
  const release = (await fs.readFile(join(BUILD, 'vm', 'kernel.release'), 'utf8')).trim();
  assert.equal(r.code, 7, r.stdout + r.stderr);
  assert.equal(r.stdout, `${release}\nvmrun\n`);
  assert.notEqual(release, (await fs.readFile('/proc/sys/kernel/osrelease', 'utf8')).trim());
});

test(
  'create, start, exec, pause, kill and delete a VM as runc would, with a volume written from inside',
  { skip },
  async () => {
    const volume = join(tmp, 'volume');
    await fs.mkdir(volume);
    const dir = await bundle(
      'vmlife',
      [
        'sh',
        '-c',
        'trap "echo bye; exit 42" TERM; echo started; i=0; while true; do i=$((i+1)); echo $i > /data/count; sleep 0.2; done',
      ],
      volume,
    );
    ids.push('vmlife');
    const out = join(tmp, 'vmlife.out');
    const created = await vm(['create', '--bundle', dir, '--pid-file', join(tmp, 'pid'), 'vmlife'], out);
    assert.equal(created.code, 0, created.stderr);
    const state = async () => JSON.parse((await vm(['state', 'vmlife'])).stdout) as { status: string; pid: number };
    assert.equal((await state()).status, 'created');
    assert.equal(Number(await fs.readFile(join(tmp, 'pid'), 'utf8')), (await state()).pid);

    assert.equal((await vm(['start', 'vmlife'])).code, 0);
    assert.equal((await state()).status, 'running');
    // The process in the VM sees only the container's processes, and writes through to the host.
    const ps = await vm(['exec', 'vmlife', 'sh', '-c', 'ps -o pid,args; exit 3']);
    assert.equal(ps.code, 3);
    assert.match(ps.stdout, /^\s*1 sh -c trap/m);
    assert.doesNotMatch(ps.stdout, /qemu|berthd|node/);
    await waitFor(async () => Number(await fs.readFile(join(volume, 'count'), 'utf8').catch(() => '0')) > 1);

    const hostPids = JSON.parse((await vm(['ps', '--format', 'json', 'vmlife'])).stdout) as number[];
    assert.ok(hostPids.includes((await state()).pid));
    // The table is the guest's processes, as the agent lists them: docker top's source.
    const table = (await vm(['ps', 'vmlife'])).stdout;
    assert.match(table, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/);
    assert.match(table, /^0\s+1\s+0\s.*sh -c trap/m);
    assert.doesNotMatch(table, /qemu|virtiofsd|berth-vm-shim/);
    assert.equal((await vm(['pause', 'vmlife'])).code, 0);
    assert.equal((await state()).status, 'paused');
    assert.equal((await vm(['resume', 'vmlife'])).code, 0);
    assert.equal((await state()).status, 'running');

    const running = await vm(['delete', 'vmlife']);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /not stopped/);

    assert.equal((await vm(['kill', 'vmlife', 'TERM'])).code, 0);
    await waitFor(async () => (await state()).status === 'stopped');
    assert.equal(await fs.readFile(out, 'utf8'), 'started\nbye\n');
    assert.equal((await vm(['delete', 'vmlife'])).code, 0);
    assert.equal(existsSync(join(root, 'vmlife')), false);
    // qemu and virtiofsd go with the shim: they see it gone and exit within moments, not at once.
    for (const pid of hostPids)
      await waitFor(async () => !existsSync(`/proc/${pid}`), 10_000).catch(() =>
        assert.fail(`pid ${pid} is still there 10 s after the delete`),
      );
  },
);

async function waitFor(cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
