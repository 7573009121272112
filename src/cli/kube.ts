/**
 * `berth kube play|down|generate`: Kubernetes YAML in and out, over src/kube/. This file does
 * the command line, reading the file (or stdin) and the printing; parsing, planning, running
 * and generating live in kube/. Loaded on demand (app.ts), as compose is: the yaml parser
 * would slow every other command's start.
 *
 * Pods come through `podBackend()`, a client of the daemon's Libpod-shaped pod endpoints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isNotFound, type ContainerConfig, type PodCreateRequest, type Volume } from '../client/index.ts';
import {
  KubePlayer,
  LABELS,
  generateKube,
  kubeYaml,
  parseKube,
  planPlay,
  type GenerateSource,
  type KubeFile,
  type KubeReporter,
  type PodBackend,
} from '../kube/index.ts';
import { type Cli, StatusError } from './cli.ts';
import { helpText, parseArgs, type CommandSpec, type Flags } from './flags.ts';

/**
 * The daemon's pods, through the Libpod-shaped `/libpod/pods/...` endpoints; members are made
 * with `POST /containers/create?pod=NAME` (`init_ctr=always` for init containers).
 */
export function podBackend(cli: Cli): PodBackend {
  const client = () => cli.client;
  return {
    createPod: (spec) => client().podCreate(spec as PodCreateRequest),
    createContainer: (pod, name, body, opts) =>
      client().containerCreate(body, { name, pod, initCtr: opts.init ? 'always' : undefined }),
    async startPod(pod) {
      const r = await client().podAction(pod, 'start');
      if (r?.Errs?.length) throw new Error(`start pod "${pod}": ${r.Errs.join('; ')}`);
    },
    async removePod(pod, opts) {
      await client().podRemove(pod, opts.force);
    },
    listPods: (labels) => client().podList({ label: [...labels] }),
    inspectPod: (pod) => client().podInspect(pod),
  };
}

interface KubeCommand {
  spec: Omit<CommandSpec, 'usage'> & { usage: string };
  run(cli: Cli, f: Flags, args: string[]): Promise<number | void>;
}

class LineReporter implements KubeReporter {
  private readonly cli: Cli;
  private readonly quiet: boolean;
  constructor(cli: Cli, quiet: boolean) {
    this.cli = cli;
    this.quiet = quiet;
  }
  event(kind: string, name: string, status: string): void {
    if (!this.quiet) this.cli.err(`${kind} ${name}  ${status}\n`);
  }
  warn(message: string): void {
    this.cli.err(`WARNING: ${message}\n`);
  }
}

