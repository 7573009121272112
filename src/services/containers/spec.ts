/**
 * From a container record to its OCI runtime spec: Docker's defaults (from `oci/`) plus what
 * the user asked for, and the per-container files Docker bind-mounts (/etc/hostname,
 * /etc/hosts, /etc/resolv.conf).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../errdefs/index.ts';
import { resolveInRoot } from '../../archive/index.ts';
import { goParseBool, type IdMap, type ImageRunConfig } from '../../spec/index.ts';
import * as oci from '../../oci/index.ts';
import { mergeUlimits, type ContainerDefaults, type ContainerRecord } from './types.ts';
import type { ContainerConfig, HostConfig } from '../../api/types/index.ts';

const asArray = (v: string[] | string | null | undefined): string[] | undefined =>
  v === null || v === undefined ? undefined : Array.isArray(v) ? v : [v];

/** Path and Args of the container process, by Docker's ENTRYPOINT/CMD rules. */
export function commandFor(req: ContainerConfig, image: ImageRunConfig): { Path: string; Args: string[] } {
  const entrypointSet = req.Entrypoint !== undefined && req.Entrypoint !== null;
  const argv = oci.combineCommand({
    imageEntrypoint: image.Entrypoint ?? undefined,
    imageCmd: image.Cmd ?? undefined,
    entrypoint: entrypointSet ? asArray(req.Entrypoint) : undefined,
    cmd: asArray(req.Cmd) && asArray(req.Cmd)!.length ? asArray(req.Cmd) : undefined,
    entrypointSet,
  });
  return { Path: argv[0]!, Args: argv.slice(1) };
}

/** The cgroup limits of a host config, for the spec and for `docker update`. */
export function resourceOpts(h: HostConfig): oci.SpecOpt[] {
  const opts: oci.SpecOpt[] = [];
  if (h.Memory) opts.push(oci.withMemory(h.Memory, h.MemorySwap, h.MemoryReservation));
  // A soft limit alone, as dockerd applies it (withMemory takes it beside a hard one).
  else if (h.MemoryReservation) opts.push(oci.withMemoryReservation(h.MemoryReservation));
  // -1 (and null) is the kernel's default swappiness, as in moby.
  const swappiness = h.MemorySwappiness ?? -1;
  if (h.OomKillDisable || swappiness >= 0)
    opts.push(
      oci.withMemoryBehaviour({
        oomKillDisable: !!h.OomKillDisable,
        swappiness: swappiness >= 0 ? swappiness : undefined,
      }),
    );
  if (h.NanoCpus) opts.push(oci.withCpus(h.NanoCpus));
  if (h.CpuShares) opts.push(oci.withCpuShares(h.CpuShares));
  if (h.CpuQuota || h.CpuPeriod) opts.push(oci.withCpuQuota(h.CpuQuota ?? 0, h.CpuPeriod ?? 0));
  if (h.CpuRealtimePeriod || h.CpuRealtimeRuntime)
    opts.push(oci.withCpuRealtime(h.CpuRealtimePeriod ?? 0, h.CpuRealtimeRuntime ?? 0));
  if (h.CpusetCpus || h.CpusetMems) opts.push(oci.withCpuset(h.CpusetCpus ?? '', h.CpusetMems));
  if (h.PidsLimit && h.PidsLimit > 0) opts.push(oci.withPidsLimit(h.PidsLimit));
  const throttle = (l: HostConfig['BlkioDeviceReadBps']) => l?.map((d) => ({ path: d.Path, rate: d.Rate }));
  if (
    h.BlkioDeviceReadBps?.length ||
    h.BlkioDeviceWriteBps?.length ||
    h.BlkioDeviceReadIOps?.length ||
    h.BlkioDeviceWriteIOps?.length
  )
    opts.push(
      oci.withBlockIOThrottles({
        readBps: throttle(h.BlkioDeviceReadBps),
        writeBps: throttle(h.BlkioDeviceWriteBps),
        readIops: throttle(h.BlkioDeviceReadIOps),
        writeIops: throttle(h.BlkioDeviceWriteIOps),
      }),
    );
  return opts;
}

/** PID_MAX_LIMIT: as many processes as the kernel allows (crun cannot write "max" on update). */
const NO_PIDS_LIMIT = 4_194_304;

/**
 * The resources `docker update` hands the runtime for a running container. `liftPids`: the
 * update removes a pids limit, written as the kernel's own maximum.
 */
