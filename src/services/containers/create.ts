/**
 * The create step that needs nothing but its inputs: a `POST /containers/create` request
 * checked, and the record of the new container made from it and its image's config, by
 * Docker's rules (the request's Env over the image's, an `--entrypoint` dropping the image's
 * CMD, labels and exposed ports merged, the defaults dockerd fills in). The service does the
 * rest: the name's owner, the network mode, the mounts, the directory, the events.
 */
import { invalidArgument, notFound } from '../../errdefs/index.ts';
import type { Image } from '../../images/index.ts';
import { normaliseSignal } from '../../spec/index.ts';
import { logLimits } from './logopts.ts';
import { commandFor } from './spec.ts';
import { validateCreateTypes } from './request-shape.ts';
import { validateHostConfig } from './hostconfig.ts';
import { initialState } from './state.ts';
import type { ContainerRecord } from './types.ts';
import type { ContainerCreateRequest as CreateRequest } from '../../api/types/index.ts';

/** Throws Docker's error for a request of the wrong shape or with values Docker refuses outright. */
export function checkCreateRequest(req: CreateRequest): void {
  if (typeof req !== 'object' || req === null || Array.isArray(req))
    throw invalidArgument('invalid container config: expected a JSON object');
  const imageRef = req.Image;
  if (!imageRef || typeof imageRef !== 'string') throw invalidArgument('no image specified: config.Image is required');
  validateCreateTypes(req as unknown as Record<string, unknown>);
  checkConfig(req);
  const hostConfig = req.HostConfig ?? {};
  validateHostConfig(hostConfig);
  logLimits(hostConfig);
  checkMacAddresses(req);
}

/** Linux's HOST_NAME_MAX: dockerd refuses a longer name rather than fail in the runtime. */
const MAX_HOSTNAME_BYTES = 64;

/** moby's MinimumDuration for the healthcheck's durations (ns). */
const MIN_HEALTH_DURATION_NS = 1_000_000;

/** moby's checks of the request's own Config (validateContainerConfig), before the image's is merged. */
function checkConfig(req: CreateRequest): void {
  if (req.Hostname && Buffer.byteLength(req.Hostname) > MAX_HOSTNAME_BYTES)
    throw invalidArgument(`hostname ${JSON.stringify(req.Hostname)} is too long (maximum ${MAX_HOSTNAME_BYTES} bytes)`);
  if (req.WorkingDir && !req.WorkingDir.startsWith('/'))
    throw invalidArgument(`the working directory '${req.WorkingDir}' is invalid, it needs to be an absolute path`);
  if (req.StopSignal) normaliseSignal(req.StopSignal);
  for (const e of req.Env ?? []) {
    if (typeof e === 'string' && e.split('=', 1)[0] === '') throw invalidArgument(`invalid environment variable: ${e}`);
  }
  const hc = req.Healthcheck;
  if (!hc) return;
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const ns = (hc as Record<string, unknown>)[key];
    if (typeof ns === 'number' && ns !== 0 && ns < MIN_HEALTH_DURATION_NS)
      throw invalidArgument(`${key} in Healthcheck cannot be less than 1ms`);
  }
  if ((hc.Retries ?? 0) < 0) throw invalidArgument('Retries in Healthcheck cannot be negative');
}

/**
 * What moby's API decoder refuses in a Docker client's create (runconfig's validateNetMode): a
 * container that shares another's network cannot have names, DNS, hosts or ports of its own,
 * nor a host name in the host's UTS namespace. Not for a pod's members: their requests are
 * Berth's own joins (pods/state.ts memberRequest), with the pod's host name and ports.
 */
export function checkNetworkConflicts(req: CreateRequest): void {
  const h = req.HostConfig ?? {};
  const mode = h.NetworkMode ?? '';
  if (h.UTSMode === 'host' && req.Hostname) throw invalidArgument('conflicting options: hostname and the UTS mode');
  if (mode === 'host' && h.Links?.length)
    throw invalidArgument(
      "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
    );
  if (mode !== 'container' && !mode.startsWith('container:')) return;
  if (mode === 'container' || mode === 'container:')
    throw invalidArgument('invalid network mode: invalid container format container:<name|id>');
  if (req.Hostname) throw invalidArgument('conflicting options: hostname and the network mode');
  if (h.Links?.length)
    throw invalidArgument(
      "conflicting options: container type network can't be used with links. This would result in undefined behavior",
    );
  if (h.Dns?.length) throw invalidArgument('conflicting options: dns and the network mode');
  if (h.ExtraHosts?.length)
    throw invalidArgument('conflicting options: custom host-to-IP mapping and the network mode');
  if (Object.keys(h.PortBindings ?? {}).length || h.PublishAllPorts)
    throw invalidArgument('conflicting options: port publishing and the container type network mode');
  if (Object.keys(req.ExposedPorts ?? {}).length)
    throw invalidArgument('conflicting options: port exposing and the container type network mode');
}

/** A 48-bit MAC as Go's net.ParseMAC reads it (`:` or `-` between the bytes). */
const MAC = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/**
 * The MAC addresses a create asks for: `Config.MacAddress` (API < 1.44, the container's main
 * network; kept in the config, as dockerd 20.10 shows it, and applied by endpoints.ts) and each
 * endpoint's own (1.44+). dockerd refuses a container-wide one where the container has no
 * network of its own, and a malformed one with Go's words (at start there; here at create).
 */
