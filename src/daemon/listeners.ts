/**
 * Where berthd answers: the Engine API on each `-H` address (unix sockets owned by the `-G`
 * group, TCP with or without TLS) and, with `--cri`, the CRI on `<exec-root>/cri.sock` over the
 * pods' CNI network. The daemon opens them last, once every service is built (daemon.ts), and
 * closes them first at shutdown.
 *
 * @example
 *   const gid = await socketGroup(config, rootless);
 *   await listenApi(router, config, { socketGid: gid, tls, rootless, log }, listeners);
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';
import { CniNetwork, installDefaultNetwork } from '../cni/index.ts';
import { listen, type Listener, type Router } from '../api/server/index.ts';
import { defaultConfig, type DaemonConfig } from './config.ts';
import { LazyCri, type CriDeps } from './cri.ts';
import type { Logger } from './log.ts';
import type { loadApiTls } from './remote.ts';

/**
 * The gid unix sockets get (`-G`), by dockerd's rule: an unknown group is an error, the default
 * group missing only a warning (the socket then stays root's alone; `npm run setup` creates the
 * group). Rootless: the socket stays its owner's (a host group's gid means nothing in the namespace).
 */
export async function socketGroup(c: DaemonConfig, rootless: boolean): Promise<number | undefined> {
  const socketGid = c.group && !rootless ? await groupId(c.group) : undefined;
  if (!rootless && c.group && socketGid === undefined && c.group !== defaultConfig().group)
    throw invalidArgument(`group ${c.group} not found`);
  return socketGid;
}

/**
 * Listens on each of `c.hosts` with `router`, adding each listener to `opened` as soon as it
 * listens: when a later address fails, the daemon's shutdown closes those already open.
 */
export async function listenApi(
  router: Router,
  c: DaemonConfig,
  o: { socketGid?: number; tls: ReturnType<typeof loadApiTls>; rootless: boolean; log: Logger },
  opened: Listener[],
): Promise<void> {
  for (const h of c.hosts) {
    opened.push(await listen(router, h, { socketGid: o.socketGid, tls: o.tls, onRefused: (m) => o.log.info(m) }));
    if (h.startsWith('unix://') && c.group && o.socketGid === undefined && !o.rootless)
      o.log.warn(`could not change group ${h.slice(7)} to ${c.group}: group ${c.group} not found`);
    o.log.info(`API listen on ${h.replace(/^unix:\/\//, '')}`);
  }
}

/**
 * `--cri`: the pods' CNI network (Berth's default written where the conf dir has none, with
 * `--cni-default-network`) and the CRI listening on `<exec-root>/cri.sock`; the networks of
 * sandboxes removed while berthd was down are freed in the background.
 */
export async function listenCri(
  host: Host,
  deps: Omit<CriDeps, 'networking'>,
): Promise<{ cri: LazyCri; podNetworking: CniNetwork }> {
  const { config: c, log } = deps;
  if (c.cniDefaultNetwork) {
    const written = await installDefaultNetwork(c.cniConfDir);
    if (written) log.info(`CNI: no network in ${c.cniConfDir}; wrote Berth's default, ${written}`);
  }
  // Records under the data root: host-local's allocations outlive a reboot, so must they.
  const podNetworking = new CniNetwork({
    host,
    confDir: c.cniConfDir,
    binDirs: c.cniBinDirs,
    stateDir: join(c.dataRoot, 'cni', 'results'),
  });
  const cri = new LazyCri({ ...deps, networking: podNetworking });
  const sock = join(c.execRoot, 'cri.sock');
  // A socket half set up (its mode or group refused) is closed here: the daemon has no CRI yet to close at shutdown.
  await cri.listen(sock).catch(async (e: unknown) => {
    await cri.close();
    throw e;
  });
  log.info(`CRI listen on ${sock}`);
  void cri
    .reapNetworks()
    .then((gone) => gone.length && log.info(`CNI: tore down the networks of ${gone.length} sandboxes gone`))
    .catch((e: Error) => log.warn(`CNI: tearing down the networks of sandboxes gone: ${e.message}`));
  return { cri, podNetworking };
}

async function groupId(name: string): Promise<number | undefined> {
  try {
    const text = await fs.readFile('/etc/group', 'utf8');
    const line = text.split('\n').find((l) => l.split(':')[0] === name);
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}