export function resourcesFor(h: HostConfig, opts: { liftPids?: boolean } = {}): oci.LinuxResources {
  const spec = { linux: { resources: {} } } as oci.Spec;
  for (const o of resourceOpts(h)) o(spec);
  const r = spec.linux.resources ?? {};
  if (opts.liftPids) r.pids = { limit: NO_PIDS_LIMIT };
  return r;
}

/**
 * The container's cgroup (cgroupfs driver): under `--cgroup-parent` when given (absolute, or
 * relative to the root, as dockerd's cgroupfs driver has it), under `/berth` otherwise. Pods
 * (and the CRI's sandboxes) put their containers under one parent this way.
 */
export function cgroupsPathFor(parent: string | undefined, id: string): string {
  const p = (parent ?? '').trim();
  if (!p) return `/berth/${id}`;
  const clean = p.split('/').filter((x) => x && x !== '.' && x !== '..');
  if (!clean.length) return `/berth/${id}`;
  return `/${clean.join('/')}/${id}`;
}

export interface SpecContext {
  /** `--pid container:<id>` / `--ipc container:<id>` / `--uts container:<id>`: the other container's namespaces. */
  pidnsPath?: string;
  ipcnsPath?: string;
  utsnsPath?: string;
  dir: string;
  rootfs: string;
  initPath?: string;
  /** The container's address on its network, for /etc/hosts (and its IPv6 one, on an IPv6 network). */
  ipAddress?: string;
  ipv6Address?: string;
  /** `--network container:<id>`: the other container's network namespace. */
  netnsPath?: string;
  /** `--network container:<id>`: that container's directory, whose /etc files are shared. */
  etcDir?: string;
  /** Volumes, binds and tmpfs mounts, resolved for this start. */
  mounts?: oci.Mount[];
  /** The embedded DNS server of the container's user network (its only nameserver). */
  dnsServer?: string;
  /** `--link` lines for /etc/hosts: address and names. */
  linkHosts?: Array<{ ip: string; names: string[] }>;
  /**
   * What `--add-host NAME:host-gateway` stands for: the default bridge's address, as dockerd's
   * default `--host-gateway-ip` (none without a default bridge).
   */
  hostGateway?: string;
  /** `--link` environment variables (ALIAS_PORT_80_TCP=..., ALIAS_NAME, ALIAS_ENV_...). */
  linkEnv?: string[];
  /** Looks the user up (default: in the root file system's /etc, each time). */
  resolveUser?: (userSpec: string, rootfs: string) => Promise<oci.ResolvedUser>;
  /** berthd's defaults for what the container does not set (ulimits, no-new-privileges). */
  defaults?: ContainerDefaults;
  /** `--userns-remap`: the container's user namespace maps its ids to these. */
  idMap?: IdMap;
  /** Rootless berthd: the container gets no cgroup of its own (see rootless.ts). */
  rootless?: boolean;
  /**
   * The runtime's shared empty directory for masked directories (runtime roles' sharedMask; with
   * `idMap`, the one owned by the container's root: sharedMaskFor).
   */
  sharedMask?: string;
  /**
   * What this daemon last wrote as the container's /etc files (file name → text), where the
   * caller knows nothing else has written them since — a warm sandbox's, whose process has not
   * run (tasks.ts's adopt): a file whose text is the same is not written again; those written
   * are recorded.
   */
  etcWritten?: Map<string, string>;
}

/**
 * moby's SetupWorkingDirectory: a working directory the image has as something else is refused
 * in its words (a missing one is made by the runtime or the warm pool's zygote); the runtime's
 * own chdir error would say it less plainly, or, from a warm sandbox, only once the command ran.
 */
async function checkWorkingDir(rootfs: string, dir: string | undefined): Promise<void> {
  if (!dir || dir === '/') return;
  const real = await resolveInRoot(rootfs, dir);
  const st = real === undefined ? undefined : await fs.stat(real).catch(() => undefined);
  if (st && !st.isDirectory()) throw invalidArgument(`Cannot mkdir: ${dir} is not a directory`);
}

