/** Volumes: list, inspect, create, remove, prune. Methods of `EngineClient`. */
import { encodeFilters, enc } from './wire.ts';
import type { EngineClient } from './client.ts';
import type * as T from '../api/types/index.ts';

export const volumeCalls = {
  volumeList(this: EngineClient, filters?: T.Filters): Promise<T.VolumeListResponse> {
    return this.json('GET', '/volumes', { query: { filters: encodeFilters(filters) } });
  },

  volumeInspect(this: EngineClient, name: string): Promise<T.Volume> {
    return this.json('GET', `/volumes/${enc(name)}`);
  },

  volumeInspectRaw(this: EngineClient, name: string): Promise<{ value: T.Volume; raw: string }> {
    return this.jsonRaw('GET', `/volumes/${enc(name)}`);
  },

  volumeCreate(this: EngineClient, body: T.VolumeCreateRequest): Promise<T.Volume> {
    return this.json('POST', '/volumes/create', { json: body });
  },

  async volumeRemove(this: EngineClient, name: string, force = false): Promise<void> {
    await this.empty('DELETE', `/volumes/${enc(name)}`, { query: { force: force || undefined } });
  },

  volumePrune(this: EngineClient, filters?: T.Filters): Promise<T.VolumePruneReport> {
    return this.json('POST', '/volumes/prune', { query: { filters: encodeFilters(filters) } });
  },
};
