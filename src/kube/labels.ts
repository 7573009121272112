/**
 * The labels `kube play` puts on what it makes, so that `kube play --down FILE` (and a second
 * play of the same file, which replaces) finds it by the file's objects, never by name, and
 * `kube generate` can tell a pod's own parts from the image's and the user's.
 */
export const LABELS = {
  /** `Kind/name` of the object in the file that made a pod, container or volume. */
  object: 'io.berth.kube.object',
  /** The pod a container or a pod-scoped volume belongs to. */
  pod: 'io.berth.kube.pod',
  /** The container's name in the pod spec (the container itself is `<pod>-<name>`). */
  container: 'io.berth.kube.container',
  /** An init container's place in `initContainers` (0, 1, ...). */
  init: 'io.berth.kube.init',
  /** Which probe the health check came from: liveness or readiness. */
  probe: 'io.berth.kube.probe',
  /** A pod-scoped volume's name in the pod spec, and the kind of source it was. */
  volume: 'io.berth.kube.volume',
  volumeType: 'io.berth.kube.volume-type',
  /**
   * What an unhealthy container asks for (`restart`: a failed liveness probe restarts it, as
   * the kubelet does). Not Kubernetes-specific: Docker's API has no field for it, so it travels
   * as a label the daemon's health monitor can act on.
   */
  healthOnFailure: 'io.berth.health-on-failure',
} as const;

/** The labels that are Berth's bookkeeping rather than the user's (left out of generated YAML). */
export function isBerthLabel(key: string): boolean {
  return key.startsWith('io.berth.');
}
