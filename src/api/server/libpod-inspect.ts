/**
 * A container as Libpod's `GET /containers/{id}/json` shows it (Podman 4.3's
 * InspectContainerData), made from the Engine API's inspect so there is one source of truth.
 * Podman's client decodes it strictly by type (a string where it wants a number fails the whole
 * command), so only fields whose Libpod type is known are filled: `podman --remote run` reads
 * `Config.Tty` to choose between a raw and a multiplexed attach; `podman inspect` the rest.
 *
 *     libpodInspect(dockerInspect, 'web')
 *     // { Id, Created, Path, Args, State: { Status: 'exited', ExitCode: 0, ... }, Pod: 'web', Config: { Tty: false, ... } }
 */
import type { ContainerInspect, ContainerState } from '../types/index.ts';
import { signalNumber } from '../../spec/index.ts';

/** Podman 4.3's InspectContainerData, the part Berth fills. */
export interface LibpodContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  /** The Engine's state, with Libpod's own status words and health shape. */
  State: Omit<ContainerState, 'Status' | 'Health'> & { OciVersion: string; Status: string; Health?: unknown };
  Image: string;
  ImageName: string;
  Pod: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  OCIRuntime: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[];
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  Mounts: Array<{
    Type: string;
    Name?: string;
    Source: string;
    Destination: string;
    Driver: string;
    Mode: string;
    Options: string[];
    RW: boolean;
    Propagation: string;
  }>;
  IsInfra: boolean;
  Config: {
    Hostname: string;
    Domainname: string;
    User: string;
    AttachStdin: boolean;
    AttachStdout: boolean;
    AttachStderr: boolean;
    Tty: boolean;
    OpenStdin: boolean;
    StdinOnce: boolean;
    Env: string[];
    Cmd: string[];
    Image: string;
    WorkingDir: string;
    /** One string in Podman 4 (a list from Podman 5 on). */
    Entrypoint: string;
    Labels: Record<string, string>;
    Annotations: Record<string, string>;
    /** A number in Libpod, a name in the Engine API. */
    StopSignal: number;
    StopTimeout: number;
  };
  HostConfig: {
    NetworkMode: string;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    AutoRemove: boolean;
    Privileged: boolean;
    ReadonlyRootfs: boolean;
    Binds: string[];
    PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    CapAdd: string[];
    CapDrop: string[];
  };
}