export async function buildSpec(c: ContainerRecord, ctx: SpecContext): Promise<oci.Spec> {
  const h = c.HostConfig;
  const opts: oci.SpecOpt[] = [];
  const security = parseSecurityOpts(h.SecurityOpt ?? []);
  const user = await (ctx.resolveUser ?? oci.resolveUser)(c.Config.User || '', ctx.rootfs);
  opts.push(oci.withRootfs('rootfs', !!h.ReadonlyRootfs));
  opts.push(oci.withProcessArgs([c.Path, ...c.Args]));
  // moby's CreateDaemonEnvironment: after the default PATH, the host name, xterm for a
  // terminal and the links' variables, each replaced by the config's own of the same name.
  const env = [
    `HOSTNAME=${c.Config.Hostname ?? c.Id.slice(0, 12)}`,
    ...(c.Config.Tty ? ['TERM=xterm'] : []),
    ...(ctx.linkEnv ?? []),
    ...(c.Config.Env ?? []),
  ];
  const home = oci.homeEnv(env, user);
  opts.push(oci.withEnv(home ? [...env, home] : env));
  await checkWorkingDir(ctx.rootfs, c.Config.WorkingDir);
  opts.push(oci.withCwd(c.Config.WorkingDir || '/'));
  opts.push(oci.withUser(user));
  // --uts host: the host's own name; another container's namespace (a pod's members share their
  // infra's), whose name that container set; a UTS namespace of its own otherwise.
  if (h.UTSMode === 'host') opts.push(oci.withoutNamespace('uts'));
  else if (ctx.utsnsPath) opts.push(oci.withNamespacePath('uts', ctx.utsnsPath));
  else opts.push(oci.withHostname(c.Config.Hostname ?? c.Id.slice(0, 12), c.Config.Domainname ?? ''));
  opts.push(oci.withTerminal(!!c.Config.Tty));
  opts.push(ctx.rootless ? oci.withoutCgroup() : oci.withCgroupsPath(cgroupsPathFor(h.CgroupParent, c.Id)));
  if (h.Privileged) opts.push(oci.withPrivileged());
  else opts.push(oci.withCapabilities({ add: h.CapAdd ?? [], drop: h.CapDrop ?? [] }));
  if (security.noNewPrivileges ?? ctx.defaults?.noNewPrivileges) opts.push(oci.withNoNewPrivileges());
  if (!h.Privileged) opts.push(oci.withSeccomp(security.seccomp ?? 'default'));
  // As moby: given lists replace the defaults (a privileged container has none either way).
  if (!h.Privileged && (h.MaskedPaths || h.ReadonlyPaths))
    opts.push(oci.withMaskedPaths(h.MaskedPaths, h.ReadonlyPaths));
  opts.push(...resourceOpts(h));
  const ulimits = mergeUlimits(h.Ulimits, ctx.defaults?.ulimits);
  if (ulimits.length) opts.push(oci.withUlimits(ulimits.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard }))));
  if (h.OomScoreAdj) opts.push(oci.withOomScoreAdj(h.OomScoreAdj));
  if (h.Sysctls && Object.keys(h.Sysctls).length) opts.push(oci.withSysctl(h.Sysctls));
  const net = h.NetworkMode ?? 'default';
  if (net === 'host') opts.push(oci.withoutNamespace('network'));
  else if (ctx.netnsPath) opts.push(oci.withNamespacePath('network', ctx.netnsPath));
  if (h.PidMode === 'host') opts.push(oci.withoutNamespace('pid'));
  else if (ctx.pidnsPath) opts.push(oci.withNamespacePath('pid', ctx.pidnsPath));
  if (h.CgroupnsMode === 'private') opts.push(oci.withNamespace('cgroup'));
  else if (h.CgroupnsMode === 'host') opts.push(oci.withoutNamespace('cgroup'));
  if (h.IpcMode === 'host') opts.push(oci.withoutNamespace('ipc'));
  else if (ctx.ipcnsPath) opts.push(oci.withNamespacePath('ipc', ctx.ipcnsPath));
  if (ctx.idMap) opts.push(oci.withUserNamespace(ctx.idMap));
  if (h.ShmSize) opts.push(oci.withShmSize(h.ShmSize));
  if (h.GroupAdd?.length) opts.push(oci.withAdditionalGids(await groupIds(h.GroupAdd, ctx.rootfs)));
  for (const dev of (h.Devices ?? []) as Array<{
    PathOnHost?: string;
    PathInContainer?: string;
    CgroupPermissions?: string;
  }>) {
    if (!dev.PathOnHost) continue;
    opts.push(oci.withDevice(dev.PathOnHost, dev.PathInContainer || dev.PathOnHost, dev.CgroupPermissions || 'rwm'));
  }
  if (h.Init && ctx.initPath) opts.push(oci.withInit(ctx.initPath));
  // The /etc files and the user's mounts sorted as one list (parents first), as moby sorts them:
  // a volume or bind at /etc must go under /etc/hosts, /etc/resolv.conf and /etc/hostname, not
  // hide them. A user's mount at one of those paths replaces the file.
  const etc = ctx.etcDir ? etcBinds(c, ctx.etcDir) : await etcFiles(c, ctx.dir, net === 'host', ctx.ipAddress, ctx);
  const userDests = new Set((ctx.mounts ?? []).map((m) => m.destination));
  opts.push(oci.withMounts([...etc.filter((m) => !userDests.has(m.destination)), ...(ctx.mounts ?? [])]));
  // In a user namespace, one owned by the container's root (the caller's choice): root's would
  // show as nobody's, where the tmpfs the runtime makes belongs to the container's root.
  if (ctx.sharedMask && !h.Privileged) opts.push(oci.withSharedMask(ctx.sharedMask));
  return oci.generateSpec(c.Id, opts);
}

