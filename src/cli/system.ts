/** version, info, events, login, logout. */
import { CLIENT_API_VERSION, type StreamedEvent, type SystemInfo, type SystemVersion } from '../client/index.ts';
import {
  type Cli,
  type Command,
  StatusError,
  BERTH_VERSION,
  describeError,
  parseFilterFlags,
  readLine,
} from './cli.ts';
import { bytesSize, goJson, rfc3339NanoFixed, tabwrite } from './format.ts';
import { Template } from './template.ts';
import { timestampFlag } from './timestamps.ts';
import { credentialsFor, eraseCredentials, registryKey, storeCredentials, DEFAULT_REGISTRY } from './config.ts';
import { filterFlag, templateFormatFlag } from './commonflags.ts';

const ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

function clientVersion(cli: Cli, negotiated?: string): Record<string, unknown> {
  return {
    Platform: { Name: 'Berth' },
    Version: BERTH_VERSION,
    ApiVersion: negotiated ?? CLIENT_API_VERSION,
    DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: 'n/a',
    GoVersion: `node ${process.version}`,
    Os: process.platform,
    Arch: ARCH[process.arch] ?? process.arch,
    BuildTime: 'n/a',
    Context: 'default',
    Host: cli.host,
  };
}

/** docker's reformatDate: RFC 3339 build times shown in Go's ANSIC layout. */
export function ansicDate(s: string): string {
  const ms = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(s) || Number.isNaN(ms)) return s;
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

function serverComponents(v: SystemVersion): Array<{ Name: string; Version: string; Details: Record<string, string> }> {
  if (v.Components?.length) {
    return v.Components.map((c) => {
      const details = { ...(c.Details ?? {}) };
      if (c.Name === 'Engine' && details.BuildTime) details.BuildTime = ansicDate(details.BuildTime);
      return { Name: c.Name, Version: c.Version, Details: details };
    });
  }
  return [
    {
      Name: 'Engine',
      Version: v.Version,
      Details: {
        ApiVersion: v.ApiVersion,
        MinAPIVersion: v.MinAPIVersion ?? '',
        GoVersion: v.GoVersion ?? '',
        GitCommit: v.GitCommit ?? '',
        BuildTime: ansicDate(v.BuildTime ?? ''),
        Os: v.Os,
        Arch: v.Arch,
        Experimental: String(!!v.Experimental),
        KernelVersion: v.KernelVersion ?? '',
      },
    },
  ];
}

/** docker version's text, through the same tabwriter (minwidth 20, padding 1). */
export function versionText(client: Record<string, unknown>, server: SystemVersion | undefined): string {
  let s = `Client:${client.Platform && (client.Platform as { Name: string }).Name ? ` ${(client.Platform as { Name: string }).Name}` : ''}\n`;
  s += ` Version:\t${client.Version}\n`;
  s += ` API version:\t${client.ApiVersion}${client.ApiVersion !== client.DefaultAPIVersion ? ` (downgraded from ${client.DefaultAPIVersion})` : ''}\n`;
  s += ` Node version:\t${process.version}\n`;
  s += ` Git commit:\t${client.GitCommit}\n`;
  s += ` Built:\t${client.BuildTime}\n`;
  s += ` OS/Arch:\t${client.Os}/${client.Arch}\n`;
  s += ` Context:\t${client.Context}\n`;
  if (server) {
    s += `\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}\n`;
    for (const c of serverComponents(server)) {
      s += ` ${c.Name}:\n`;
      if (c.Name === 'Engine') {
        const d = c.Details;
        s += `  Version:\t${c.Version}\n`;
        s += `  API version:\t${d.ApiVersion ?? ''} (minimum version ${d.MinAPIVersion ?? ''})\n`;
        s += `  Go version:\t${d.GoVersion ?? ''}\n`;
        s += `  Git commit:\t${d.GitCommit ?? ''}\n`;
        s += `  Built:\t${d.BuildTime ?? ''}\n`;
        s += `  OS/Arch:\t${d.Os ?? ''}/${d.Arch ?? ''}\n`;
        s += `  Experimental:\t${d.Experimental ?? 'false'}\n`;
      } else {
        s += `  Version:\t${c.Version}\n`;
        for (const k of Object.keys(c.Details).sort()) s += `  ${k}:\t${c.Details[k]}\n`;
      }
    }
  }
  return tabwrite(s, 20, 1);
}