export function libpodInspect(c: ContainerInspect, pod: string, isInfra: boolean): LibpodContainerInspect {
  const s = c.State;
  const h = c.HostConfig;
  return {
    Id: c.Id,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: {
      OciVersion: '1.0.2',
      // Libpod has no "dead" or "removing": both are a container that has exited.
      Status: s.Status === 'dead' || s.Status === 'removing' ? 'exited' : s.Status,
      Running: s.Running,
      Paused: s.Paused,
      Restarting: s.Restarting,
      OOMKilled: s.OOMKilled,
      Dead: s.Dead,
      Pid: s.Pid,
      ExitCode: s.ExitCode,
      Error: s.Error,
      StartedAt: s.StartedAt,
      FinishedAt: s.FinishedAt,
      ...(s.Health ? { Health: s.Health } : {}),
    },
    Image: c.Image.replace(/^sha256:/, ''),
    ImageName: c.Config.Image ?? '',
    Pod: pod,
    ResolvConfPath: c.ResolvConfPath,
    HostnamePath: c.HostnamePath,
    HostsPath: c.HostsPath,
    OCIRuntime: h.Runtime || 'runc',
    Name: c.Name.replace(/^\//, ''),
    RestartCount: c.RestartCount,
    Driver: c.Driver,
    MountLabel: c.MountLabel,
    ProcessLabel: c.ProcessLabel,
    AppArmorProfile: c.AppArmorProfile,
    ExecIDs: c.ExecIDs ?? [],
    GraphDriver: c.GraphDriver,
    Mounts: c.Mounts.map((m) => ({
      Type: m.Type,
      ...(m.Name ? { Name: m.Name } : {}),
      Source: m.Source,
      Destination: m.Destination,
      Driver: m.Driver ?? '',
      Mode: m.Mode,
      Options: m.RW ? [] : ['ro'],
      RW: m.RW,
      Propagation: m.Propagation,
    })),
    IsInfra: isInfra,
    Config: {
      Hostname: c.Config.Hostname ?? '',
      Domainname: c.Config.Domainname ?? '',
      User: c.Config.User ?? '',
      AttachStdin: !!c.Config.AttachStdin,
      AttachStdout: !!c.Config.AttachStdout,
      AttachStderr: !!c.Config.AttachStderr,
      Tty: !!c.Config.Tty,
      OpenStdin: !!c.Config.OpenStdin,
      StdinOnce: !!c.Config.StdinOnce,
      Env: c.Config.Env ?? [],
      Cmd: list(c.Config.Cmd),
      Image: c.Config.Image ?? '',
      WorkingDir: c.Config.WorkingDir || '/',
      Entrypoint: list(c.Config.Entrypoint).join(' '),
      Labels: c.Config.Labels ?? {},
      Annotations: {},
      StopSignal: signalNumber(c.Config.StopSignal || 'SIGTERM') ?? 15,
      StopTimeout: c.Config.StopTimeout ?? 10,
    },
    HostConfig: {
      NetworkMode: h.NetworkMode ?? '',
      RestartPolicy: { Name: h.RestartPolicy?.Name ?? '', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
      AutoRemove: !!h.AutoRemove,
      Privileged: !!h.Privileged,
      ReadonlyRootfs: !!h.ReadonlyRootfs,
      Binds: h.Binds ?? [],
      PortBindings: (h.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }>>,
      CapAdd: h.CapAdd ?? [],
      CapDrop: h.CapDrop ?? [],
    },
  };
}

/** The Engine API takes a command as a string or a list; inspect shows what was given. */
function list(v: string | string[] | null | undefined): string[] {
  return v == null ? [] : typeof v === 'string' ? [v] : v;
}

/** Podman 4.3's ListContainer: a line of `podman ps`, which Podman's client also reads to find containers by name. */
export interface LibpodContainerListEntry {
  AutoRemove: boolean;
  Command: string[];
  Created: string;
  CreatedAt: string;
  Exited: boolean;
  ExitedAt: number;
  ExitCode: number;
  Id: string;
  Image: string;
  ImageID: string;
  IsInfra: boolean;
  Labels: Record<string, string>;
  Mounts: string[];
  Names: string[];
  Namespaces: Record<string, never>;
  Networks: string[];
  Pid: number;
  Pod: string;
  PodName: string;
  Ports: Array<{ host_ip: string; container_port: number; host_port: number; range: number; protocol: string }>;
  Size: null;
  StartedAt: number;
  State: string;
  Status: string;
}

/** A list entry from the Engine API's inspect (Podman works out the status text itself from the times). */
export function libpodListEntry(
  c: ContainerInspect,
  imageName: string,
  pod: { id: string; name: string; isInfra: boolean },
): LibpodContainerListEntry {
  const unix = (t: string) => (t && !t.startsWith('0001-') ? Math.floor(Date.parse(t) / 1000) : 0);
  const ports: LibpodContainerListEntry['Ports'] = [];
  for (const [key, binds] of Object.entries(c.HostConfig.PortBindings ?? {})) {
    const [port, protocol = 'tcp'] = key.split('/');
    for (const b of binds ?? [])
      ports.push({
        host_ip: b.HostIp ?? '',
        container_port: Number(port),
        host_port: Number(b.HostPort) || 0,
        range: 1,
        protocol,
      });
  }
  const status = c.State.Status === 'dead' || c.State.Status === 'removing' ? 'exited' : c.State.Status;
  return {
    AutoRemove: !!c.HostConfig.AutoRemove,
    Command: [c.Path, ...c.Args].filter((x) => x !== ''),
    Created: c.Created,
    CreatedAt: '',
    Exited: status === 'exited',
    ExitedAt: unix(c.State.FinishedAt),
    ExitCode: c.State.ExitCode,
    Id: c.Id,
    Image: imageName,
    ImageID: c.Image.replace(/^sha256:/, ''),
    IsInfra: pod.isInfra,
    Labels: c.Config.Labels ?? {},
    Mounts: c.Mounts.map((m) => m.Destination),
    Names: [c.Name.replace(/^\//, '')],
    Namespaces: {},
    Networks: [],
    Pid: c.State.Pid,
    Pod: pod.id,
    PodName: pod.name,
    Ports: ports,
    Size: null,
    StartedAt: unix(c.State.StartedAt),
    State: status,
    Status: '',
  };
}