/** `--group-add`: numbers as they are, names looked up in the image's /etc/group. */
async function groupIds(groups: readonly string[], rootfs: string): Promise<number[]> {
  const text = groups.some((g) => !/^\d+$/.test(g)) ? await oci.readFileInRoot(rootfs, 'etc/group') : '';
  return groups.map((g) => {
    if (/^\d+$/.test(g)) return Number(g);
    const line = text.split('\n').find((l) => l.split(':')[0] === g);
    if (!line) throw invalidArgument(`Unable to find group ${g}: no matching entries in group file`);
    return Number(line.split(':')[2]);
  });
}

/** `--security-opt`s; noNewPrivileges stays undefined unless one says it (berthd's default applies then). */
function parseSecurityOpts(opts: readonly string[]): { noNewPrivileges?: boolean; seccomp?: string } {
  let noNewPrivileges: boolean | undefined;
  let seccomp: string | undefined;
  for (const o of opts) {
    // moby's parseSecurityOpt, in its words: `key=value` (or the old `key:value`), a bare
    // `no-new-privileges`; "1" for what has no value, "2" for a key or value it does not know.
    if (o === 'no-new-privileges') {
      noNewPrivileges = true;
      continue;
    }
    const sep = o.includes('=') ? '=' : o.includes(':') ? ':' : undefined;
    if (!sep) throw invalidArgument(`invalid --security-opt 1: ${JSON.stringify(o)}`);
    const [k, v] = [o.slice(0, o.indexOf(sep)), o.slice(o.indexOf(sep) + 1)];
    if (k === 'no-new-privileges') {
      const on = goParseBool(v);
      if (on === undefined) throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(o)}`);
      noNewPrivileges = on;
    } else if (k === 'seccomp') seccomp = v;
    else if (k === 'label' || k === 'apparmor') continue;
    else throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(o)}`);
  }
  if (seccomp !== undefined && seccomp !== 'unconfined' && !seccomp.trimStart().startsWith('{')) {
    throw invalidArgument(
      `opening seccomp profile (${seccomp}) failed: the profile must be passed as JSON by the client`,
    );
  }
  return { noNewPrivileges, seccomp };
}

/**
 * resolv.conf's lines in the order dockerd writes them: the rest (search, domain, comments) as
 * they were, then the nameservers, then the options.
 */
function resolvOrder(lines: string[]): string[] {
  const rank = (l: string) => (l.startsWith('nameserver') ? 1 : l.startsWith('options') ? 2 : 0);
  return lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => rank(a.l) - rank(b.l) || a.i - b.i)
    .map((x) => x.l);
}

/** Writes /etc/hostname, /etc/hosts and /etc/resolv.conf for the container and mounts them. */
async function etcFiles(
  c: ContainerRecord,
  dir: string,
  hostNet: boolean,
  ipAddress?: string,
  extra: Pick<SpecContext, 'dnsServer' | 'linkHosts' | 'ipv6Address' | 'etcWritten' | 'hostGateway'> = {},
): Promise<oci.Mount[]> {
  await writeEtcFiles(c, dir, hostNet, ipAddress, extra);
  return etcBinds(c, dir);
}

