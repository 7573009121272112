/**
 * The warm pool's rules, as pure functions (pool.ts applies them): which create requests may
 * take a pre-made sandbox, whether the task a request would get is the sandbox's but for its
 * process, and what the sandbox's berth-zygote is told to exec. A request that does not fit
 * gets a task made as without the pool, so the pool is never visible to a client.
 */
import type { ContainerCreateRequest as CreateRequest, HostConfig } from '../../api/types/index.ts';
import type { Spec, Process } from '../../oci/index.ts';

/** Where berth-zygote is in a sandbox's root, where it reads its command, and its FIFO (berth-zygote.c). */
export const ZYGOTE_PATH = '/.berth-zygote';
export const ZYGOTE_CMD = '/.berth-zygote-cmd';
export const ZYGOTE_GO = '/.berth-zygote-go';
/** Everything the pool puts in a sandbox's root, which a task made without it must not find. */
export const ZYGOTE_FILES = [ZYGOTE_PATH, ZYGOTE_CMD, ZYGOTE_GO] as const;

/**
 * The network a sandbox is made with: `none` (only `lo`; also the default network of a daemon
 * without a bridge, or a request with networking disabled), `bridge` (the default bridge: a
 * veth on it, an address allocated for the sandbox's ID, which becomes the container's), or a
 * user network, by its ID (64 hex digits, never `none` or `bridge`): a veth on its bridge and
 * an address from its pool, as on the default bridge; its DNS names are registered only when a
 * container takes it (pool.ts, tasks.ts's adopt), so nothing answers for a sandbox nobody uses.
 */
export type SandboxNetwork = 'none' | 'bridge' | (string & {});

/** Whether `n` is a user network's ID rather than `none` or the default bridge. */
export function isUserNetwork(n: SandboxNetwork): boolean {
  return n !== 'none' && n !== 'bridge';
}

/**
 * Which sandbox network a container's network mode asks for; undefined for any a sandbox
 * cannot have (host, container:, a user network `userNetwork` does not know — it gives a
 * network's ID for its name, ID or ID prefix, or nothing when the daemon has no user networks).
 */
export function sandboxNetworkOf(
  h: Pick<HostConfig, 'NetworkMode'>,
  config: { NetworkDisabled?: boolean },
  bridgeless: boolean,
  userNetwork: (ref: string) => string | undefined = () => undefined,
): SandboxNetwork | undefined {
  const mode = h.NetworkMode || 'default';
  if (mode === 'none') return 'none';
  if (mode === 'default' || mode === 'bridge') return bridgeless || config.NetworkDisabled ? 'none' : 'bridge';
  if (mode === 'host' || mode.startsWith('container:')) return undefined;
  return userNetwork(mode);
}

/**
 * How many of a pool's `size` sandboxes each network gets, from the last starts
 * (`sandboxNetworkOf` of each; undefined for one no sandbox can have): in proportion to its
 * starts among them, the slots left by rounding down going to the largest remainders — so
 * starts alternating between two networks find a sandbox on each, and a network started once
 * among many gets none. A tie goes to the daemon's default network (the bridge, or `none`
 * without one), then to the network seen first. No starts yet: all of them on the default
 * network. Networks with no slot are absent; the map is in the order of the slots' sizes.
 */
export function poolShares(
  recent: readonly (SandboxNetwork | undefined)[],
  size: number,
  bridgeless: boolean,
): Map<SandboxNetwork, number> {
  const preferred: SandboxNetwork = bridgeless ? 'none' : 'bridge';
  const counts = new Map<SandboxNetwork, number>([[preferred, 0]]);
  let total = 0;
  for (const n of recent) {
    if (!n || (bridgeless && n === 'bridge')) continue;
    counts.set(n, (counts.get(n) ?? 0) + 1);
    total++;
  }
  if (!total) return size > 0 ? new Map([[preferred, size]]) : new Map();
  // Map order is first-seen order with the default network first: the tie-break of both sorts.
  const order = [...counts.keys()];
  const rows = order.map((n, i) => {
    const exact = (size * counts.get(n)!) / total;
    return { n, i, slots: Math.floor(exact), rest: exact - Math.floor(exact) };
  });
  let left = size - rows.reduce((a, r) => a + r.slots, 0);
  for (const r of [...rows].sort((a, b) => b.rest - a.rest || a.i - b.i)) {
    if (left <= 0) break;
    if (r.rest > 0) {
      r.slots++;
      left--;
    }
  }
  const shares = new Map<SandboxNetwork, number>();
  for (const r of rows.sort((a, b) => b.slots - a.slots || a.i - b.i)) if (r.slots > 0) shares.set(r.n, r.slots);
  return shares;
}

