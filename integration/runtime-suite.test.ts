/**
 * The runtime suite (src/runtime/suite.ts) against the real runtimes, through the runc/crun
 * driver and conmon: runc, and crun through the berth-crun wrapper as berthd runs it (crun is
 * berthd's default where it is installed). Needs root, conmon and busybox-static; each runtime
 * is skipped when it is not installed. Every task is force-deleted and the directories and
 * cgroups removed after.
 */
import { existsSync, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { RealHost } from '../src/host/index.ts';
import { crunBinary, RuncRuntime } from '../src/runtime/index.ts';
import {
  makeBusyboxRootfs,
  makeTestBundle,
  runtimeSuite,
  taskId,
  type RuntimeFixture,
  type TaskShape,
} from '../src/runtime/testing.ts';

const REPO = resolve(import.meta.dirname, '..');
const root = process.getuid?.() === 0;
const base = root && existsSync('/usr/bin/conmon') && existsSync('/bin/busybox');

/** Each shape as a busybox command, and whether its init needs a pid namespace of its own. */
function commandOf(shape: TaskShape): { args: string[]; pidNamespace: boolean } {
  switch (shape.kind) {
    case 'exits':
      return {
        args: ['sh', '-c', [...(shape.lines ?? []).map((l) => `echo ${l}`), `exit ${shape.code}`].join('; ')],
        pidNamespace: true,
      };
    case 'runs':
      // Without a pid namespace of its own, the init dies of SIGTERM like any process.
      return { args: ['sleep', '1000'], pidNamespace: false };
    case 'ignoresTerm':
      // The init of a pid namespace ignores the signals it has no handler for.
      return { args: ['sleep', '1000'], pidNamespace: true };
    case 'missing':
      return { args: [shape.command], pidNamespace: true };
  }
}

async function openFixture(runtimePath: string, monitorPath?: string): Promise<RuntimeFixture> {
  const dir = await fs.mkdtemp('/tmp/berth-rt-suite-');
  const rootfs = await makeBusyboxRootfs(join(dir, 'rootfs'));
  const host = new RealHost();
  const runtime = new RuncRuntime({ host, root: join(dir, 'exec'), runtimePath, conmonPath: monitorPath });
  await runtime.init();
  let n = 0;
  return {
    runtime,
    async task(shape) {
      const id = taskId();
      const bundle = join(dir, id);
      const { args, pidNamespace } = commandOf(shape);
      await makeTestBundle({ id, dir: bundle, rootfs, args, pidNamespace });
      return { id, bundle, logPath: join(bundle, 'ctr.log'), terminal: false, stdin: false };
    },
    async execProcess(id, shape) {
      const spec = JSON.parse(await fs.readFile(join(dir, id, 'config.json'), 'utf8')) as { process: object };
      return { ...spec.process, args: commandOf(shape).args };
    },
    async execDir() {
      const d = join(dir, `exec-${n++}`);
      await fs.mkdir(d);
      return d;
    },
    async close() {
      await fs.rm(dir, { recursive: true, force: true });
      // The test cgroup parents, if no other run still uses them.
      for (const c of await fs.readdir('/sys/fs/cgroup').catch(() => [])) {
        await fs.rmdir(join('/sys/fs/cgroup', c, 'berth-test')).catch(() => {});
      }
      host.close?.();
    },
  };
}

const runc = '/usr/bin/runc';
const crunWrapper = join(REPO, 'build', 'berth-crun');
// Each runtime under each monitor: conmon, and Berth's own (berth-monitor.c, `berthd --monitor berth`).
const berthMonitor = join(REPO, 'build', 'berth-monitor');
for (const [label, monitor] of [
  ['conmon', undefined],
  ['berth-monitor', berthMonitor],
] as const) {
  const noMonitor = monitor && !existsSync(monitor) && 'build/berth-monitor is missing (npm run setup)';
  runtimeSuite(`runc, ${label}`, () => openFixture(runc, monitor), {
    skip: !base ? 'needs root, conmon and busybox-static' : (!existsSync(runc) && 'runc is not installed') || noMonitor,
  });
  runtimeSuite(`crun, ${label}`, () => openFixture(crunWrapper, monitor), {
    skip: !base
      ? 'needs root, conmon and busybox-static'
      : (!(existsSync(crunBinary()) && existsSync(crunWrapper)) && 'crun or build/berth-crun is missing') || noMonitor,
  });
}
