/** `berth network ...`: create, ls, inspect, rm, prune, connect, disconnect. */
import type { Network, EndpointSettings } from '../client/index.ts';
import { type Command, StatusError, describeError, parseFilterFlags, parseKeyValues } from './cli.ts';
import { byNaturalName, goTimeString, shortId } from './format.ts';
import { printRows, rowContext, type Row } from './table.ts';
import { inspectCommand } from './inspect.ts';
import { TABLE_FORMAT_FLAG, filterFlag, pruneFlags } from './commonflags.ts';
import { confirmPrune, deletedList } from './prune.ts';

/** Go's time.String() for an RFC 3339 timestamp with fractional seconds. */
function createdString(created: string | undefined): string {
  if (!created) return '0001-01-01 00:00:00 +0000 UTC';
  const ms = Date.parse(created);
  if (Number.isNaN(ms)) return created;
  const base = goTimeString(Math.floor(ms / 1000));
  const frac = /\.(\d+)/.exec(created)?.[1]?.replace(/0+$/, '');
  return frac ? base.replace(/^(\S+ \S+)/, `$1.${frac}`) : base;
}

export function networkContext(n: Network, trunc: boolean): Row {
  const labels = n.Labels ?? {};
  const f = {
    ID: trunc ? shortId(n.Id) : n.Id,
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv4: String(!!(n as Network & { EnableIPv4?: boolean }).EnableIPv4),
    IPv6: String(!!n.EnableIPv6),
    Internal: String(!!n.Internal),
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    CreatedAt: createdString(n.Created),
    Label: (k: string) => labels[k] ?? '',
  };
  return rowContext(f, () => {
    const { Label: _l, ...rest } = f;
    void _l;
    return rest;
  });
}

const create: Command = {
  spec: {
    usage: '[OPTIONS] NETWORK',
    description: 'Create a network',
    args: { min: 1, max: 1 },
    flags: [
      { long: 'attachable', type: 'bool', help: 'Enable manual container attachment' },
      { long: 'driver', short: 'd', type: 'string', default: 'bridge', help: 'Driver to manage the Network' },
      { long: 'gateway', type: 'list', valueName: 'strings', help: 'IPv4 or IPv6 Gateway for the master subnet' },
      { long: 'internal', type: 'bool', help: 'Restrict external access to the network' },
      { long: 'ip-range', type: 'list', valueName: 'strings', help: 'Allocate container ip from a sub-range' },
      { long: 'ipam-driver', type: 'string', default: 'default', help: 'IP Address Management Driver' },
      { long: 'ipam-opt', type: 'list', valueName: 'map', help: 'Set IPAM driver specific options' },
      { long: 'ipv6', type: 'bool', help: 'Enable or disable IPv6 networking' },
      { long: 'label', type: 'list', help: 'Set metadata on a network' },
      { long: 'opt', short: 'o', type: 'list', valueName: 'map', help: 'Set driver specific options' },
      { long: 'scope', type: 'string', help: "Control the network's scope" },
      {
        long: 'subnet',
        type: 'list',
        valueName: 'strings',
        help: 'Subnet in CIDR format that represents a network segment',
      },
    ],
  },
  async run(cli, f, args) {
    const subnets = f.list('subnet');
    const gateways = f.list('gateway');
    const ranges = f.list('ip-range');
    if (gateways.length > subnets.length || ranges.length > subnets.length)
      throw new StatusError(1, 'every ip-range or gateway must have a corresponding subnet');
    const config = subnets.map((s, i) => ({ Subnet: s, Gateway: gateways[i], IPRange: ranges[i] }));
    const res = await cli.client.networkCreate({
      Name: args[0]!,
      Driver: f.str('driver'),
      Internal: f.bool('internal'),
      Attachable: f.bool('attachable'),
      EnableIPv6: f.has('ipv6') ? f.bool('ipv6') : undefined,
      IPAM: { Driver: f.str('ipam-driver'), Config: config, Options: parseKeyValues(f.list('ipam-opt')) },
      Options: parseKeyValues(f.list('opt')),
      Labels: parseKeyValues(f.list('label')),
      CheckDuplicate: true,
      ...(f.has('scope') ? { Scope: f.str('scope') } : {}),
    });
    if (res.Warning) cli.err(`${res.Warning}\n`);
    cli.out(`${res.Id}\n`);
  },
};

