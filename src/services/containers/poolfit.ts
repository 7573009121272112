/**
 * The warm pool's rules, as pure functions (pool.ts applies them): which create requests may
 * take a pre-made sandbox, whether the task a request would get is the sandbox's but for its
 * process, and what the sandbox's berth-zygote is told to exec. A request that does not fit
 * gets a task made as without the pool, so the pool is never visible to a client.
 */
import type { ContainerCreateRequest as CreateRequest, HostConfig } from '../../api/types/index.ts';
import type { Spec, Process } from '../../oci/index.ts';

/** Where berth-zygote is in a sandbox's root, and where it reads its command (berth-zygote.c). */
export const ZYGOTE_PATH = '/.berth-zygote';
export const ZYGOTE_CMD = '/.berth-zygote-cmd';

/**
 * Whether a create request may take a sandbox of the pool: the pool's image and runtime, no
 * network (a sandbox has only `lo`; so has the default network of a daemon without a bridge), and nothing the monitor or the namespaces were made
 * without — no terminal or stdin (the monitor's mode is fixed when it starts), no mounts or
 * volumes, no hostname of its own, the default logging. The rest of the request (limits,
 * capabilities, security options, devices...) shows in its spec, which `sameSandbox` compares
 * with the sandbox's before the hand-over.
 */
export function requestFits(
  req: CreateRequest,
  h: HostConfig,
  image: { id: string; volumes: object | null | undefined },
  pool: { imageId: string; runtime: string; chosenRuntime: string; bridgeless?: boolean },
): boolean {
  const mode = h.NetworkMode || 'default';
  return (
    image.id === pool.imageId &&
    pool.chosenRuntime === pool.runtime &&
    // Without a default bridge (`--bridge none`), the default network is none's.
    (mode === 'none' || (!!pool.bridgeless && (mode === 'default' || mode === 'bridge'))) &&
    !req.Tty &&
    !req.OpenStdin &&
    !req.Hostname &&
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
