/**
 * The part of the Kubernetes API that `berth kube play` runs, as shapes for `shape.ts`: every
 * field listed is acted on, except those marked `ignored` (output-only fields such as `status`
 * and server-set metadata, and rollout knobs with no meaning when a file is played whole on one
 * host); every field not listed, or marked `unsupported` and not empty, is refused with its path
 * and line. Field names and value rules follow the Kubernetes API (core/v1, apps/v1, batch/v1).
 */
import {
  bool,
  ignored,
  int,
  intOrString,
  listOf,
  obj,
  oneOf,
  quantity,
  str,
  stringList,
  stringMap,
  unsupported,
  type Shape,
} from './shape.ts';

/** RFC 1123 label: container, volume and port-holder names, namespaces, hostnames. */
export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: object names. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_WHAT =
  "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const SUBDOMAIN_WHAT =
  "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
/** A named port (IANA service name). */
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BASE64 = /^[A-Za-z0-9+/\n\r]*={0,2}[\n\r]*$/;

const dnsLabel = str(DNS_LABEL, LABEL_WHAT);
const objectName = str(DNS_SUBDOMAIN, SUBDOMAIN_WHAT);
const port = int(1, 65535);
const protocol = oneOf('TCP', 'UDP', 'SCTP');
const base64Map: Shape = { t: 'map', values: str(BASE64, 'must be base64') };

export const METADATA = obj(
  {
    name: objectName,
    namespace: dnsLabel,
    labels: stringMap,
    annotations: stringMap,
    // set by the API server; a file saved from `kubectl get -o yaml` carries them
    uid: ignored,
    resourceVersion: ignored,
    creationTimestamp: ignored,
    generation: ignored,
    managedFields: ignored,
    selfLink: ignored,
    generateName: unsupported,
    ownerReferences: unsupported,
    finalizers: unsupported,
    deletionTimestamp: unsupported,
    deletionGracePeriodSeconds: unsupported,
  },
  ['name'],
);

const optionalRef = obj({ name: objectName, optional: bool }, ['name']);
const keyRef = obj({ name: objectName, key: str(), optional: bool }, ['name', 'key']);
const keyToPath = obj({ key: str(), path: str(), mode: int(0, 0o777) }, ['key', 'path']);

const PROBE = obj({
  exec: obj({ command: stringList }, ['command']),
  httpGet: obj(
    {
      path: str(),
      port: intOrString,
      host: str(),
      scheme: oneOf('HTTP', 'HTTPS'),
      httpHeaders: listOf(obj({ name: str(), value: str() }, ['name', 'value'])),
    },
    ['port'],
  ),
  tcpSocket: obj({ port: intOrString, host: str() }, ['port']),
  grpc: unsupported,
  initialDelaySeconds: int(0),
  periodSeconds: int(1),
  timeoutSeconds: int(1),
  failureThreshold: int(1),
  // one health check per container: it turns healthy on its first success
  successThreshold: int(1, 1),
  terminationGracePeriodSeconds: unsupported,
});

const RESOURCE_LIST = obj({ memory: quantity, cpu: quantity });