const ls: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'List networks',
    aliases: ['berth network ls', 'berth network list'],
    args: { max: 0 },
    flags: [
      filterFlag('Provide filter values (e.g. "driver=bridge")'),
      TABLE_FORMAT_FLAG,
      { long: 'no-trunc', type: 'bool', help: 'Do not truncate the output' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display network IDs' },
    ],
  },
  async run(cli, f) {
    const list = await cli.client.networkList(parseFilterFlags(f.list('filter')));
    list.sort(byNaturalName);
    printRows(
      cli,
      list.map((n) => networkContext(n, !f.bool('no-trunc'))),
      {
        format: f.str('format') ?? '',
        defaultTable: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
        headers: {
          ID: 'NETWORK ID',
          Name: 'NAME',
          Driver: 'DRIVER',
          Scope: 'SCOPE',
          IPv4: 'IPV4',
          IPv6: 'IPV6',
          Internal: 'INTERNAL',
          Labels: 'LABELS',
          CreatedAt: 'CREATED AT',
        },
        quiet: '{{.ID}}',
        isQuiet: f.bool('quiet'),
      },
    );
  },
};

const rm: Command = {
  spec: {
    usage: 'NETWORK [NETWORK...]',
    description: 'Remove one or more networks',
    aliases: ['berth network rm', 'berth network remove'],
    args: { min: 1 },
    flags: [{ long: 'force', short: 'f', type: 'bool', help: 'Do not error if the network does not exist' }],
  },
  async run(cli, f, args) {
    let failed = false;
    for (const name of args) {
      try {
        await cli.client.networkRemove(name);
        cli.out(`${name}\n`);
      } catch (e) {
        if (f.bool('force') && (e as { status?: number }).status === 404) continue;
        cli.err(`${describeError(e)}\n`);
        failed = true;
      }
    }
    if (failed) throw new StatusError(1, 'exit status 1');
  },
};

const prune: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Remove all unused networks',
    args: { max: 0 },
    flags: [...pruneFlags('until=<timestamp>')],
  },
  async run(cli, f) {
    const warning = 'WARNING! This will remove all custom networks not used by at least one container.';
    if (!(await confirmPrune(cli, f, warning))) return 0;
    const r = await cli.client.networkPrune(parseFilterFlags(f.list('filter')));
    // No space line: networks take none.
    cli.out(deletedList('Deleted Networks', r.NetworksDeleted));
  },
};

const connect: Command = {
  spec: {
    usage: '[OPTIONS] NETWORK CONTAINER',
    description: 'Connect a container to a network',
    args: { min: 2, max: 2 },
    flags: [
      { long: 'alias', type: 'list', valueName: 'strings', help: 'Add network-scoped alias for the container' },
      { long: 'driver-opt', type: 'list', valueName: 'strings', help: 'driver options for the network' },
      { long: 'ip', type: 'string', help: 'IPv4 address (e.g., "172.30.100.104")' },
      { long: 'ip6', type: 'string', help: 'IPv6 address (e.g., "2001:db8::33")' },
      { long: 'link', type: 'list', help: 'Add link to another container' },
      { long: 'link-local-ip', type: 'list', valueName: 'strings', help: 'Add a link-local address for the container' },
    ],
  },
  async run(cli, f, args) {
    const ep: EndpointSettings & Record<string, unknown> = {};
    if (f.list('alias').length) ep.Aliases = f.list('alias');
    if (f.has('ip') || f.has('ip6') || f.list('link-local-ip').length) {
      ep.IPAMConfig = {
        IPv4Address: f.str('ip'),
        IPv6Address: f.str('ip6'),
        ...(f.list('link-local-ip').length ? { LinkLocalIPs: f.list('link-local-ip') } : {}),
      };
    }
    if (f.list('link').length) ep.Links = f.list('link');
    if (f.list('driver-opt').length) ep.DriverOpts = parseKeyValues(f.list('driver-opt'));
    await cli.client.networkConnect(args[0]!, args[1]!, ep);
  },
};

const disconnect: Command = {
  spec: {
    usage: '[OPTIONS] NETWORK CONTAINER',
    description: 'Disconnect a container from a network',
    args: { min: 2, max: 2 },
    flags: [{ long: 'force', short: 'f', type: 'bool', help: 'Force the container to disconnect from a network' }],
  },
  async run(cli, f, args) {
    await cli.client.networkDisconnect(args[0]!, args[1]!, f.bool('force'));
  },
};

export const networkGroup: Record<string, Command> = {
  create,
  ls,
  list: ls,
  inspect: inspectCommand('network'),
  rm,
  remove: rm,
  prune,
  connect,
  disconnect,
};
