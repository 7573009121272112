/**
 * `docker network create -o com.docker.network.bridge.name=NAME`: the user network's bridge is
 * the one the user named (host firewall rules and scripts name it), not one named by the ID.
 * dockerd's bridge driver refuses a name another network's bridge has; a name an interface
 * cannot have is refused here before any `ip link add` fails on it.
 *
 *     checkBridgeName('br-web', networks); // throws if a network has bridge br-web
 */
import { forbidden, invalidArgument } from '../errdefs/index.ts';

/** The driver option naming a network's bridge. */
export const BRIDGE_NAME = 'com.docker.network.bridge.name';

/** Throws unless `name` (absent or empty: none asked for) may name a new network's bridge. */
export function checkBridgeName(name: string | undefined, taken: { Name: string; Bridge: string }[]): void {
  if (name === undefined || name === '') return;
  // The kernel's IFNAMSIZ less its NUL; no white space, '/' or ':' (dev_valid_name).
  if (name.length > 15 || !/^[^\s/:]+$/.test(name) || name === '.' || name === '..')
    throw invalidArgument(`invalid bridge name ${JSON.stringify(name)}: at most 15 characters, no spaces, / or :`);
  const other = taken.find((n) => n.Bridge === name);
  if (other)
    throw forbidden(
      `cannot create network with bridge name ${name}: conflicts with network ${other.Name} (${other.Bridge}): networks have same bridge name`,
    );
}