const version: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Show the Berth version information',
    args: { max: 0 },
    flags: [templateFormatFlag('f')],
  },
  async run(cli, f) {
    let server: SystemVersion | undefined;
    let serverErr: unknown;
    try {
      server = await cli.client.systemVersion();
    } catch (e) {
      serverErr = e;
    }
    const client = clientVersion(cli, cli.client.apiVersion);
    const format = f.str('format');
    if (format) {
      const data = { Client: client, Server: server ?? null };
      cli.out(`${format === 'json' ? goJson(data) : new Template(format).execute(data)}\n`);
    } else {
      cli.out(versionText(client, server));
    }
    if (serverErr) throw new StatusError(1, describeError(serverErr));
  },
};

/** docker info's server section for the fields a daemon reports. */
export function infoText(i: SystemInfo, clientLines: string): string {
  const g = (k: keyof SystemInfo) => i[k] as never;
  let s = `Client:\n${clientLines}\nServer:\n`;
  s += ` Containers: ${i.Containers ?? 0}\n  Running: ${i.ContainersRunning ?? 0}\n  Paused: ${i.ContainersPaused ?? 0}\n  Stopped: ${i.ContainersStopped ?? 0}\n`;
  s += ` Images: ${i.Images ?? 0}\n`;
  s += ` Server Version: ${i.ServerVersion ?? ''}\n`;
  s += ` Storage Driver: ${g('Driver') ?? ''}\n`;
  for (const pair of (g('DriverStatus') as Array<[string, string]> | null) ?? []) s += `  ${pair[0]}: ${pair[1]}\n`;
  s += ` Logging Driver: ${g('LoggingDriver') ?? ''}\n`;
  s += ` Cgroup Driver: ${g('CgroupDriver') ?? ''}\n`;
  s += ` Cgroup Version: ${g('CgroupVersion') ?? ''}\n`;
  const plugins = g('Plugins') as Record<string, string[] | null> | undefined;
  if (plugins) {
    s += ' Plugins:\n';
    for (const k of ['Volume', 'Network', 'Authorization', 'Log']) {
      const list = plugins[k];
      if (list?.length) s += `  ${k}: ${list.join(' ')}\n`;
    }
  }
  const swarm = g('Swarm') as { LocalNodeState?: string } | undefined;
  s += ` Swarm: ${swarm?.LocalNodeState || 'inactive'}\n`;
  const runtimes = g('Runtimes') as Record<string, unknown> | undefined;
  if (runtimes && Object.keys(runtimes).length) s += ` Runtimes: ${Object.keys(runtimes).sort().join(' ')}\n`;
  if (g('DefaultRuntime')) s += ` Default Runtime: ${g('DefaultRuntime')}\n`;
  if (g('InitBinary') !== undefined) s += ` Init Binary: ${g('InitBinary')}\n`;
  const commit = (k: keyof SystemInfo) => (g(k) as { ID?: string } | undefined)?.ID;
  if (g('ContainerdCommit')) s += ` containerd version: ${commit('ContainerdCommit') ?? ''}\n`;
  if (g('RuncCommit')) s += ` runc version: ${commit('RuncCommit') ?? ''}\n`;
  if (g('InitCommit')) s += ` init version: ${commit('InitCommit') ?? ''}\n`;
  const sec = (g('SecurityOptions') as string[] | null) ?? [];
  if (sec.length) {
    s += ' Security Options:\n';
    for (const opt of sec) {
      const kvs = opt.split(',').map((kv) => kv.split('=') as [string, string]);
      for (const [k, v] of kvs) {
        if (k === 'name') s += `  ${v}\n`;
        else s += `   ${k.charAt(0).toUpperCase()}${k.slice(1)}: ${v}\n`;
      }
    }
  }
  s += ` Kernel Version: ${g('KernelVersion') ?? ''}\n`;
  s += ` Operating System: ${g('OperatingSystem') ?? ''}\n`;
  s += ` OSType: ${g('OSType') ?? ''}\n`;
  s += ` Architecture: ${g('Architecture') ?? ''}\n`;
  s += ` CPUs: ${g('NCPU') ?? ''}\n`;
  s += ` Total Memory: ${bytesSize(Number(g('MemTotal') ?? 0))}\n`;
  s += ` Name: ${g('Name') ?? ''}\n`;
  s += ` ID: ${g('ID') ?? ''}\n`;
  s += ` Docker Root Dir: ${g('DockerRootDir') ?? ''}\n`;
  s += ` Debug Mode: ${!!g('Debug')}\n`;
  if (g('HttpProxy')) s += ` HTTP Proxy: ${g('HttpProxy')}\n`;
  if (g('HttpsProxy')) s += ` HTTPS Proxy: ${g('HttpsProxy')}\n`;
  if (g('NoProxy')) s += ` No Proxy: ${g('NoProxy')}\n`;
  const labels = (g('Labels') as string[] | null) ?? [];
  if (labels.length) s += ` Labels:\n${labels.map((l) => `  ${l}\n`).join('')}`;
  s += ` Experimental: ${!!g('ExperimentalBuild')}\n`;
  const reg = g('RegistryConfig') as
    | { InsecureRegistryCIDRs?: string[]; IndexConfigs?: Record<string, { Secure?: boolean }>; Mirrors?: string[] }
    | undefined;
  if (reg) {
    const insecure = [
      ...Object.entries(reg.IndexConfigs ?? {})
        .filter(([, c]) => c.Secure === false)
        .map(([k]) => k),
      ...(reg.InsecureRegistryCIDRs ?? []),
    ];
    if (insecure.length) s += ` Insecure Registries:\n${insecure.map((r) => `  ${r}\n`).join('')}`;
    if (reg.Mirrors?.length) s += ` Registry Mirrors:\n${reg.Mirrors.map((r) => `  ${r}\n`).join('')}`;
  }
  s += ` Live Restore Enabled: ${!!g('LiveRestoreEnabled')}\n`;
  return s;
}

