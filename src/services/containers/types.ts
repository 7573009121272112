/**
 * What the store keeps per container: the Engine API's config and host config as the create
 * request gave them (their shapes are `api/types`'), and Berth's own bookkeeping beside them.
 */
import type { ContainerConfig, ContainerState, EndpointSettings, HostConfig, Ulimit } from '../../api/types/index.ts';
import type { Endpoint } from '../../network/index.ts';
import type { MountPoint } from '../volumes/index.ts';

/**
 * What berthd applies to every container that does not say otherwise (dockerd's
 * --default-ulimit and --no-new-privileges): merged in at each start and shown by inspect,
 * never written into the record, so changing berthd's flags changes old containers' next start.
 */
export interface ContainerDefaults {
  ulimits?: readonly Ulimit[];
  noNewPrivileges?: boolean;
}

/** The container's own ulimits, then the defaults for the names it does not set (dockerd's mergeUlimits). */
export function mergeUlimits(own: readonly Ulimit[] | null | undefined, defaults?: readonly Ulimit[]): Ulimit[] {
  const mine = [...(own ?? [])];
  for (const d of defaults ?? []) if (!mine.some((u) => u.Name === d.Name)) mine.push({ ...d });
  return mine;
}

/** What the store keeps per container. */
export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  /** The image ID (config digest). */
  Image: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  RestartCount: number;
  /** The chain ID of the image's top layer when the container was made. */
  TopChain: string | null;
  /** Set by a user-requested stop, so restart policies do not bring the container back. */
  ManuallyStopped?: boolean;
  /** Its volumes, binds and tmpfs mounts (absent: none). */
  MountPoints?: MountPoint[];
  /** The pid of the container's monitor, when running. */
  MonitorPid?: number;
  /** Its endpoint on the default bridge while it runs. */
  Network?: Endpoint;
  /** Endpoints on further user networks (`docker network connect`), while it runs. */
  ExtraNetworks?: Endpoint[];
  /** Per-network settings asked for at create or connect (aliases, --ip, links), by network name. */
  EndpointsConfig?: Record<string, EndpointConfig>;
  /**
   * Disconnected from the network its NetworkMode names (Docker keeps the mode and drops the
   * network from the container's list): not attached at start until connected again. Compose
   * disconnects and reconnects every container it creates to give it its aliases.
   */
  PrimaryDetached?: boolean;
  /**
   * While it runs: the N of the next ethN an interface plugged in takes (dockerd's sandbox never
   * gives a name again within a run); see endpoints.ts's nextIfname.
   */
  NextIf?: number;
}

/** What a create or connect request asked of an endpoint, kept until the container runs. */
export type EndpointConfig = Pick<
  EndpointSettings,
  'Aliases' | 'IPAMConfig' | 'Links' | 'DriverOpts' | 'MacAddress' | 'NetworkID'
>;
