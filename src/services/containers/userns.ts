/**
 * What `berthd --userns-remap` means for one container, as rules: whether it runs in a user
 * namespace of its own (every container but one created with `--userns=host`), and what dockerd
 * refuses of a remapped container, in its words (sharing the host's PID or network namespace,
 * `--privileged`: each needs the host's root, which a remapped root is not).
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { IdMap } from '../../spec/index.ts';
import type { HostConfig } from '../../api/types/index.ts';

/** `--userns`: empty (the daemon's choice) or `host`, as dockerd accepts. */
export function checkUsernsMode(h: Pick<HostConfig, 'UsernsMode'>): void {
  if (h.UsernsMode && h.UsernsMode !== 'host') throw invalidArgument(`invalid USER mode: ${h.UsernsMode}`);
}

/** The map a container's namespace gets: none without a remap, or with `--userns=host`. */
export function containerIdMap(h: Pick<HostConfig, 'UsernsMode'>, daemonMap?: IdMap): IdMap | undefined {
  return daemonMap && h.UsernsMode !== 'host' ? daemonMap : undefined;
}

/** dockerd's refusals for a container that would run remapped; nothing without a remap. */
export function checkRemapped(
  h: Pick<HostConfig, 'UsernsMode' | 'Privileged' | 'PidMode' | 'NetworkMode'>,
  daemonMap?: IdMap,
): void {
  if (!containerIdMap(h, daemonMap)) return;
  if (h.Privileged)
    throw invalidArgument(
      'privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode',
    );
  if (h.PidMode === 'host')
    throw invalidArgument('cannot share the host PID namespace when user namespaces are enabled');
  if (h.NetworkMode === 'host')
    throw invalidArgument("cannot share the host's network namespace when user namespaces are enabled");
}
