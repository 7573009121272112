/** The commands that look at a project's containers: ps, logs, top, port, ls. */
import { LABELS, containerNumber, nameOf, serviceOf } from '../../compose/index.ts';
import { StatusError } from '../cli.ts';
import { displayablePorts } from '../../client/index.ts';
import { ago, ellipsis, goQuote, tabwrite } from '../format.ts';
import { serviceContainer, type ComposeCommand } from './command.ts';
import { printLogs } from './output.ts';

export const ps: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List containers',
    flags: [
      {
        long: 'all',
        short: 'a',
        type: 'bool',
        help: 'Show all stopped containers (including those created by the run command)',
      },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display IDs' },
      { long: 'services', type: 'bool', help: 'Display services' },
      {
        long: 'format',
        type: 'string',
        default: 'table',
        help: "Format output using a custom template: 'table' (default), 'json'",
      },
      {
        long: 'status',
        type: 'list',
        valueName: 'stringArray',
        help: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]',
      },
      { long: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    ],
  },
  async run(ctx, f, args) {
    const { project, e } = ctx.forServices(args);
    let list = await e.containers({
      all: f.bool('all') || f.list('status').length > 0,
      services: args,
      oneoff: f.bool('all') ? 'any' : false,
    });
    if (f.list('status').length) list = list.filter((c) => f.list('status').includes(c.State));
    if (f.bool('quiet')) {
      for (const c of list) ctx.cli.out(`${c.Id}\n`);
      return;
    }
    if (f.bool('services')) {
      for (const s of [...new Set(list.map(serviceOf))]) ctx.cli.out(`${s}\n`);
      return;
    }
    const format = f.str('format') ?? 'table';
    if (format === 'json') {
      for (const c of list) {
        ctx.cli.out(
          JSON.stringify({
            Command: c.Command,
            CreatedAt: new Date(c.Created * 1000).toISOString(),
            ExitCode: exitCode(c.Status),
            Health: health(c.Status),
            ID: c.Id,
            Image: c.Image,
            Labels: Object.entries(c.Labels ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
            Name: nameOf(c),
            Names: nameOf(c),
            Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
            Ports: displayablePorts(c.Ports),
            Project: project.name,
            Publishers: (c.Ports ?? []).map((p) => ({
              URL: p.IP ?? '',
              TargetPort: p.PrivatePort,
              PublishedPort: p.PublicPort ?? 0,
              Protocol: p.Type,
            })),
            RunningFor: ago(c.Created),
            Service: serviceOf(c),
            State: c.State,
            Status: c.Status,
          }) + '\n',
        );
      }
      return;
    }
    if (format !== 'table')
      throw new StatusError(1, `unsupported format "${format}": berth compose ps knows table and json`);
    const trunc = !f.bool('no-trunc');
    const quote = (s: string) => goQuote(trunc ? ellipsis(s, 20) : s);
    let out = 'NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS\n';
    for (const c of list)
      out += `${nameOf(c)}\t${c.Image}\t${quote(c.Command ?? '')}\t${serviceOf(c)}\t${ago(c.Created)}\t${c.Status}\t${displayablePorts(c.Ports)}\n`;
    ctx.cli.out(tabwrite(out, 10, 3));
  },
};

function exitCode(status: string): number {
  const m = /Exited \((\d+)\)/.exec(status);
  return m ? Number(m[1]) : 0;
}

function health(status: string): string {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  return m ? m[1]!.replace('health: ', '') : '';
}

