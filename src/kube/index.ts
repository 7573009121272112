/**
 * Kubernetes YAML in Berth (`berth kube play|generate|down`): parse a file into a frozen model
 * (refusing what Berth does not run, by path and line), plan what it makes through the Engine
 * API and the pods seam, run or undo a plan, and generate YAML from containers and pods.
 */
export * from './model.ts';
export { parseKube, defaultPullPolicy } from './parse.ts';
export { parseQuantity, formatBytes, formatMillis } from './quantity.ts';
export { healthcheckFor, probeFromHealthcheck } from './probe.ts';
export { LABELS, isBerthLabel } from './labels.ts';
export { expand } from './container.ts';
export {
  planPlay,
  type Plan,
  type PlanOptions,
  type PodPlan,
  type ContainerPlan,
  type VolumePlan,
  type VolumeFile,
} from './plan.ts';
export type { PodBackend, PodCreateSpec, PodInspect, PodSummary, PortMapping } from './pods.ts';
export {
  generateKube,
  kubeYaml,
  escapeExpansion,
  dnsLabel,
  isValidLabel,
  type GenerateSource,
  type GenerateMember,
  type GenerateOptions,
  type Generated,
  type KubeDoc,
} from './generate.ts';
export {
  KubePlayer,
  PodsUnavailableError,
  filesTar,
  splitReference,
  type KubeClient,
  type KubeReporter,
  type KubeResource,
  type PlayResult,
} from './play.ts';