function checkMacAddresses(req: CreateRequest): void {
  const mode = req.HostConfig?.NetworkMode ?? '';
  if (req.MacAddress && (mode === 'host' || mode === 'none' || mode.startsWith('container:')))
    throw invalidArgument('conflicting options: mac-address and the network mode');
  const endpoints = (req.NetworkingConfig as { EndpointsConfig?: Record<string, { MacAddress?: string } | null> })
    ?.EndpointsConfig;
  for (const mac of [req.MacAddress, ...Object.values(endpoints ?? {}).map((e) => e?.MacAddress)]) {
    if (mac && !MAC.test(mac)) throw invalidArgument(`address ${mac}: invalid MAC address`);
  }
}

export interface NewRecordOptions {
  id: string;
  /** The name, without its leading slash. */
  name: string;
  image: Pick<Image, 'id' | 'config' | 'topChain'>;
  /** The runtime it runs on (`HostConfig.Runtime`). */
  runtime: string;
  now: Date;
}

/** The record of a new container, created (never started), from a checked request. */
export function newRecord(req: CreateRequest, o: NewRecordOptions): ContainerRecord {
  const { Path, Args } = commandFor(req, o.image.config.config ?? {});
  const hostConfig = req.HostConfig ?? {};
  const imgCfg = o.image.config.config ?? {};
  const env = mergeEnv(imgCfg.Env ?? [], req.Env ?? []);
  if (!env.some((e) => e.startsWith('PATH=')))
    env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  const rec: ContainerRecord = {
    Id: o.id,
    Name: o.name,
    Created: o.now.toISOString(),
    Image: o.image.id,
    Path,
    Args,
    Config: {
      Hostname: req.Hostname || o.id.slice(0, 12),
      Domainname: req.Domainname ?? '',
      User: req.User || imgCfg.User || '',
      AttachStdin: !!req.AttachStdin,
      AttachStdout: !!req.AttachStdout,
      AttachStderr: !!req.AttachStderr,
      ExposedPorts: { ...(imgCfg.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) },
      Tty: !!req.Tty,
      OpenStdin: !!req.OpenStdin,
      StdinOnce: !!req.StdinOnce,
      Env: env,
      Cmd: cmdFor(req, imgCfg.Cmd ?? null),
      Image: req.Image,
      Volumes: req.Volumes ?? imgCfg.Volumes ?? null,
      WorkingDir: req.WorkingDir || imgCfg.WorkingDir || '',
      Entrypoint: entrypointSet(req)
        ? isEmptyEntrypoint(req.Entrypoint)
          ? null
          : req.Entrypoint
        : (imgCfg.Entrypoint ?? null),
      OnBuild: imgCfg.OnBuild ?? null,
      Labels: { ...(imgCfg.Labels ?? {}), ...(req.Labels ?? {}) },
      StopSignal: req.StopSignal || imgCfg.StopSignal || undefined,
      StopTimeout: req.StopTimeout ?? undefined,
      Healthcheck: req.Healthcheck ?? imgCfg.Healthcheck,
      MacAddress: req.MacAddress || undefined,
    },
    HostConfig: {
      NetworkMode: 'default',
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      // Shown as json-file, the driver clients know (the SDK reads logs only for it); on disk it is conmon's k8s-file.
      LogConfig: { Type: 'json-file', Config: {} },
      ...hostConfig,
      ...(hostConfig.LogConfig?.Type
        ? {}
        : { LogConfig: { Type: 'json-file', Config: hostConfig.LogConfig?.Config ?? {} } }),
      Runtime: o.runtime,
    },
    State: initialState(),
    RestartCount: 0,
    TopChain: o.image.topChain,
  };
  const endpoints = (req.NetworkingConfig as { EndpointsConfig?: ContainerRecord['EndpointsConfig'] } | undefined)
    ?.EndpointsConfig;
  if (endpoints && Object.keys(endpoints).length) rec.EndpointsConfig = endpoints;
  return rec;
}

/** `--entrypoint` given (even empty) replaces the image's ENTRYPOINT and drops its CMD. */
function entrypointSet(req: CreateRequest): boolean {
  return req.Entrypoint !== undefined && req.Entrypoint !== null;
}

function isEmptyEntrypoint(e: CreateRequest['Entrypoint']): boolean {
  return e === '' || (Array.isArray(e) && (e.length === 0 || (e.length === 1 && e[0] === '')));
}

function cmdFor(req: CreateRequest, imageCmd: string[] | null): string[] | string | null {
  const given = req.Cmd !== undefined && req.Cmd !== null && !(Array.isArray(req.Cmd) && req.Cmd.length === 0);
  if (given) return req.Cmd!;
  return entrypointSet(req) ? null : imageCmd;
}

function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const k = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    out.set(k, e);
  }
  return [...out.values()];
}

/** Go's names for what Node and uname call otherwise. */
const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  i386: '386',
};

/**
 * A create with `--platform`: the image must be for it (Docker answers 404, and its CLI then
 * tries to pull the image for that platform).
 */
export function checkPlatform(
  ref: string,
  platform: string,
  config: { os?: string; architecture?: string; variant?: string },
): void {
  const [os = '', arch, variant] = platform.toLowerCase().split('/');
  const want = { os, arch: arch ? (ARCH_ALIASES[arch] ?? arch) : undefined, variant };
  const actual = [
    config.os ?? 'linux',
    config.architecture ?? 'amd64',
    ...(config.variant ? [config.variant] : []),
  ].join('/');
  if (
    want.os !== (config.os ?? 'linux') ||
    (want.arch && want.arch !== (config.architecture ?? 'amd64')) ||
    (want.variant && want.variant !== config.variant)
  ) {
    throw notFound(
      `image with reference ${ref} was found but does not match the specified platform: wanted ${[want.os, want.arch, want.variant].filter(Boolean).join('/')}, actual: ${actual}`,
    );
  }
}