export const logs: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'View output from containers',
    flags: [
      { long: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
      {
        long: 'tail',
        short: 'n',
        type: 'string',
        default: 'all',
        help: 'Number of lines to show from the end of the logs for each container',
      },
      { long: 'timestamps', short: 't', type: 'bool', help: 'Show timestamps' },
      { long: 'no-log-prefix', type: 'bool', help: "Don't print prefix in logs" },
      { long: 'no-color', type: 'bool', help: 'Produce monochrome output' },
      {
        long: 'since',
        type: 'string',
        help: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)',
      },
      {
        long: 'until',
        type: 'string',
        help: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)',
      },
      { long: 'index', type: 'int', help: 'index of the container if service has multiple replicas' },
    ],
  },
  async run(ctx, f, args) {
    const { project, e } = ctx.forServices(args);
    let list = await e.containers({ all: true, services: args });
    if (f.has('index')) list = list.filter((c) => containerNumber(c) === f.int('index'));
    await printLogs(ctx, project, list, {
      follow: f.bool('follow'),
      tail: f.str('tail'),
      timestamps: f.bool('timestamps'),
      noPrefix: f.bool('no-log-prefix'),
      noColor: f.bool('no-color'),
      since: f.str('since'),
      until: f.str('until'),
    });
  },
};

export const top: ComposeCommand = {
  spec: { usage: '[SERVICES...]', description: 'Display the running processes', flags: [] },
  async run(ctx, _f, args) {
    const { e } = ctx.forServices(args);
    for (const c of await e.containers({ services: args })) {
      const t = await ctx.cli.client.containerTop(c.Id);
      ctx.cli.out(`${nameOf(c)}\n`);
      ctx.cli.out(tabwrite([t.Titles, ...t.Processes].map((r) => r.join('\t')).join('\n') + '\n', 0, 3) + '\n');
    }
  },
};

export const port: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] SERVICE PRIVATE_PORT',
    description: 'Print the public port for a port binding',
    args: { min: 2, max: 2 },
    flags: [
      { long: 'index', type: 'int', default: 1, help: 'Index of the container if service has multiple replicas' },
      { long: 'protocol', type: 'string', default: 'tcp', help: 'tcp or udp' },
    ],
  },
  async run(ctx, f, args) {
    const e = ctx.engine(ctx.project());
    const c = await serviceContainer(ctx, e, args[0]!, f.int('index'));
    const want = Number(args[1]);
    const p = (c.Ports ?? []).find((x) => x.PrivatePort === want && x.Type === f.str('protocol') && x.PublicPort);
    if (!p)
      throw new StatusError(1, `no port ${args[1]}/${f.str('protocol')} for container ${nameOf(c)}: not published`);
    ctx.cli.out(`${p.IP || '0.0.0.0'}:${p.PublicPort}\n`);
  },
};

export const ls: ComposeCommand = {
  spec: {
    usage: '[OPTIONS]',
    description: 'List running compose projects',
    args: { max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Show all stopped Compose projects' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display project names' },
      { long: 'format', type: 'string', default: 'table', help: 'Format the output. Values: [table | json]' },
    ],
  },
  async run(ctx, f) {
    const list = await ctx.cli.client.containerList({ all: true, filters: { label: [LABELS.project] } });
    const projects = new Map<string, { states: Map<string, number>; files: Set<string> }>();
    for (const c of list) {
      const n = c.Labels![LABELS.project]!;
      const p = projects.get(n) ?? { states: new Map(), files: new Set() };
      p.states.set(c.State, (p.states.get(c.State) ?? 0) + 1);
      if (c.Labels?.[LABELS.configFiles]) p.files.add(c.Labels[LABELS.configFiles]);
      projects.set(n, p);
    }
    const rows = [...projects]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .filter(([, p]) => f.bool('all') || p.states.has('running'))
      .map(([name, p]) => ({
        Name: name,
        Status: [...p.states].map(([s, n]) => `${s}(${n})`).join(', '),
        ConfigFiles: [...p.files].join(','),
      }));
    if (f.bool('quiet')) return void ctx.cli.out(rows.map((r) => `${r.Name}\n`).join(''));
    if (f.str('format') === 'json') return void ctx.cli.out(JSON.stringify(rows) + '\n');
    ctx.cli.out(
      tabwrite(
        `NAME\tSTATUS\tCONFIG FILES\n${rows.map((r) => `${r.Name}\t${r.Status}\t${r.ConfigFiles}\n`).join('')}`,
        10,
        3,
      ),
    );
  },
};
