/**
 * Pods: containers sharing an infra process's namespaces (Podman's pods, the CRI's sandboxes),
 * as a service beside the container service.
 */
export { PodService, type PodServiceDeps } from './service.ts';
export { InfraImage } from './infra.ts';
export { POD_LABELS, type PodRecord } from './types.ts';
export { podStatus, parseShare, portBindings, memberRequest, type PodStatus } from './state.ts';
export { podFilter, POD_FILTERS, type PodFilterDeps } from './filter.ts';
