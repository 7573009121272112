/** Networks: list, inspect, create, remove, connect, disconnect, prune. Methods of `EngineClient`. */
import { encodeFilters, enc } from './wire.ts';
import type { EngineClient } from './client.ts';
import type * as T from '../api/types/index.ts';

export const networkCalls = {
  networkList(this: EngineClient, filters?: T.Filters): Promise<T.Network[]> {
    return this.json('GET', '/networks', { query: { filters: encodeFilters(filters) } });
  },

  networkInspect(this: EngineClient, id: string, opts: { verbose?: boolean; scope?: string } = {}): Promise<T.Network> {
    return this.json('GET', `/networks/${enc(id)}`, {
      query: { verbose: opts.verbose || undefined, scope: opts.scope },
    });
  },

  networkInspectRaw(
    this: EngineClient,
    id: string,
    opts: { verbose?: boolean } = {},
  ): Promise<{ value: T.Network; raw: string }> {
    return this.jsonRaw('GET', `/networks/${enc(id)}`, { query: { verbose: opts.verbose || undefined } });
  },

  networkCreate(this: EngineClient, body: T.NetworkCreateRequest): Promise<T.NetworkCreateResponse> {
    return this.json('POST', '/networks/create', { json: body });
  },

  async networkRemove(this: EngineClient, id: string): Promise<void> {
    await this.empty('DELETE', `/networks/${enc(id)}`);
  },

  async networkConnect(
    this: EngineClient,
    network: string,
    container: string,
    endpoint?: T.EndpointSettings,
  ): Promise<void> {
    const body: T.NetworkConnectRequest = { Container: container, EndpointConfig: endpoint };
    await this.empty('POST', `/networks/${enc(network)}/connect`, { json: body });
  },

  async networkDisconnect(this: EngineClient, network: string, container: string, force = false): Promise<void> {
    const body: T.NetworkDisconnectRequest = { Container: container, Force: force };
    await this.empty('POST', `/networks/${enc(network)}/disconnect`, { json: body });
  },

  networkPrune(this: EngineClient, filters?: T.Filters): Promise<T.NetworkPruneReport> {
    return this.json('POST', '/networks/prune', { query: { filters: encodeFilters(filters) } });
  },
};
