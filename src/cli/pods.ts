/**
 * `berth pod ...`: pods as Podman 4.3's `podman pod` prints and takes them (create, ps, inspect,
 * start, stop, restart, kill, pause, unpause, rm, prune, top, logs, exists), over the
 * Libpod-shaped `/libpod/pods/...` endpoints. Members are made with `berth run|create --pod`.
 */
import type { PodListEntry, PodPortMapping, PodCreateRequest } from '../client/index.ts';
import { demux, isNotFound, statsRow, statsText } from '../client/index.ts';
import { type Command, StatusError, parseFilterFlags, parseKeyValues, type Cli } from './cli.ts';
import { ago, shortId } from './format.ts';
// table.ts (and the template engine under it) is imported by the listing commands that print
// rows: `pod create`, the command a script runs most, reads neither.
import type { Row, rowContext as RowContext } from './table.ts';
import { parsePublish } from './runopts.ts';
import { indentJson } from './format.ts';
import { podError, podOps } from './podops.ts';

/** `-p` flags as Libpod's port mappings. */
export function portMappings(specs: readonly string[]): PodPortMapping[] {
  const out: PodPortMapping[] = [];
  for (const spec of specs) {
    const { bindings } = parsePublish(spec);
    for (const [key, list] of Object.entries(bindings)) {
      const [port, proto] = key.split('/') as [string, string];
      for (const b of list) {
        const host = b.HostPort ? Number(b.HostPort.split('-')[0]) : 0;
        out.push({
          container_port: Number(port),
          host_port: host,
          ...(b.HostIp ? { host_ip: b.HostIp } : {}),
          protocol: proto || 'tcp',
        });
      }
    }
  }
  return out;
}

const create: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Create a new empty pod',
    aliases: ['berth pod create'],
    args: { max: 0 },
    flags: [
      { long: 'name', short: 'n', type: 'string', help: 'Assign a name to the pod' },
      {
        long: 'publish',
        short: 'p',
        type: 'list',
        help: "Publish a container's port, or a range of ports, to the host",
      },
      { long: 'network', type: 'string', help: 'Connect the pod to a network' },
      { long: 'label', short: 'l', type: 'list', help: 'Set metadata on pod' },
      {
        long: 'share',
        type: 'string',
        help: 'A comma delimited list of kernel namespaces the pod will share (default "ipc,net,uts")',
      },
      { long: 'hostname', type: 'string', help: 'Set a hostname to the pod' },
      { long: 'dns', type: 'list', help: 'Set custom DNS servers' },
      { long: 'dns-search', type: 'list', help: 'Set custom DNS search domains' },
      { long: 'dns-option', type: 'list', help: 'Set custom DNS options' },
      { long: 'add-host', type: 'list', help: 'Add a custom host-to-IP mapping (host:ip)' },
      { long: 'infra', type: 'bool', default: true, help: 'Create an infra container associated with the pod' },
      { long: 'infra-name', type: 'string', help: 'The name used as infra container name' },
      { long: 'cgroup-parent', type: 'string', help: 'Set parent cgroup for the pod' },
      { long: 'sysctl', type: 'list', help: 'Set kernel parameters for the pod' },
      { long: 'label-file', type: 'list', help: 'Read in a line delimited file of labels' },
      { long: 'infra-image', type: 'string', help: 'Image to use to override builtin infra container' },
      { long: 'pod-id-file', type: 'string', help: 'Write the pod ID to the file' },
      { long: 'replace', type: 'bool', help: 'If a pod with the same name exists, replace it' },
    ],
  },
  async run(cli, f) {
    const network = f.str('network');
    const share = f.str('share');
    const name = f.str('name');
    const idFile = f.str('pod-id-file');
    if (f.bool('replace') && !name) throw new StatusError(125, 'Error: cannot replace pod without --name being set');
    // Checked before anything is made, as Podman does: the file names one pod.
    if (idFile && (await import('node:fs')).existsSync(idFile))
      throw new StatusError(125, `Error: pod id file exists. Ensure another pod is not using it or delete ${idFile}`);
    let labelLines: string[] = [];
    if (f.list('label-file').length) {
      const { readKeyValueFile } = await import('./flagvalues.ts');
      try {
        labelLines = f.list('label-file').flatMap((p) => readKeyValueFile(p, process.env, false));
      } catch (e) {
        throw new StatusError(125, `Error: ${(e as Error).message}`);
      }
    }
    const req: PodCreateRequest = {
      name,
      labels: parseKeyValues([...labelLines, ...f.list('label')]),
      infra_image: f.str('infra-image'),
      hostname: f.str('hostname'),
      shared_namespaces: share === undefined ? undefined : share.split(',').filter(Boolean),
      portmappings: portMappings(f.list('publish')),
      dns_server: f.list('dns'),
      dns_search: f.list('dns-search'),
      dns_option: f.list('dns-option'),
      hostadd: f.list('add-host'),
      sysctl: parseKeyValues(f.list('sysctl')),
      cgroup_parent: f.str('cgroup-parent'),
      no_infra: !f.bool('infra'),
      infra_name: f.str('infra-name'),
      ...(network === 'host' || network === 'none'
        ? { netns: { nsmode: network } }
        : network
          ? { networks: [network] }
          : {}),
    };
    try {
      // --replace: the pod of that name goes first, its containers killed (Podman's replace
      // removes it with force); none there is no error.
      if (f.bool('replace'))
        await cli.client.podRemove(name!, true).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      const { Id } = await cli.client.podCreate(req);
      if (idFile) (await import('node:fs')).writeFileSync(idFile, Id);
      cli.out(`${Id}\n`);
    } catch (e) {
      throw new StatusError(125, `Error: ${podError(e)}`);
    }
  },
};