const CONTAINER = obj(
  {
    name: dnsLabel,
    image: str(),
    imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
    command: stringList,
    args: stringList,
    workingDir: str(),
    ports: listOf(
      obj(
        {
          name: str(PORT_NAME, 'must be an IANA service name (at most 15 lower case letters, digits and "-")'),
          containerPort: port,
          hostPort: port,
          hostIP: str(),
          protocol,
        },
        ['containerPort'],
      ),
    ),
    env: listOf(
      obj(
        {
          name: str(/^[^=]+$/, 'must not contain "="'),
          value: str(),
          valueFrom: obj({
            configMapKeyRef: keyRef,
            secretKeyRef: keyRef,
            fieldRef: obj({ fieldPath: str(), apiVersion: str() }, ['fieldPath']),
            resourceFieldRef: obj({ resource: str(), containerName: str(), divisor: quantity }, ['resource']),
          }),
        },
        ['name'],
      ),
    ),
    envFrom: listOf(obj({ prefix: str(), configMapRef: optionalRef, secretRef: optionalRef })),
    volumeMounts: listOf(
      obj(
        {
          name: str(),
          mountPath: str(/^\//, 'must be an absolute path'),
          readOnly: bool,
          subPath: unsupported,
          subPathExpr: unsupported,
          mountPropagation: oneOf('None'),
          recursiveReadOnly: unsupported,
        },
        ['name', 'mountPath'],
      ),
    ),
    resources: obj({ limits: RESOURCE_LIST, requests: RESOURCE_LIST, claims: unsupported }),
    securityContext: obj({
      runAsUser: int(0),
      runAsGroup: int(0),
      runAsNonRoot: bool,
      privileged: bool,
      readOnlyRootFilesystem: bool,
      allowPrivilegeEscalation: bool,
      capabilities: obj({ add: stringList, drop: stringList }),
      procMount: oneOf('Default'),
      seLinuxOptions: unsupported,
      seccompProfile: unsupported,
      appArmorProfile: unsupported,
      windowsOptions: unsupported,
    }),
    livenessProbe: PROBE,
    readinessProbe: PROBE,
    startupProbe: unsupported,
    lifecycle: unsupported,
    stdin: bool,
    stdinOnce: bool,
    tty: bool,
    // where the kubelet would write a termination message: nothing reads it here
    terminationMessagePath: ignored,
    terminationMessagePolicy: ignored,
    volumeDevices: unsupported,
    resizePolicy: unsupported,
    restartPolicy: unsupported,
  },
  ['name', 'image'],
);

const VOLUME = obj(
  {
    name: dnsLabel,
    emptyDir: obj({ medium: oneOf('', 'Memory'), sizeLimit: quantity }),
    hostPath: obj(
      {
        path: str(/^\//, 'must be an absolute path'),
        type: oneOf('', 'DirectoryOrCreate', 'Directory', 'File', 'Socket'),
      },
      ['path'],
    ),
    configMap: obj({ name: objectName, items: listOf(keyToPath), defaultMode: int(0, 0o777), optional: bool }, [
      'name',
    ]),
    secret: obj({ secretName: objectName, items: listOf(keyToPath), defaultMode: int(0, 0o777), optional: bool }, [
      'secretName',
    ]),
    persistentVolumeClaim: obj({ claimName: objectName, readOnly: bool }, ['claimName']),
  },
  ['name'],
);

export const POD_SPEC = obj(
  {
    containers: listOf(CONTAINER),
    initContainers: listOf(CONTAINER),
    volumes: listOf(VOLUME),
    restartPolicy: oneOf('Always', 'OnFailure', 'Never'),
    terminationGracePeriodSeconds: int(0),
    hostname: dnsLabel,
    hostNetwork: bool,
    hostPID: bool,
    hostIPC: bool,
    shareProcessNamespace: bool,
    hostAliases: listOf(obj({ ip: str(), hostnames: stringList }, ['ip'])),
    dnsConfig: obj({
      nameservers: stringList,
      searches: stringList,
      options: listOf(obj({ name: str(), value: str() }, ['name'])),
    }),
    // the daemon's DNS is every pod's: the policies differ only inside a cluster
    dnsPolicy: oneOf('ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'),
    securityContext: obj({
      runAsUser: int(0),
      runAsGroup: int(0),
      runAsNonRoot: bool,
      supplementalGroups: listOf(int(0)),
      sysctls: listOf(obj({ name: str(), value: str() }, ['name', 'value'])),
      fsGroup: unsupported,
      fsGroupChangePolicy: unsupported,
      seLinuxOptions: unsupported,
      seccompProfile: unsupported,
      appArmorProfile: unsupported,
      windowsOptions: unsupported,
      supplementalGroupsPolicy: unsupported,
    }),
    // one node, no scheduler, no service accounts: only the values that change nothing
    schedulerName: oneOf('default-scheduler'),
    serviceAccountName: oneOf('default'),
    serviceAccount: oneOf('default'),
    automountServiceAccountToken: bool,
    enableServiceLinks: { t: 'bool', only: false },
    setHostnameAsFQDN: { t: 'bool', only: false },
    hostUsers: { t: 'bool', only: true },
    nodeSelector: unsupported,
    nodeName: unsupported,
    affinity: unsupported,
    tolerations: unsupported,
    topologySpreadConstraints: unsupported,
    priority: unsupported,
    priorityClassName: unsupported,
    preemptionPolicy: unsupported,
    runtimeClassName: unsupported,
    overhead: unsupported,
    readinessGates: unsupported,
    imagePullSecrets: unsupported,
    activeDeadlineSeconds: unsupported,
    subdomain: unsupported,
    os: unsupported,
    ephemeralContainers: unsupported,
    resourceClaims: unsupported,
    schedulingGates: unsupported,
    resources: unsupported,
  },
  ['containers'],
);

const TEMPLATE = obj(
  {
    metadata: obj({
      labels: stringMap,
      annotations: stringMap,
      name: ignored,
      namespace: ignored,
      creationTimestamp: ignored,
    }),
    spec: POD_SPEC,
  },
  ['spec'],
);

const SELECTOR = obj({ matchLabels: stringMap, matchExpressions: unsupported });

const top = (apiVersion: string, kind: string, fields: Record<string, Shape>, required: string[] = []): Shape =>
  obj({ apiVersion: oneOf(apiVersion), kind: oneOf(kind), metadata: METADATA, status: ignored, ...fields }, [
    'apiVersion',
    'kind',
    'metadata',
    ...required,
  ]);

/** The shape of each supported kind, by `kind`. */
export const KINDS: Readonly<Record<string, Shape>> = {
  Pod: top('v1', 'Pod', { spec: POD_SPEC }, ['spec']),
  Deployment: top(
    'apps/v1',
    'Deployment',
    {
      spec: obj(
        {
          replicas: int(0),
          selector: SELECTOR,
          template: TEMPLATE,
          // rollouts: playing a file replaces its pods whole
          strategy: ignored,
          minReadySeconds: ignored,
          revisionHistoryLimit: ignored,
          progressDeadlineSeconds: ignored,
          paused: { t: 'bool', only: false },
        },
        ['selector', 'template'],
      ),
    },
    ['spec'],
  ),
  DaemonSet: top(
    'apps/v1',
    'DaemonSet',
    {
      spec: obj(
        {
          selector: SELECTOR,
          template: TEMPLATE,
          updateStrategy: ignored,
          minReadySeconds: ignored,
          revisionHistoryLimit: ignored,
        },
        ['selector', 'template'],
      ),
    },
    ['spec'],
  ),
  Job: top(
    'batch/v1',
    'Job',
    {
      spec: obj(
        {
          template: TEMPLATE,
          backoffLimit: int(0),
          completions: int(1, 1),
          parallelism: int(1, 1),
          completionMode: oneOf('NonIndexed'),
          suspend: { t: 'bool', only: false },
          activeDeadlineSeconds: unsupported,
          ttlSecondsAfterFinished: unsupported,
          selector: unsupported,
          manualSelector: unsupported,
          podFailurePolicy: unsupported,
          podReplacementPolicy: unsupported,
          backoffLimitPerIndex: unsupported,
          maxFailedIndexes: unsupported,
          successPolicy: unsupported,
        },
        ['template'],
      ),
    },
    ['spec'],
  ),
  ConfigMap: top('v1', 'ConfigMap', { data: stringMap, binaryData: base64Map, immutable: ignored }),
  Secret: top('v1', 'Secret', { data: base64Map, stringData: stringMap, type: str(), immutable: ignored }),
  PersistentVolumeClaim: top(
    'v1',
    'PersistentVolumeClaim',
    {
      spec: obj({
        accessModes: listOf(oneOf('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')),
        resources: obj({ requests: obj({ storage: quantity }), limits: unsupported }),
        // one host, one volume driver: every class is the local one
        storageClassName: ignored,
        volumeMode: oneOf('Filesystem'),
        volumeName: unsupported,
        selector: unsupported,
        dataSource: unsupported,
        dataSourceRef: unsupported,
        volumeAttributesClassName: unsupported,
      }),
    },
    [],
  ),
  Service: top(
    'v1',
    'Service',
    {
      spec: obj({
        type: oneOf('NodePort'),
        selector: stringMap,
        ports: listOf(
          obj({ name: str(), protocol, port, targetPort: intOrString, nodePort: port, appProtocol: ignored }, ['port']),
        ),
        // cluster addresses and traffic policies: there is no cluster network to apply them to
        clusterIP: ignored,
        clusterIPs: ignored,
        ipFamilies: ignored,
        ipFamilyPolicy: ignored,
        externalTrafficPolicy: ignored,
        internalTrafficPolicy: ignored,
        sessionAffinity: oneOf('None'),
        externalIPs: unsupported,
        externalName: unsupported,
        loadBalancerIP: unsupported,
        loadBalancerSourceRanges: unsupported,
        publishNotReadyAddresses: unsupported,
        healthCheckNodePort: unsupported,
        allocateLoadBalancerNodePorts: unsupported,
        trafficDistribution: unsupported,
      }),
    },
    ['spec'],
  ),
};

/** The apiVersion each kind is read under. */
export const API_VERSIONS: Readonly<Record<string, string>> = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  PersistentVolumeClaim: 'v1',
  Service: 'v1',
};
