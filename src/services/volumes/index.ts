export { VolumeService, type VolumeView, type CreateVolumeRequest, type VolumeListFilters } from './service.ts';