function podContext(p: PodListEntry, trunc: boolean, rowContext: typeof RowContext): Row {
  const id = (s: string) => (trunc ? shortId(s) : s);
  const f = {
    ID: id(p.Id),
    Name: p.Name,
    Status: p.Status,
    Created: ago(Date.parse(p.Created) / 1000),
    InfraID: p.InfraId ? id(p.InfraId) : '',
    NumberOfContainers: String(p.Containers.length),
    Networks: p.Networks.join(','),
    Labels: Object.entries(p.Labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    ContainerNames: p.Containers.map((c) => c.Names).join(','),
    ContainerIds: p.Containers.map((c) => id(c.Id)).join(','),
    ContainerStatuses: p.Containers.map((c) => c.Status).join(','),
    Cgroup: p.Cgroup,
  };
  return rowContext(f, () => ({ ...p }));
}

/** `pod ps --sort`'s orders, Podman's: newest first, IDs and names ascending, fewest containers first, statuses by name. */
export function podOrder(by: string): ((a: PodListEntry, b: PodListEntry) => number) | undefined {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  switch (by) {
    case 'created':
      return (a, b) => cmp(b.Created, a.Created);
    case 'id':
      return (a, b) => cmp(a.Id, b.Id);
    case 'name':
      return (a, b) => cmp(a.Name, b.Name);
    case 'number':
      return (a, b) => a.Containers.length - b.Containers.length;
    case 'status':
      return (a, b) => cmp(a.Status, b.Status);
  }
  return undefined;
}

const ps: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'List pods',
    aliases: ['berth pod ps', 'berth pod ls', 'berth pod list'],
    args: { max: 0 },
    flags: [
      { long: 'filter', short: 'f', type: 'list', help: 'Filter output based on conditions given' },
      { long: 'format', type: 'string', help: 'Pretty-print pods to JSON or using a Go template' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Print the numeric IDs of the pods only' },
      { long: 'no-trunc', type: 'bool', help: 'Do not truncate pod and container IDs' },
      { long: 'ctr-names', type: 'bool', help: 'Display the container names' },
      {
        long: 'ctr-ids',
        type: 'bool',
        help: 'Display the container UUIDs. If no-trunc is not set they will be truncated',
      },
      { long: 'ctr-status', type: 'bool', help: 'Display the container status' },
      { long: 'ns', type: 'bool', help: 'Display namespace information of the pod' },
      { long: 'noheading', type: 'bool', help: 'Do not print headers' },
      {
        long: 'sort',
        type: 'string',
        default: 'created',
        help: 'Sort output by created, id, name, number or status',
      },
    ],
  },
  async run(cli, f) {
    const format = f.str('format') ?? '';
    if (f.bool('quiet') && format) throw new StatusError(125, 'Error: quiet and format cannot be used together');
    const order = podOrder(f.str('sort') ?? 'created');
    if (!order) throw new StatusError(125, 'Error: invalid option for --sort, options are: id, names, or number');
    let list;
    try {
      list = (await cli.client.podList(parseFilterFlags(f.list('filter')))).sort(order);
    } catch (e) {
      throw new StatusError(125, `Error: ${podError(e)}`);
    }
    if (format === 'json') {
      // Podman's json.MarshalIndent with two spaces.
      cli.out(`${JSON.stringify(list, null, 2)}\n`);
      return;
    }
    let table = 'table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}';
    if (f.bool('ctr-names')) table += '\t{{.ContainerNames}}';
    if (f.bool('ctr-ids')) table += '\t{{.ContainerIds}}';
    if (f.bool('ctr-status')) table += '\t{{.ContainerStatuses}}';
    if (f.bool('ns')) table += '\t{{.Cgroup}}';
    if (!f.bool('ctr-names') && !f.bool('ctr-ids') && !f.bool('ctr-status')) table += '\t{{.NumberOfContainers}}';
    const { printRows, rowContext } = await import('./table.ts');
    printRows(
      cli,
      list.map((p) => podContext(p, !f.bool('no-trunc'), rowContext)),
      {
        format,
        defaultTable: table,
        headers: {
          ID: 'POD ID',
          Name: 'NAME',
          Status: 'STATUS',
          Created: 'CREATED',
          InfraID: 'INFRA ID',
          NumberOfContainers: '# OF CONTAINERS',
          Networks: 'NETWORKS',
          Labels: 'LABELS',
          ContainerNames: 'NAMES',
          ContainerIds: 'IDS',
          ContainerStatuses: 'STATUS',
          Cgroup: 'CGROUP',
        },
        quiet: '{{.ID}}',
        isQuiet: f.bool('quiet'),
        noHeader: f.bool('noheading'),
        // Podman's tabwriter: cells at least 12 wide, 2 apart.
        minwidth: 12,
        padding: 2,
      },
    );
  },
};

