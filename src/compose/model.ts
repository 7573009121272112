/**
 * The typed, immutable model of a compose project after loading: files parsed, interpolated,
 * merged, validated and normalised into the compose-spec's canonical (long) forms. Field names
 * are the spec's keys, so `berth compose config` prints this model as YAML unchanged.
 */

export interface BuildConfig {
  readonly context: string;
  readonly dockerfile?: string;
  readonly args?: Readonly<Record<string, string | null>>;
  readonly target?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Images whose history may stand for the build's steps (`--cache-from`). */
  readonly cache_from?: readonly string[];
  readonly no_cache?: boolean;
  readonly network?: string;
  readonly shm_size?: number;
  readonly extra_hosts?: readonly string[];
}

export interface PortConfig {
  readonly target: number;
  /** A port or a range (`8000-8010`); absent: the daemon picks one. */
  readonly published?: string;
  readonly host_ip?: string;
  readonly protocol: string;
  readonly mode?: string;
}

export interface ServiceVolume {
  readonly type: 'volume' | 'bind' | 'tmpfs';
  /** The project's volume key (type volume), an absolute host path (bind), absent if anonymous/tmpfs. */
  readonly source?: string;
  readonly target: string;
  readonly read_only?: boolean;
  readonly bind?: { readonly propagation?: string; readonly create_host_path?: boolean; readonly selinux?: string };
  readonly volume?: { readonly nocopy?: boolean };
  readonly tmpfs?: { readonly size?: number; readonly mode?: number };
}

export interface ServiceNetwork {
  readonly aliases?: readonly string[];
  readonly ipv4_address?: string;
  readonly priority?: number;
}

export type DependCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface Dependency {
  readonly condition: DependCondition;
  readonly restart: boolean;
  readonly required: boolean;
}

export interface Healthcheck {
  readonly test?: readonly string[];
  readonly interval?: string;
  readonly timeout?: string;
  readonly retries?: number;
  readonly start_period?: string;
  readonly start_interval?: string;
  readonly disable?: boolean;
}

export interface Ulimit {
  readonly soft: number;
  readonly hard: number;
}

export interface Service {
  readonly name: string;
  readonly image?: string;
  readonly build?: BuildConfig;
  readonly command?: readonly string[] | null;
  readonly entrypoint?: readonly string[] | null;
  readonly environment?: Readonly<Record<string, string | null>>;
  readonly ports?: readonly PortConfig[];
  readonly expose?: readonly string[];
  readonly volumes?: readonly ServiceVolume[];
  readonly tmpfs?: readonly string[];
  /** Absent when network_mode is set. */
  readonly networks?: Readonly<Record<string, ServiceNetwork | null>>;
  readonly network_mode?: string;
  readonly depends_on?: Readonly<Record<string, Dependency>>;
  readonly healthcheck?: Healthcheck;
  readonly restart?: string;
  readonly scale?: number;
  readonly deploy?: {
    readonly replicas?: number;
    readonly restart_policy?: { readonly condition?: string; readonly max_attempts?: number };
    readonly resources?: {
      readonly limits?: { readonly memory?: number; readonly cpus?: number; readonly pids?: number };
    };
  };
  readonly mem_limit?: number;
  readonly cpus?: number;
  readonly pids_limit?: number;
  readonly user?: string;
  readonly working_dir?: string;
  readonly hostname?: string;
  readonly domainname?: string;
  readonly init?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly stop_signal?: string;
  readonly stop_grace_period?: string;
  readonly extra_hosts?: readonly string[];
  readonly dns?: readonly string[];
  readonly dns_search?: readonly string[];
  readonly dns_opt?: readonly string[];
  readonly security_opt?: readonly string[];
  readonly group_add?: readonly string[];
  readonly ipc?: string;
  readonly pid?: string;
  readonly platform?: string;
  readonly memswap_limit?: number;
  readonly cap_add?: readonly string[];
  readonly cap_drop?: readonly string[];
  readonly privileged?: boolean;
  readonly read_only?: boolean;
  readonly shm_size?: number;
  readonly ulimits?: Readonly<Record<string, Ulimit>>;
  readonly sysctls?: Readonly<Record<string, string>>;
  readonly logging?: { readonly driver?: string; readonly options?: Readonly<Record<string, string>> };
  readonly tty?: boolean;
  readonly stdin_open?: boolean;
  readonly container_name?: string;
  readonly pull_policy?: 'always' | 'never' | 'missing' | 'build' | 'if_not_present';
  readonly profiles?: readonly string[];
}

export interface NetworkConfig {
  /** The name on the daemon (`<project>_<key>` unless `name:` or external). */
  readonly name: string;
  readonly driver?: string;
  readonly internal?: boolean;
  readonly external?: boolean;
  readonly ipam?: {
    readonly driver?: string;
    readonly config?: readonly { readonly subnet?: string; readonly gateway?: string; readonly ip_range?: string }[];
  };
  readonly driver_opts?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface VolumeConfig {
  readonly name: string;
  readonly driver?: string;
  readonly driver_opts?: Readonly<Record<string, string>>;
  readonly external?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Project {
  readonly name: string;
  readonly workingDir: string;
  /** Absolute paths of the files, in merge order. */
  readonly configFiles: readonly string[];
  /** Services enabled by the active profiles, by name. */
  readonly services: Readonly<Record<string, Service>>;
  /** Services left out by profiles (kept for `down --remove-orphans` not to treat them as orphans). */
  readonly disabled: readonly string[];
  readonly networks: Readonly<Record<string, NetworkConfig>>;
  readonly volumes: Readonly<Record<string, VolumeConfig>>;
  /** The variables interpolation saw (.env under the process environment). */
  readonly environment: Readonly<Record<string, string>>;
}

/** A compose file that cannot be used; the message names the file, the service and the key. */
export class ComposeError extends Error {}

/** Freezes a value and everything in it (the model is shared; nobody may change it). */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
