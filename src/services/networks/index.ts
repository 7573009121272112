export { NetworkService, type NetworkListFilters } from './service.ts';