/** The bind mounts of the /etc files written in `dir` (the container's own, or the one whose network it joined). */
function etcBinds(c: ContainerRecord, dir: string): oci.Mount[] {
  const bind = (name: string, dest: string): oci.Mount => ({
    destination: dest,
    type: 'bind',
    source: join(dir, name),
    options: ['rbind', 'rprivate', ...(c.HostConfig.ReadonlyRootfs ? ['ro'] : [])],
  });
  return [bind('resolv.conf', '/etc/resolv.conf'), bind('hostname', '/etc/hostname'), bind('hosts', '/etc/hosts')];
}

async function writeEtcFiles(
  c: ContainerRecord,
  dir: string,
  hostNet: boolean,
  ipAddress?: string,
  extra: Pick<SpecContext, 'dnsServer' | 'linkHosts' | 'ipv6Address' | 'etcWritten' | 'hostGateway'> = {},
): Promise<void> {
  const hostname = c.Config.Hostname ?? c.Id.slice(0, 12);
  const hostsLines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of c.HostConfig.ExtraHosts ?? []) {
    const i = e.indexOf(':');
    if (i <= 0) continue;
    let ip = e.slice(i + 1);
    if (ip === 'host-gateway') {
      if (!extra.hostGateway) throw invalidArgument('unable to derive the IP value for host-gateway');
      ip = extra.hostGateway;
    }
    hostsLines.push(`${ip}\t${e.slice(0, i)}`);
  }
  for (const l of extra.linkHosts ?? []) hostsLines.push(`${l.ip}\t${l.names.join(' ')}`);
  // As Docker: with --domainname the address answers for the full name first.
  const own = `${c.Config.Domainname ? `${hostname}.${c.Config.Domainname} ` : ''}${hostname}`;
  if (ipAddress) hostsLines.push(`${ipAddress}\t${own}`);
  if (extra.ipv6Address) hostsLines.push(`${extra.ipv6Address}\t${own}`);
  let hosts = hostsLines.join('\n') + '\n';
  let resolv = await hostResolvConf();
  if (hostNet) {
    hosts = await fs.readFile('/etc/hosts', 'utf8').catch(() => hosts);
  } else {
    resolv = resolv.replace(/^nameserver\s+(127\.\S+|::1)\s*$/gm, '').trim();
    if (!/^nameserver/m.test(resolv)) resolv += '\nnameserver 8.8.8.8\nnameserver 8.8.4.4';
    resolv += '\n';
  }
  if (c.HostConfig.Dns?.length || c.HostConfig.DnsSearch?.length || c.HostConfig.DnsOptions?.length) {
    const lines = resolv
      .split('\n')
      .filter(
        (l) =>
          !(c.HostConfig.Dns?.length && l.startsWith('nameserver')) &&
          !(c.HostConfig.DnsSearch?.length && l.startsWith('search')) &&
          !(c.HostConfig.DnsOptions?.length && l.startsWith('options')),
      );
    for (const d of c.HostConfig.Dns ?? []) lines.push(`nameserver ${d}`);
    if (c.HostConfig.DnsSearch?.length) lines.push(`search ${c.HostConfig.DnsSearch.join(' ')}`);
    if (c.HostConfig.DnsOptions?.length) lines.push(`options ${c.HostConfig.DnsOptions.join(' ')}`);
    resolv = resolvOrder(lines.filter((l) => l.trim())).join('\n') + '\n';
  }
  if (extra.dnsServer) {
    // On a user network the daemon's embedded DNS answers (and forwards the rest to --dns, else the host's resolvers).
    // As dockerd's: ndots:0 unless the options set it (a name with no dot is tried as it is first).
    const lines = resolv.split('\n').filter((l) => l.trim() && !l.startsWith('nameserver'));
    if (!lines.some((l) => /^options\s.*\bndots:/.test(l))) lines.push('options ndots:0');
    resolv = resolvOrder([...lines, `nameserver ${extra.dnsServer}`]).join('\n') + '\n';
  }
  const files: [string, string][] = [
    ['hostname', `${hostname}\n`],
    ['hosts', hosts],
    ['resolv.conf', resolv],
  ];
  const known = extra.etcWritten;
  await Promise.all(
    files.map(async ([name, text]) => {
      if (known?.get(name) === text) return;
      await fs.writeFile(join(dir, name), text);
      known?.set(name, text);
    }),
  );
}

let resolvCache: { at: number; text: string } | undefined;
async function hostResolvConf(): Promise<string> {
  if (resolvCache && Date.now() - resolvCache.at < 5000) return resolvCache.text;
  const text = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  resolvCache = { at: Date.now(), text };
  return text;
}