/**
 * The niceness a sandbox is made at while the pool still holds a ready one: its monitor, the
 * runtime's create and the init (which inherit it) yield the CPU to the starts being served
 * and to the clients starting meanwhile — in a back-to-back `docker run`, the next CLI's own
 * start-up, which the making otherwise slows. 10 is a tenth of a share against a process at 0.
 */
export const SANDBOX_NICE = 10;
/** A making at SANDBOX_NICE that took longer than this: the machine is too busy for the refill to wait its turn. */
export const SANDBOX_NICE_BOUND_MS = 300;

/**
 * The niceness of the next sandbox's making (undefined: the daemon's own). An empty pool's
 * next start would be made cold: its refill goes at once. So does the one after a lowered
 * making that took longer than `SANDBOX_NICE_BOUND_MS` (on a loaded machine a tenth of a
 * share may be next to nothing, and the pool must still refill in a burst of starts); the
 * one after that tries the lower priority again.
 */
export function sandboxNice(ready: number, last: { nice?: number; ms: number } | undefined): number | undefined {
  if (!ready) return undefined;
  if (last?.nice && last.ms > SANDBOX_NICE_BOUND_MS) return undefined;
  return SANDBOX_NICE;
}

/**
 * Whether a create request may take a sandbox of the pool: the pool's image and runtime, the
 * pool's network (see `SandboxNetwork`; on the bridge, nothing that changes the endpoint
 * the sandbox was wired with — no MAC address, address, alias or link (published ports are
 * fine: see sameBridgeEndpoint); on a user network likewise no MAC or address, but aliases
 * (see sameUserEndpoint); its
 * /etc files, --dns and --add-host included, are written again at the hand-over), and nothing
 * the monitor or the namespaces were made without — no terminal or stdin (the monitor's mode
 * is fixed when it starts), no mounts or volumes, no hostname of its own, the default logging.
 * The rest of the request (limits, capabilities, security options, devices...) shows in its
 * spec, which `sameSandbox` compares with the sandbox's before the hand-over.
 */
export function requestFits(
  req: CreateRequest,
  h: HostConfig,
  image: { id: string; volumes: object | null | undefined },
  pool: {
    imageId: string;
    runtime: string;
    chosenRuntime: string;
    network: SandboxNetwork;
    bridgeless?: boolean;
    /** A user network's ID for its name, ID or ID prefix (see sandboxNetworkOf). */
    userNetwork?: (ref: string) => string | undefined;
  },
): boolean {
  const network = sandboxNetworkOf(h, req, !!pool.bridgeless, pool.userNetwork);
  return (
    image.id === pool.imageId &&
    pool.chosenRuntime === pool.runtime &&
    network === pool.network &&
    (network === 'none' ||
      (network === 'bridge'
        ? sameBridgeEndpoint(req)
        : sameUserEndpoint(req, network, pool.userNetwork ?? (() => undefined)))) &&
    !req.Hostname &&
    plainRequest(req, h, image)
  );
}

/**
 * Whether a create request may take a sandbox made for the members of a pod (pool.ts's
 * `wantJoined`): joined to the namespaces of `owner` (the pod's infra), as the sandbox is,
 * of the sandbox's image and the default runtime, and nothing the monitor or the mounts
 * were made without (as `requestFits`). Its host name is allowed: a member has its pod's,
 * which is in the spec (or, joining the infra's UTS namespace, not needed), and the spec is
 * compared before the hand-over as for any sandbox.
 */
export function joinedFits(
  req: CreateRequest,
  h: HostConfig,
  image: { id: string; volumes: object | null | undefined },
  sandbox: { imageId: string; runtime: string; chosenRuntime: string; owner: string },
): boolean {
  return (
    image.id === sandbox.imageId &&
    sandbox.chosenRuntime === sandbox.runtime &&
    h.NetworkMode === `container:${sandbox.owner}` &&
    plainRequest(req, h, image)
  );
}