const inspect: Command = {
  spec: {
    usage: '[OPTIONS] POD [POD...]',
    description: 'Display a pod configuration',
    aliases: ['berth pod inspect'],
    args: { min: 1 },
    flags: [{ long: 'format', short: 'f', type: 'string', help: 'Format the output to a Go template or json' }],
  },
  async run(cli, f, args) {
    let failed = false;
    for (const name of args) {
      try {
        const { raw } = await cli.client.podInspectRaw(name);
        const format = f.str('format');
        if (format && format !== 'json') {
          const { Template } = await import('./template.ts');
          cli.out(`${new Template(format).execute(JSON.parse(raw))}\n`);
        } else {
          // Podman's JSON is indented by five spaces.
          cli.out(`${indentJson(raw, '     ')}\n`);
        }
      } catch (e) {
        failed = true;
        cli.err(`Error: ${podError(e)}\n`);
      }
    }
    if (failed) return 125;
  },
};

const prune: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Remove all stopped pods and their containers',
    aliases: ['berth pod prune'],
    args: { max: 0 },
    flags: [{ long: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' }],
  },
  async run(cli, f) {
    if (
      !f.bool('force') &&
      !(await cli.confirm('WARNING! This will remove all stopped/exited pods..', false).then((y) => y))
    )
      return;
    for (const r of await cli.client.podPrune()) {
      if (r.Err) cli.err(`Error: ${r.Err}\n`);
      else cli.out(`${r.Id}\n`);
    }
  },
};

