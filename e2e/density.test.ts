/**
 * What each running container costs the machine (issue 15, target 2: at most 0.5 MB a
 * container), as a user of `docker run -d` would find it in /proc: one monitor of Berth's own
 * holding a few pages of its own, and a mount namespace that holds the container's mounts only,
 * however many others run (bench/density.sh measures the whole breakdown).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { cleanup, dockerOk, startDaemonWithBusybox, type Daemon } from './harness.ts';

let d: Daemon;

before(async () => {
  d = await startDaemonWithBusybox();
});
after(async () => {
  if (d) {
    const ids = (await dockerOk(d, ['ps', '-aq'])).split('\n').filter(Boolean);
    if (ids.length) await dockerOk(d, ['rm', '-f', ...ids]);
  }
  await cleanup(d);
});

async function runSleep(): Promise<number> {
  const id = (await dockerOk(d, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '600'])).trim();
  return Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', id])).trim());
}

const mounts = async (pid: number) => (await fs.readFile(`/proc/${pid}/mountinfo`, 'utf8')).trim().split('\n').length;

test("a container's mount namespace holds its own mounts only: the same count with one and with five running", async () => {
  const first = await runSleep();
  const alone = await mounts(first);
  const others = [];
  for (let i = 0; i < 4; i++) others.push(await runSleep());
  assert.equal(await mounts(first), alone, 'the first container sees none of the later ones');
  for (const pid of others) assert.equal(await mounts(pid), alone, 'a later one sees none of the earlier ones');
});

// Under BERTH_E2E_MONITOR=conmon the monitor is conmon, whose cost the bench compares.
const conmon = process.env.BERTH_E2E_MONITOR === 'conmon' ? 'runs under conmon' : false;

test(
  'a running container has one monitor of its own, with at most 72 kB of its own memory and page tables',
  { skip: conmon },
  async () => {
    const pid = await runSleep();
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
    const monitor = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    assert.match(await fs.readlink(`/proc/${monitor}/exe`), /\/build\/berth-monitor$/);
    const children = (await fs.readFile(`/proc/${monitor}/task/${monitor}/children`, 'utf8')).trim().split(/\s+/);
    assert.deepEqual(children.map(Number), [pid], "the container's init is the monitor's only child");
    // Its code is shared by every monitor; what each costs is its anonymous pages and page tables
    // (conmon's ~390 kB, berth-monitor's ~108 kB when built against glibc).
    const own = await fs.readFile(`/proc/${monitor}/status`, 'utf8');
    const anon = Number(/^RssAnon:\s+(\d+) kB/m.exec(own)?.[1]);
    const pageTables = Number(/^VmPTE:\s+(\d+) kB/m.exec(own)?.[1]);
    assert.ok(anon + pageTables <= 72, `anonymous memory ${anon} kB, page tables ${pageTables} kB`);
  },
);

/** The mount of `target` in process `pid`'s mountinfo: its device and its options. */
async function mountOf(pid: number, target: string): Promise<{ dev: string; options: string } | undefined> {
  const line = (await fs.readFile(`/proc/${pid}/mountinfo`, 'utf8'))
    .split('\n')
    .find((l) => l.split(' ')[4] === target);
  return line ? { dev: line.split(' ')[2]!, options: line.split(' ')[5]! } : undefined;
}

const masked = ['/proc/acpi', '/sys/firmware'];
const hostHasMasked = async () =>
  (
    await Promise.all(
      masked.map((p) =>
        fs.lstat(p).then(
          (s) => s.isDirectory(),
          () => false,
        ),
      ),
    )
  ).some(Boolean);

test('masked directories are empty and read-only, bound from one filesystem all containers share', async (t) => {
  if (!(await hostHasMasked())) return t.skip('this kernel has neither /proc/acpi nor /sys/firmware');
  const [a, b] = [await runSleep(), await runSleep()];
  const id = (await dockerOk(d, ['ps', '-lq'])).trim();
  for (const dir of masked) {
    if (
      !(await fs.lstat(dir).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      continue;
    const seen = await dockerOk(d, [
      'exec',
      id,
      'sh',
      '-c',
      `echo "$(ls -A ${dir} | wc -l) $(stat -c '%a %U' ${dir})"; touch ${dir}/x 2>&1; mkdir ${dir}/y 2>&1; true`,
    ]);
    assert.match(seen, /^0 1777 root\n/, `${dir} is an empty directory as crun's mask shows it`);
    assert.equal(seen.match(/Read-only file system/g)?.length, 2, `${dir} takes no file: ${seen}`);
    const [ma, mb] = [await mountOf(a, dir), await mountOf(b, dir)];
    assert.ok(ma && mb, `${dir} is masked in both`);
    assert.equal(ma.dev, mb.dev, `${dir}: one superblock for both containers, not a tmpfs each`);
    assert.match(ma.options, /(^|,)ro(,|$)/);
  }
});
