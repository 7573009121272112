/**
 * The labels that make a CRI sandbox or container readable to Docker-API clients, named as
 * cri-dockerd names them (so `docker ps --filter label=io.kubernetes.pod.name=web` finds a
 * pod's containers whichever runtime front end made them), and the Kubernetes label selector
 * the CRI's filters use. Pure functions; nothing here touches a service.
 */

export const K8S = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  sandboxId: 'io.kubernetes.sandbox.id',
  /** `podsandbox` on a sandbox's infra container, `container` on the others (cri-dockerd's). */
  type: 'io.kubernetes.docker.type',
  logPath: 'io.kubernetes.container.logpath',
} as const;

/**
 * Where the CRI's own view of an object is kept: one label (containers) or annotation (pods)
 * holding JSON. The labels and annotations the caller gave come back from it exactly, apart
 * from the identification labels above that Berth adds for Docker's clients.
 */
export const CRI_META = 'io.berth.cri';

/** The name Kubernetes gives a pod's infra container, and its containers (cri-dockerd's `k8s_` scheme). */
export function sandboxName(m: { name: string; namespace: string; uid: string; attempt: number }): string {
  return `k8s_POD_${m.name}_${m.namespace}_${m.uid}_${m.attempt}`;
}

export function containerName(
  c: { name: string; attempt: number },
  pod: { name: string; namespace: string; uid: string },
): string {
  return `k8s_${c.name}_${pod.name}_${pod.namespace}_${pod.uid}_${c.attempt}`;
}

/** A CRI `label_selector`: every key must be there with that value. */
export function matchesSelector(labels: Record<string, string>, selector: Record<string, string> | null): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

/**
 * An RFC 3339 time (with up to nine fraction digits, as Berth records them) in nanoseconds since
 * the epoch, as a decimal string (the CRI's int64); Go's zero time and an empty string are 0.
 */
export function nanos(time: string | undefined): string {
  if (!time || time.startsWith('0001-01-01')) return '0';
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) {
    const ms = Date.parse(time);
    return Number.isNaN(ms) ? '0' : String(BigInt(ms) * 1_000_000n);
  }
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  return String(seconds * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0')));
}