function readKube(arg: string): KubeFile {
  if (arg === '-') return parseKube(readFileSync(0, 'utf8'), '<stdin>');
  const path = resolve(process.cwd(), arg);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StatusError(
      125,
      `open ${arg}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
  return parseKube(text, arg);
}

async function down(cli: Cli, file: KubeFile, force: boolean, quiet: boolean): Promise<number> {
  const reporter = new LineReporter(cli, quiet);
  const player = new KubePlayer(cli.client, podBackend(cli), reporter);
  const objects = file.objects.map((o) => `${o.kind}/${o.metadata.name}`);
  const { removed } = await player.down(objects, { claims: force });
  if (!removed && !quiet) cli.err(`nothing of ${file.file} to remove\n`);
  return 0;
}

const play: KubeCommand = {
  spec: {
    usage: '[OPTIONS] KUBEFILE|-',
    description: 'Play a pod or a workload from Kubernetes YAML',
    args: { min: 1, max: 1 },
    flags: [
      { long: 'down', type: 'bool', help: 'Remove what playing the file made' },
      { long: 'force', type: 'bool', help: 'With --down: also remove the volumes of PersistentVolumeClaims' },
      { long: 'wait', type: 'bool', default: true, help: "Wait for Jobs' pods to run to completion" },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Print only warnings and errors' },
      { long: 'start', type: 'bool', default: true, help: 'Start the pod after creating it' },
      { long: 'network', type: 'string', help: 'Connect the pods to a network, or host or none' },
      // A play always replaces what an earlier play of the file made; Podman needs the flag for
      // that, so scripts written for it pass it.
      { long: 'replace', type: 'bool', help: 'Delete and recreate pods defined in the YAML file (always done)' },
    ],
  },
  async run(cli, f, args) {
    const file = readKube(args[0]!);
    if (f.bool('down')) return down(cli, file, f.bool('force'), f.bool('quiet'));
    const reporter = new LineReporter(cli, f.bool('quiet'));
    const player = new KubePlayer(cli.client, podBackend(cli), reporter);
    // refused here, before anything is pulled or made
    const first = planPlay(file);
    player.check(first);
    const images = await player.pull(first);
    const plan = planPlay(file, { imageUser: (i) => images.get(i)?.User ?? undefined, network: f.str('network') });
    for (const w of plan.warnings) reporter.warn(w);
    const result = await player.apply(plan, { wait: f.bool('wait'), start: f.bool('start') });
    for (const p of result.pods) cli.out(`${p}\n`);
    const failed = Object.entries(result.exits).filter(([, code]) => code !== 0);
    for (const [c, code] of failed) cli.err(`container ${c} of a Job exited with ${code}\n`);
    return failed.length ? 1 : 0;
  },
};

const downCommand: KubeCommand = {
  spec: {
    usage: '[OPTIONS] KUBEFILE|-',
    description: 'Remove what kube play made of a file',
    args: { min: 1, max: 1 },
    flags: [
      { long: 'force', type: 'bool', help: 'Also remove the volumes of PersistentVolumeClaims' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Print only warnings and errors' },
    ],
  },
  async run(cli, f, args) {
    return down(cli, readKube(args[0]!), f.bool('force'), f.bool('quiet'));
  },
};

const generate: KubeCommand = {
  spec: {
    usage: '[OPTIONS] CONTAINER|POD [CONTAINER|POD...]',
    description: 'Generate Kubernetes YAML from containers and pods',
    args: { min: 1 },
    flags: [
      { long: 'service', short: 's', type: 'bool', help: 'Also write a NodePort Service for each pod' },
      { long: 'filename', short: 'f', type: 'string', help: 'Write to a file instead of stdout' },
    ],
  },
  async run(cli, f, args) {
    const client = cli.client;
    const pods = podBackend(cli);
    const images = new Map<string, ContainerConfig | null | undefined>();
    const imageOf = async (id: string) => {
      if (!images.has(id)) {
        try {
          images.set(id, (await client.imageInspect(id)).Config);
        } catch (e) {
          if (!isNotFound(e)) throw e;
          images.set(id, undefined);
        }
      }
      return images.get(id);
    };
    const sources: GenerateSource[] = [];
    const lone: GenerateSource['containers'][number][] = [];
    for (const name of args) {
      let inspect;
      try {
        inspect = await client.containerInspect(name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (inspect) {
        lone.push({ inspect, image: await imageOf(inspect.Image) });
        continue;
      }
      let pod;
      try {
        pod = await pods.inspectPod(name);
      } catch (e) {
        if (isNotFound(e)) throw new StatusError(125, `Error: no such container or pod ${name}`);
        throw e;
      }
      const members = [];
      for (const m of pod.Containers ?? []) {
        if (m.Id === pod.InfraContainerID) continue;
        const ci = await client.containerInspect(m.Id);
        members.push({ inspect: ci, image: await imageOf(ci.Image) });
      }
      sources.push({ pod, containers: members });
    }
    if (lone.length) sources.unshift({ containers: lone });
    const volumes = new Map<string, Volume>();
    for (const v of (await client.volumeList({ label: [`${LABELS.volumeType}=emptyDir`] })).Volumes ?? [])
      volumes.set(v.Name, v);
    const out = generateKube(sources, { service: f.bool('service'), volumes });
    for (const w of out.warnings) cli.err(`WARNING: ${w}\n`);
    const text = kubeYaml(out.objects);
    const target = f.str('filename');
    if (target) {
      try {
        writeFileSync(target, text, { flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST')
          throw new StatusError(125, `Error: cannot write to "${target}": file already exists`);
        throw e;
      }
    } else cli.out(text);
  },
};

const COMMANDS: Record<string, KubeCommand> = { play, down: downCommand, generate };

function kubeHelp(): string {
  let s =
    'Usage:  berth kube COMMAND\n\nPlay containers, pods or volumes from Kubernetes YAML, and generate it\n\nCommands:\n';
  for (const [n, c] of Object.entries(COMMANDS)) s += `  ${n.padEnd(11)} ${c.spec.description}\n`;
  return `${s}\nRun 'berth kube COMMAND --help' for more information on a command.\n`;
}

export async function runKube(cli: Cli, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    cli.out(kubeHelp());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    cli.err(`berth: unknown command: berth kube ${name}\n\nRun 'berth kube --help' for more information\n`);
    return 1;
  }
  const spec = { ...cmd.spec, usage: `berth kube ${name} ${cmd.spec.usage}` };
  const p = parseArgs(rest, spec);
  if (p.help) {
    cli.out(helpText(spec));
    return 0;
  }
  const rc = await cmd.run(cli, p.flags, p.args);
  return typeof rc === 'number' ? rc : 0;
}
