/**
 * Rootless berthd: started by an ordinary user through `bin/berthd-rootless`, which runs it
 * under rootlesskit — a user namespace mapping the user's own uid to 0 and its subordinate
 * ids (newuidmap/newgidmap, Debian's `uidmap`) above it, a mount namespace where overlayfs
 * mounts (native in a user namespace since Linux 5.11), and a network namespace whose way out
 * is slirp4netns. berthd finds itself in a user namespace (`inUserNamespace`) and then:
 *
 * - gives containers no cgroup and refuses limits (services/containers/rootless.ts);
 * - exposes published ports on the host through rootlesskit's port driver;
 * - leaves the socket to its owner alone (the `berth` group means nothing inside the
 *   namespace: its gid would land on a subordinate id).
 */
import { rootlesskitPorts, type PortExposer } from '../network/index.ts';

/** The host side of published ports, when berthd runs under rootlesskit. */
export function rootlessPorts(rootless: boolean, log: { warn(m: string): void }): PortExposer | undefined {
  if (!rootless) return undefined;
  const stateDir = process.env.ROOTLESSKIT_STATE_DIR;
  if (stateDir) return rootlesskitPorts(stateDir);
  log.warn(
    'berthd runs in a user namespace but not under rootlesskit (start it with bin/berthd-rootless): published ports are reachable only inside its network namespace',
  );
  return undefined;
}
