/**
 * The daemon as a whole: version, info, disk usage, registry logins, the event stream.
 * Methods of `EngineClient` (put on it in client.ts, as moby's client keeps one file per
 * resource).
 */
import { jsonValues } from './jsonstream.ts';
import { encodeFilters } from './wire.ts';
import type { EngineClient } from './client.ts';
import type * as T from '../api/types/index.ts';

/** An event as `EngineClient.events` yields it: `timeNano` as its decimal digits, all 19 of them. */
export type StreamedEvent = Omit<T.EventMessage, 'timeNano'> & { timeNano: string };

export const systemCalls = {
  systemVersion(this: EngineClient): Promise<T.SystemVersion> {
    return this.json('GET', '/version');
  },

  systemInfo(this: EngineClient): Promise<T.SystemInfo> {
    return this.json('GET', '/info');
  },

  systemDf(this: EngineClient): Promise<T.DiskUsage> {
    return this.json('GET', '/system/df');
  },

  /** Logs in to a registry through the daemon: `{Status, IdentityToken}`. */
  auth(this: EngineClient, config: T.AuthConfig): Promise<T.AuthResponse> {
    return this.json('POST', '/auth', { json: config });
  },

  /**
   * Engine events; ends when `until` passes or the signal aborts. `timeNano` comes as a decimal
   * string so that no digit is lost.
   */
  async events(
    this: EngineClient,
    opts: { since?: string; until?: string; filters?: T.Filters; signal?: AbortSignal } = {},
  ): Promise<AsyncGenerator<StreamedEvent>> {
    const res = await this.request('GET', '/events', {
      query: { since: opts.since, until: opts.until, filters: encodeFilters(opts.filters) },
      signal: opts.signal,
    });
    return jsonValues<StreamedEvent>(res, (text) => text.replace(/"timeNano"\s*:\s*(\d+)/, '"timeNano":"$1"'));
  },
};