const info: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Display system-wide information',
    args: { max: 0 },
    flags: [templateFormatFlag('f')],
  },
  async run(cli, f) {
    const format = f.str('format');
    const i = await cli.client.systemInfo();
    if (format) {
      cli.out(`${format === 'json' ? goJson(i) : new Template(format).execute(i)}\n`);
      return;
    }
    const clientLines = tabwrite(` Version:\t${BERTH_VERSION}\n Context:\tdefault\n Debug Mode:\tfalse\n`, 0, 1);
    cli.out(`${infoText(i, clientLines)}\n`);
    for (const w of (i.Warnings as string[] | null) ?? []) cli.err(`${w}\n`);
  },
};

/** An event as `docker events` prints it. */
export function eventLine(e: StreamedEvent): string {
  let s = '';
  if (e.timeNano) s += `${rfc3339NanoFixed(e.timeNano)} `;
  else if (e.time) s += `${rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n)} `;
  s += `${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) s += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return `${s}\n`;
}

const events: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Get real time events from the server',
    aliases: ['berth system events', 'berth events'],
    args: { max: 0 },
    flags: [
      filterFlag(),
      templateFormatFlag(),
      { long: 'since', type: 'string', help: 'Show all events created since timestamp' },
      { long: 'until', type: 'string', help: 'Stream events until this timestamp' },
    ],
  },
  async run(cli, f) {
    const ts = (name: string) => timestampFlag(f, name);
    const format = f.str('format');
    const tmpl = format && format !== 'json' ? new Template(format) : undefined;
    const stream = await cli.client.events({
      since: ts('since'),
      until: ts('until'),
      filters: parseFilterFlags(f.list('filter')),
    });
    for await (const e of stream) {
      if (format === 'json' || format === '{{json .}}')
        cli.out(`${goJson(e).replace(/"timeNano":"(\d+)"/, '"timeNano":$1')}\n`);
      else if (tmpl)
        cli.out(`${tmpl.execute({ ...e, timeNano: e.timeNano === undefined ? undefined : Number(e.timeNano) })}\n`);
      else cli.out(eventLine(e));
    }
  },
};

async function prompt(cli: Cli, question: string, hidden: boolean): Promise<string> {
  cli.err(question);
  const tty = cli.stdin.isTTY && hidden && typeof cli.stdin.setRawMode === 'function';
  if (!tty) return (await readLine(cli.stdin)) ?? '';
  cli.stdin.setRawMode(true);
  try {
    let s = '';
    for (;;) {
      const chunk = await new Promise<Buffer>((r) => cli.stdin.once('data', r).resume());
      for (const b of chunk) {
        if (b === 13 || b === 10) {
          cli.err('\n');
          cli.stdin.pause();
          return s;
        }
        if (b === 3) throw new StatusError(130);
        if (b === 127) s = s.slice(0, -1);
        else s += String.fromCharCode(b);
      }
    }
  } finally {
    cli.stdin.setRawMode(false);
  }
}

const login: Command = {
  spec: {
    usage: '[OPTIONS] [SERVER]',
    description: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
    args: { max: 1 },
    flags: [
      { long: 'password', short: 'p', type: 'string', help: 'Password or Personal Access Token (PAT)' },
      { long: 'password-stdin', type: 'bool', help: 'Take the Password or Personal Access Token (PAT) from stdin' },
      { long: 'username', short: 'u', type: 'string', help: 'Username' },
    ],
  },
  async run(cli, f, args) {
    const server = args[0] ? registryKey(args[0]) : DEFAULT_REGISTRY;
    let password = f.str('password');
    if (password !== undefined) cli.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    if (f.bool('password-stdin')) {
      if (password !== undefined) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
      if (!f.has('username')) throw new StatusError(1, 'Must provide --username with --password-stdin');
      const chunks: Buffer[] = [];
      for await (const c of cli.stdin as AsyncIterable<Buffer>) chunks.push(c);
      password = Buffer.concat(chunks)
        .toString()
        .replace(/\r?\n$/, '');
    }
    let username = f.str('username');
    if (username === undefined && password === undefined) {
      const stored = credentialsFor(server);
      if (stored?.username && stored.password) {
        username = stored.username;
        password = stored.password;
      }
    }
    if (username === undefined) username = (await prompt(cli, 'Username: ', false)).trim();
    if (!username) throw new StatusError(1, 'Error: Non-null Username Required');
    if (password === undefined) password = await prompt(cli, 'Password: ', true);
    if (!password) throw new StatusError(1, 'Error: Password Required');
    const res = await cli.client.auth({ username, password, serveraddress: server });
    storeCredentials(server, { username, password, identitytoken: res.IdentityToken });
    cli.out(`${res.Status || 'Login Succeeded'}\n`);
  },
};

const logout: Command = {
  spec: {
    usage: '[SERVER]',
    description: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
    args: { max: 1 },
    flags: [],
  },
  async run(cli, _f, args) {
    const server = args[0] ? registryKey(args[0]) : DEFAULT_REGISTRY;
    if (!eraseCredentials(server)) {
      cli.out(`Not logged in to ${server}\n`);
      return;
    }
    cli.out(`Removing login credentials for ${server.replace(/^https?:\/\//, '').replace(/\/v1\/$/, '')}\n`);
  },
};

export const systemCommands: Record<string, Command> = { version, info, events, login, logout };
export const systemGroup: Record<string, Command> = { info, events };