/** What no sandbox's monitor, root or namespaces were made for: a terminal, stdin, mounts, links, an init, other logging. */
function plainRequest(req: CreateRequest, h: HostConfig, image: { volumes: object | null | undefined }): boolean {
  return (
    !req.Tty &&
    !req.OpenStdin &&
    !req.Domainname &&
    !h.Binds?.length &&
    !h.Mounts?.length &&
    !Object.keys(h.Tmpfs ?? {}).length &&
    !h.VolumesFrom?.length &&
    !Object.keys(req.Volumes ?? {}).length &&
    !Object.keys(image.volumes ?? {}).length &&
    !h.Links?.length &&
    !h.Init &&
    (!h.LogConfig?.Type || h.LogConfig.Type === 'json-file') &&
    !Object.keys(h.LogConfig?.Config ?? {}).length
  );
}

/**
 * On the default bridge: an endpoint as `Endpoints.plan` makes it for any container (the
 * address is the sandbox's). Published ports (`-p`, `-P`) change nothing of it: they are
 * published on the endpoint at start, as for any task created ahead (`Endpoints.publish`:
 * DNAT rules and the loopback proxy, per container ID, released at its exit).
 */
function sameBridgeEndpoint(req: CreateRequest): boolean {
  const endpoints = Object.entries(req.NetworkingConfig?.EndpointsConfig ?? {});
  return (
    !req.MacAddress &&
    endpoints.every(
      ([k, e]) =>
        (k === 'default' || k === 'bridge') &&
        !e?.MacAddress &&
        !e?.Aliases?.length &&
        !e?.Links?.length &&
        !e?.IPAMConfig?.IPv4Address &&
        !e?.IPAMConfig?.IPv6Address,
    )
  );
}

/**
 * On a user network: no further network, and an endpoint whose address and MAC are the
 * sandbox's (none asked for). Aliases fit: a sandbox's names are registered for DNS only when
 * a container takes it, with the container's name and aliases (compose gives every container
 * its service's name as one). Links (`--link` on a user network, DNS aliases too) do not:
 * the CLI also sends them as HostConfig.Links, which no sandbox takes.
 */
function sameUserEndpoint(
  req: CreateRequest,
  network: string,
  userNetwork: (ref: string) => string | undefined,
): boolean {
  const endpoints = Object.entries(req.NetworkingConfig?.EndpointsConfig ?? {});
  return (
    !req.MacAddress &&
    endpoints.every(
      ([k, e]) =>
        userNetwork(k) === network &&
        !e?.MacAddress &&
        !e?.Links?.length &&
        !e?.IPAMConfig?.IPv4Address &&
        !e?.IPAMConfig?.IPv6Address,
    )
  );
}

/**
 * A spec without what a sandbox leaves open until its hand-over (the process's command,
 * environment, directory and user), as a string: two tasks whose keys are equal differ only
 * in what berth-zygote is told.
 */
export function sandboxKey(s: Spec): string {
  const { args: _a, env: _e, cwd: _c, user: _u, ...process } = s.process;
  return JSON.stringify({ ...s, process });
}

/**
 * What berth-zygote reads: uid, gid, supplementary gids, working directory, the HOME of a user
 * /etc/passwd does not list (`homeFallback`: runc's is "/", crun sets none), the number of
 * arguments, the arguments, the environment — NUL-separated (none of them can hold a NUL).
 */
export function zygoteCommand(p: Pick<Process, 'args' | 'env' | 'cwd' | 'user'>, homeFallback = ''): Buffer {
  const args = p.args ?? [];
  const fields = [
    String(p.user.uid),
    String(p.user.gid),
    (p.user.additionalGids ?? []).join(','),
    p.cwd || '/',
    homeFallback,
    String(args.length),
    ...args,
    ...(p.env ?? []),
  ];
  return Buffer.from(fields.join('\0'));
}

/**
 * A container's spec as its sandbox's would be: a user other than root gets no effective or
 * permitted capabilities from the runtime, and from berth-zygote's `setuid` likewise (the
 * kernel clears them when root's ids go), so the sandbox's — made for root — are the same.
 */
export function asSandboxed(s: Spec): Spec {
  const caps = s.process.capabilities;
  if (s.process.user.uid === 0 || !caps || caps.effective || caps.permitted) return s;
  return {
    ...s,
    process: { ...s.process, capabilities: { ...caps, effective: caps.bounding, permitted: caps.bounding } },
  };
}

/** The directories of a `PATH=` entry in `env` (Docker's default when there is none), in order. */
export function searchPath(env: readonly string[] | undefined): string[] {
  const path =
    env?.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return path.split(':').map((d) => d || '.');
}