const top: Command = {
  spec: {
    usage: '[OPTIONS] POD [FORMAT-DESCRIPTORS|ARGS...]',
    description: 'Display the running processes of containers in a pod',
    aliases: ['berth pod top'],
    args: { min: 1 },
    flags: [],
  },
  async run(cli, _f, args) {
    const [name, ...psArgs] = args as [string, ...string[]];
    try {
      const t = await cli.client.podTop(name, psArgs.length ? psArgs.join(' ') : undefined);
      const { table } = await import('./format.ts');
      cli.out(table([t.Titles, ...t.Processes]));
    } catch (e) {
      throw new StatusError(125, `Error: ${podError(e)}`);
    }
  },
};

const logs: Command = {
  spec: {
    usage: '[OPTIONS] POD',
    description: 'Fetch logs for pod with one or more containers',
    aliases: ['berth pod logs'],
    args: { min: 1, max: 1 },
    flags: [
      {
        long: 'container',
        short: 'c',
        type: 'string',
        help: 'Filter logs by container name or id which belongs to pod',
      },
      { long: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
      { long: 'names', short: 'n', type: 'bool', help: 'Output container names instead of container IDs in the log' },
      { long: 'tail', type: 'string', help: 'Output the specified number of LINES at the end of the logs' },
      { long: 'timestamps', short: 't', type: 'bool', help: 'Output the timestamps' },
      { long: 'since', type: 'string', help: 'Show logs since TIMESTAMP' },
      { long: 'until', type: 'string', help: 'Show logs until TIMESTAMP' },
    ],
  },
  async run(cli, f, args) {
    let pod;
    try {
      pod = await cli.client.podInspect(args[0]!);
    } catch (e) {
      throw new StatusError(125, `Error: ${podError(e)}`);
    }
    const want = f.str('container');
    const members = pod.Containers.filter(
      (c) => c.Id !== pod.InfraContainerID && (!want || c.Name === want || c.Id.startsWith(want)),
    );
    if (want && !members.length) throw new StatusError(125, `Error: container ${want} is not in pod ${pod.Name}`);
    const follow = f.bool('follow');
    const showTimes = f.bool('timestamps');
    // Each line prefixed with its container's short ID (or name), as Podman's; the members'
    // lines in time order: asked with timestamps, which order them and are then shown or not.
    const streams = members.map((c) =>
      memberLogLines(cli, c, f.bool('names') ? c.Name : shortId(c.Id), {
        follow,
        tail: f.str('tail'),
        since: f.str('since'),
        until: f.str('until'),
      }),
    );
    const print = (l: LogLine) =>
      (l.stream === 2 ? cli.stderr : cli.stdout).write(`${l.prefix} ${showTimes ? `${l.time} ` : ''}${l.text}`);
    if (!follow) {
      const all: LogLine[] = [];
      for (const s of streams) for await (const l of s) all.push(l);
      for (const l of all.sort(byTime)) print(l);
      return;
    }
    await Promise.all(
      streams.map(async (s) => {
        for await (const l of s) print(l);
      }),
    );
  },
};

interface LogLine {
  prefix: string;
  stream: number;
  /** RFC 3339 with nanoseconds, as the daemon wrote it. */
  time: string;
  text: string;
}

/** One member's log lines with their timestamps split off. */
async function* memberLogLines(
  cli: Cli,
  c: { Id: string },
  prefix: string,
  o: { follow: boolean; tail?: string; since?: string; until?: string },
): AsyncGenerator<LogLine> {
  const info = await cli.client.containerInspect(c.Id);
  const res = await cli.client.containerLogs(c.Id, { ...o, timestamps: true });
  const frames = info.Config.Tty
    ? (async function* () {
        for await (const chunk of res) yield { stream: 1, data: chunk as Buffer };
      })()
    : demux(res);
  // A frame is one log entry, its timestamp first (a last line may lack its newline).
  for await (const frame of frames) {
    for (const line of frame.data.toString().split(/(?<=\n)/)) {
      if (!line) continue;
      const sp = line.indexOf(' ');
      yield { prefix, stream: frame.stream, time: line.slice(0, sp), text: line.slice(sp + 1) };
    }
  }
}

/** Orders RFC 3339 times with up to nine fraction digits (the daemon trims trailing zeros). */
export function byTime(a: { time: string }, b: { time: string }): number {
  const key = (t: string) => {
    const m = /^(.*?)(?:\.(\d+))?Z$/.exec(t);
    return { s: Date.parse(`${m?.[1] ?? t}Z`), frac: (m?.[2] ?? '').padEnd(9, '0') };
  };
  const x = key(a.time);
  const y = key(b.time);
  return x.s - y.s || (x.frac < y.frac ? -1 : x.frac > y.frac ? 1 : 0);
}

const exists: Command = {
  spec: {
    usage: 'POD',
    description: 'Check if a pod exists in local storage',
    aliases: ['berth pod exists'],
    args: { min: 1, max: 1 },
    flags: [],
  },
  async run(cli, _f, args) {
    try {
      await cli.client.podInspect(args[0]!);
      return 0;
    } catch (e) {
      if (isNotFound(e)) return 1;
      throw e;
    }
  },
};

const stats: Command = {
  spec: {
    usage: '[OPTIONS] [POD...]',
    description: 'Display a live stream of resource usage statistics for the containers in one or more pods',
    aliases: ['berth pod stats'],
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Provide stats for all pods' },
      { long: 'no-stream', type: 'bool', help: 'Disable streaming stats and only pull the first result' },
      { long: 'no-reset', type: 'bool', help: 'Disable resetting the screen between intervals' },
      { long: 'format', type: 'string', help: 'Pretty-print container statistics to JSON or using a Go template' },
    ],
  },
  async run(cli, f, args) {
    if (!args.length && !f.bool('all')) args = (await cli.client.podList()).map((p) => p.Name);
    else if (f.bool('all')) args = (await cli.client.podList()).map((p) => p.Name);
    const { printRows, rowContext } = await import('./table.ts');
    const once = async () => {
      const rows: Row[] = [];
      for (const name of args) {
        const pod = await cli.client.podInspect(name);
        const members = pod.Containers.filter((c) => c.State === 'running');
        const samples = await Promise.all(members.map((c) => cli.client.containerStats(c.Id)));
        members.forEach((c, i) => {
          const t = statsText(statsRow(c.Id, samples[i]!));
          const f = {
            Pod: shortId(pod.Id),
            CID: shortId(c.Id),
            Name: c.Name,
            CPU: t.cpu,
            MemUsage: t.mem,
            Mem: t.memPct,
            NetIO: t.net,
            BlockIO: t.block,
            PIDS: t.pids,
          };
          rows.push(rowContext(f, () => ({ ...f })));
        });
      }
      return rows;
    };
    const print = (rows: Row[]) =>
      printRows(cli, rows, {
        format: f.str('format') ?? '',
        defaultTable:
          'table {{.Pod}}\t{{.CID}}\t{{.Name}}\t{{.CPU}}\t{{.MemUsage}}\t{{.Mem}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}',
        headers: {
          Pod: 'POD',
          CID: 'CID',
          Name: 'NAME',
          CPU: 'CPU %',
          MemUsage: 'MEM USAGE/ LIMIT',
          Mem: 'MEM %',
          NetIO: 'NET IO',
          BlockIO: 'BLOCK IO',
          PIDS: 'PIDS',
        },
        minwidth: 12,
        padding: 2,
      });
    try {
      if (f.bool('no-stream')) return print(await once());
      for (;;) {
        const rows = await once();
        if (!f.bool('no-reset')) cli.out('\x1b[2J\x1b[H');
        print(rows);
      }
    } catch (e) {
      throw new StatusError(125, `Error: ${podError(e)}`);
    }
  },
};

export const podGroup: Record<string, Command> = {
  create,
  ps,
  ls: ps,
  list: ps,
  inspect,
  ...podOps,
  prune,
  top,
  stats,
  logs,
  exists,
};
