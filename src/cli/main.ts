/**
 * `berth`: the docker CLI's commands, flags and output against a Berth (or any Engine API)
 * daemon. `-H/--host` or DOCKER_HOST selects it.
 */
import { EngineClient, DEFAULT_HOST } from '../client/index.ts';
import { UsageError } from './flags.ts';
import * as ctr from './containers.ts';
import * as img from './images.ts';
import { render } from './format.ts';

const o: ctr.Out = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

const USAGE = `Usage:  berth [OPTIONS] COMMAND

A Docker-compatible container engine

Options:
  -H, --host string   Daemon socket to connect to (default ${DEFAULT_HOST}, or $DOCKER_HOST)

Commands:
  run, create, start, stop, restart, kill, wait, rm, ps, logs, inspect, rename, top, pause, unpause, export
  images, tag, rmi, history, import, save, load, pull
  image bootstrap busybox | debian:bookworm     Build a base image offline
  container prune, image prune, image ls|rm|inspect|history|tag|save|load|import
  version, info
`;

type Cmd = (c: EngineClient, argv: string[]) => Promise<number>;

const commands: Record<string, Cmd> = {
  run: (c, a) => ctr.run(c, a, o),
  create: (c, a) => ctr.run(c, a, o, true),
  start: (c, a) => ctr.start(c, a, o),
  stop: (c, a) => ctr.stopLike(c, a, o, 'stop'),
  restart: (c, a) => ctr.stopLike(c, a, o, 'restart'),
  kill: (c, a) => ctr.kill(c, a, o),
  pause: (c, a) => ctr.simpleAction(c, a, o, 'pause'),
  unpause: (c, a) => ctr.simpleAction(c, a, o, 'unpause'),
  wait: (c, a) => ctr.wait(c, a, o),
  rm: (c, a) => ctr.rm(c, a, o),
  ps: (c, a) => ctr.ps(c, a, o),
  logs: (c, a) => ctr.logs(c, a, o),
  inspect: (c, a) => ctr.inspect(c, a, o),
  rename: (c, a) => ctr.rename(c, a, o),
  top: (c, a) => ctr.top(c, a, o),
  export: (c, a) => ctr.exportFs(c, a, o),
  images: (c, a) => img.images(c, a, o),
  tag: (c, a) => img.tag(c, a),
  rmi: (c, a) => img.rmi(c, a, o),
  history: (c, a) => img.history(c, a, o),
  import: (c, a) => img.importImage(c, a, o),
  save: (c, a) => img.save(c, a, o),
  load: (c, a) => img.load(c, a, o),
  pull: (c, a) => img.pull(c, a, o),
  version: async (c, a) => {
    const v = await c.json<Record<string, unknown>>('GET', '/version');
    const fmt = a[0] === '--format' || a[0] === '-f' ? a[1] : undefined;
    if (fmt) o.out(`${render(fmt, { Server: v })}\n`);
    else o.out(`Server: ${(v.Platform as { Name: string }).Name}\n Version:       ${v.Version}\n API version:   ${v.ApiVersion} (minimum version ${v.MinAPIVersion})\n Go version:    ${v.GoVersion}\n OS/Arch:       ${v.Os}/${v.Arch}\n`);
    return 0;
  },
  info: async (c, a) => {
    const i = await c.json<Record<string, unknown>>('GET', '/info');
    const fmt = a[0] === '--format' || a[0] === '-f' ? a[1] : undefined;
    if (fmt) o.out(`${render(fmt, i)}\n`);
    else {
      o.out(`Server:\n Containers: ${i.Containers}\n  Running: ${i.ContainersRunning}\n  Paused: ${i.ContainersPaused}\n  Stopped: ${i.ContainersStopped}\n Images: ${i.Images}\n`);
      o.out(` Server Version: ${i.ServerVersion}\n Storage Driver: ${i.Driver}\n Logging Driver: ${i.LoggingDriver}\n Cgroup Driver: ${i.CgroupDriver}\n Cgroup Version: ${i.CgroupVersion}\n`);
      o.out(` Kernel Version: ${i.KernelVersion}\n Operating System: ${i.OperatingSystem}\n CPUs: ${i.NCPU}\n Docker Root Dir: ${i.DockerRootDir}\n Live Restore Enabled: ${i.LiveRestoreEnabled}\n`);
    }
    return 0;
  },
};

const groups: Record<string, Record<string, Cmd>> = {
  container: {
    prune: (c, a) => ctr.prune(c, a, o), ls: commands.ps!, list: commands.ps!, rm: commands.rm!, inspect: (c, a) => ctr.inspect(c, a, o, 'container'),
    run: commands.run!, create: commands.create!, start: commands.start!, stop: commands.stop!, logs: commands.logs!, export: commands.export!,
  },
  image: {
    ls: commands.images!, list: commands.images!, rm: commands.rmi!, inspect: (c, a) => ctr.inspect(c, a, o, 'image'), history: commands.history!,
    tag: commands.tag!, save: commands.save!, load: commands.load!, import: commands.import!, pull: commands.pull!,
    prune: (c, a) => img.prune(c, a, o), bootstrap: (c, a) => img.bootstrap(c, a, o),
  },
};

async function main(argv: string[]): Promise<number> {
  let host: string | undefined;
  while (argv[0]?.startsWith('-')) {
    const a = argv.shift()!;
    if (a === '-H' || a === '--host') host = argv.shift();
    else if (a.startsWith('--host=')) host = a.slice(7);
    else if (a === '-h' || a === '--help') {
      o.out(USAGE);
      return 0;
    } else {
      o.err(`unknown flag: ${a}\nSee 'berth --help'.\n`);
      return 125;
    }
  }
  const name = argv.shift();
  if (!name) {
    o.out(USAGE);
    return 0;
  }
  let cmd = commands[name];
  if (!cmd && groups[name]) {
    const sub = argv.shift() ?? '';
    cmd = groups[name]![sub];
    if (!cmd) {
      o.err(`berth: '${name} ${sub}' is not a berth command.\nSee 'berth --help'\n`);
      return 1;
    }
  }
  if (!cmd) {
    o.err(`berth: '${name}' is not a berth command.\nSee 'berth --help'\n`);
    return 1;
  }
  const client = new EngineClient(host ?? (process.env.DOCKER_HOST || DEFAULT_HOST));
  try {
    await client.negotiate();
    return await cmd(client, argv);
  } catch (e) {
    if (e instanceof UsageError) {
      o.err(`berth: ${e.message}\nSee 'berth ${name} --help'.\n`);
      return 125;
    }
    o.err(/^Cannot connect/.test((e as Error).message) ? `${(e as Error).message}\n` : `Error response from daemon: ${(e as Error).message}\n`);
    return name === 'run' || name === 'create' ? 125 : 1;
  }
}

main(process.argv.slice(2)).then((rc) => {
  process.exitCode = rc;
}, (e) => {
  process.stderr.write(`berth: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
