/**
 * The typed, immutable model of a Kubernetes YAML file after parsing: the kinds `berth kube
 * play` runs (Pod, Deployment, DaemonSet, Job, ConfigMap, Secret, PersistentVolumeClaim,
 * Service) with the fields Berth supports, defaults applied, quantities turned into numbers.
 * Field names are Kubernetes' own, so a reader of the YAML finds them here. Everything that
 * was refused was refused while parsing (`parse.ts`), with its path and line; what is here is
 * all meant.
 */

/** A file that cannot be played; the message names the file, the line and the field's path. */
export class KubeError extends Error {}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Where an object starts in its file, for messages about it after parsing. */
export interface Source {
  readonly file: string;
  readonly line: number;
}

export interface KeyToPath {
  readonly key: string;
  readonly path: string;
  readonly mode?: number;
}

export type VolumeSource =
  | { readonly type: 'emptyDir'; readonly medium: '' | 'Memory'; readonly sizeLimit?: number }
  | {
      readonly type: 'hostPath';
      readonly path: string;
      /** '' (no check), DirectoryOrCreate, Directory, File, Socket. */
      readonly hostPathType: string;
    }
  | {
      readonly type: 'configMap';
      readonly name: string;
      readonly items?: readonly KeyToPath[];
      readonly defaultMode: number;
      readonly optional: boolean;
    }
  | {
      readonly type: 'secret';
      readonly secretName: string;
      readonly items?: readonly KeyToPath[];
      readonly defaultMode: number;
      readonly optional: boolean;
    }
  | { readonly type: 'persistentVolumeClaim'; readonly claimName: string; readonly readOnly: boolean };

export interface Volume {
  readonly name: string;
  readonly source: VolumeSource;
  readonly line: number;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

export type EnvSource =
  | { readonly value: string }
  | { readonly configMapKeyRef: { readonly name: string; readonly key: string; readonly optional: boolean } }
  | { readonly secretKeyRef: { readonly name: string; readonly key: string; readonly optional: boolean } }
  /** `metadata.name`, `metadata.namespace`, `metadata.labels['k']`, `metadata.annotations['k']`. */
  | { readonly fieldRef: { readonly fieldPath: string } }
  | { readonly resourceFieldRef: { readonly resource: string; readonly divisor?: number } };

export interface EnvVar {
  readonly name: string;
  readonly from: EnvSource;
}

export interface EnvFromSource {
  readonly prefix: string;
  readonly configMapRef?: { readonly name: string; readonly optional: boolean };
  readonly secretRef?: { readonly name: string; readonly optional: boolean };
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly hostPort?: number;
  readonly hostIP?: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** memory in bytes, cpu in millicores. */
export interface ResourceList {
  readonly memory?: number;
  readonly cpu?: number;
}

export interface SecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly privileged?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly capabilities?: { readonly add: readonly string[]; readonly drop: readonly string[] };
}

export type ProbeHandler =
  | { readonly exec: { readonly command: readonly string[] } }
  | {
      readonly httpGet: {
        readonly path: string;
        readonly port: number | string;
        readonly host?: string;
        readonly scheme: 'HTTP' | 'HTTPS';
        readonly httpHeaders: readonly { readonly name: string; readonly value: string }[];
      };
    }
  | { readonly tcpSocket: { readonly port: number | string; readonly host?: string } };

/** A probe with Kubernetes' defaults filled in (10 s period, 1 s timeout, 3 failures). */
export interface Probe {
  readonly handler: ProbeHandler;
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  /** Kubernetes' default: Always for `:latest` or no tag, else IfNotPresent. */
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly env: readonly EnvVar[];
  readonly envFrom: readonly EnvFromSource[];
  readonly ports: readonly ContainerPort[];
  readonly volumeMounts: readonly VolumeMount[];
  readonly resources: { readonly limits: ResourceList; readonly requests: ResourceList };
  readonly securityContext: SecurityContext;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly stdin: boolean;
  readonly stdinOnce: boolean;
  readonly tty: boolean;
  /** The path of this container in the file (`spec.containers[0]`), for messages. */
  readonly path: string;
  readonly line: number;
}

export interface PodSecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly supplementalGroups: readonly number[];
  readonly sysctls: readonly { readonly name: string; readonly value: string }[];
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers: readonly Container[];
  readonly volumes: readonly Volume[];
  readonly restartPolicy: 'Always' | 'OnFailure' | 'Never';
  readonly terminationGracePeriodSeconds?: number;
  readonly hostname?: string;
  readonly hostNetwork: boolean;
  readonly hostPID: boolean;
  readonly hostIPC: boolean;
  readonly shareProcessNamespace: boolean;
  readonly hostAliases: readonly { readonly ip: string; readonly hostnames: readonly string[] }[];
  readonly dnsConfig?: {
    readonly nameservers: readonly string[];
    readonly searches: readonly string[];
    readonly options: readonly { readonly name: string; readonly value?: string }[];
  };
  readonly securityContext: PodSecurityContext;
}

export interface PodTemplate {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: PodSpec;
}

interface Base {
  readonly apiVersion: string;
  readonly metadata: ObjectMeta;
  readonly source: Source;
}

export interface Pod extends Base {
  readonly kind: 'Pod';
  readonly spec: PodSpec;
}

export interface Deployment extends Base {
  readonly kind: 'Deployment';
  readonly replicas: number;
  readonly selector: Readonly<Record<string, string>>;
  readonly template: PodTemplate;
}

export interface DaemonSet extends Base {
  readonly kind: 'DaemonSet';
  readonly selector: Readonly<Record<string, string>>;
  readonly template: PodTemplate;
}

export interface Job extends Base {
  readonly kind: 'Job';
  /** Retries of a failing pod (Kubernetes' default 6): the container's restart count here. */
  readonly backoffLimit: number;
  readonly template: PodTemplate;
}

export interface ConfigMap extends Base {
  readonly kind: 'ConfigMap';
  /** Text values. */
  readonly data: Readonly<Record<string, string>>;
  /** Base64 values. */
  readonly binaryData: Readonly<Record<string, string>>;
}

export interface Secret extends Base {
  readonly kind: 'Secret';
  readonly type: string;
  /** Base64 values, `stringData` merged in (it wins, as in Kubernetes). */
  readonly data: Readonly<Record<string, string>>;
}

export interface PersistentVolumeClaim extends Base {
  readonly kind: 'PersistentVolumeClaim';
  /** `resources.requests.storage` in bytes: recorded, not enforced (local volumes have no size). */
  readonly storage?: number;
}

export interface ServicePort {
  readonly name?: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  readonly targetPort: number | string;
  readonly nodePort?: number;
}

export interface Service extends Base {
  readonly kind: 'Service';
  readonly type: 'NodePort';
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePort[];
}

export type Workload = Pod | Deployment | DaemonSet | Job;
export type KubeObject = Workload | ConfigMap | Secret | PersistentVolumeClaim | Service;
export type Kind = KubeObject['kind'];

/** A parsed file: its objects in file order. */
export interface KubeFile {
  readonly file: string;
  readonly objects: readonly KubeObject[];
}

/** `Kind/name`: how labels name the object that made a pod, container or volume. */
export function objectKey(o: { kind: string; metadata: { name: string } }): string {
  return `${o.kind}/${o.metadata.name}`;
}

/** Freezes a value and everything in it (the model is shared; nobody may change it). */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
