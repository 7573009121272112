export { VolumeService, type VolumeListFilters } from './service.ts';
export {
  planMounts,
  parseBind,
  parseMount,
  parseTmpfs,
  parseVolumesFrom,
  mountsView,
  type MountPoint,
  type PlannedMount,
  type MountInputs,
} from './mounts.ts';
