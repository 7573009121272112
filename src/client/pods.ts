/** Pods, over Libpod's `/libpod/pods/...` endpoints (Berth's and Podman's). Methods of `EngineClient`. */
import { encodeFilters, enc } from './wire.ts';
import type { EngineClient } from './client.ts';
import type * as T from '../api/types/index.ts';

export const podCalls = {
  podCreate(this: EngineClient, body: T.PodCreateRequest): Promise<{ Id: string }> {
    return this.json('POST', '/libpod/pods/create', { json: body });
  },

  podList(this: EngineClient, filters?: T.Filters): Promise<T.PodListEntry[]> {
    return this.json('GET', '/libpod/pods/json', { query: { filters: encodeFilters(filters) } });
  },

  podInspect(this: EngineClient, name: string): Promise<T.PodInspectReport> {
    return this.json('GET', `/libpod/pods/${enc(name)}/json`);
  },

  podInspectRaw(this: EngineClient, name: string): Promise<{ value: T.PodInspectReport; raw: string }> {
    return this.jsonRaw('GET', `/libpod/pods/${enc(name)}/json`);
  },

  /** start, stop, restart, kill, pause, unpause. A pod already in the state answers 304: `undefined`. */
  podAction(
    this: EngineClient,
    name: string,
    action: 'start' | 'stop' | 'restart' | 'kill' | 'pause' | 'unpause',
    query: Record<string, string | number | undefined> = {},
  ): Promise<T.PodActionReport | undefined> {
    return this.json('POST', `/libpod/pods/${enc(name)}/${action}`, { query });
  },

  /** `timeout` (with `force`): seconds each running container gets to stop before it is killed and removed. */
  podRemove(this: EngineClient, name: string, force = false, timeout?: number): Promise<T.PodRmReport> {
    return this.json('DELETE', `/libpod/pods/${enc(name)}`, { query: { force: force || undefined, timeout } });
  },

  podPrune(this: EngineClient): Promise<T.PodPruneReport[]> {
    return this.json('POST', '/libpod/pods/prune');
  },

  podTop(this: EngineClient, name: string, psArgs?: string): Promise<T.ContainerTop> {
    return this.json('GET', `/libpod/pods/${enc(name)}/top`, { query: { ps_args: psArgs } });
  },
};
