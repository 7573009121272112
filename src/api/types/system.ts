/**
 * The daemon as a whole on the wire: version, info, events, registry logins, prune reports
 * and `filters` values (moby's `api/types/{system,events,registry,filters}`).
 */
import type { ImageDeleteItem } from './image.ts';

export interface SystemVersion {
  Platform?: { Name: string };
  Components?: Array<{ Name: string; Version: string; Details?: Record<string, string> }>;
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

export type SystemInfo = Record<string, unknown> & {
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  ServerVersion?: string;
};

export interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  scope?: string;
  time?: number;
  /** Nanoseconds since the epoch, as a decimal string (see EngineClient.events). */
  timeNano?: string;
  status?: string;
  id?: string;
  from?: string;
}

export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface PruneReport {
  SpaceReclaimed?: number;
  ContainersDeleted?: string[] | null;
  ImagesDeleted?: ImageDeleteItem[] | null;
  VolumesDeleted?: string[] | null;
  NetworksDeleted?: string[] | null;
  CachesDeleted?: string[] | null;
}

/** `filters` query values: `{"dangling": ["true"]}`. */
export type Filters = Record<string, string[]>;

/** The answer of a create that makes one object: `{"Id": "..."}` (commit, exec create). */
export interface IdResponse {
  Id: string;
}
