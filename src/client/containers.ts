/**
 * Containers: create, list, inspect, the lifecycle, wait, logs and attach, archive, stats,
 * commit. Methods of `EngineClient` (put on it in client.ts).
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.ts';
import { jsonValues } from './jsonstream.ts';
import { encodeFilters, enc, decodePathStat, readAll, drain } from './wire.ts';
import type { EngineClient, Body, HijackedStream } from './client.ts';
import type * as T from '../api/types/index.ts';

export interface WaitHandle {
  /** Resolves with the exit status once the condition is met. */
  readonly result: Promise<T.WaitResponse>;
  cancel(): void;
}

export const containerCalls = {
  containerList(
    this: EngineClient,
    opts: { all?: boolean; limit?: number; size?: boolean; filters?: T.Filters } = {},
  ): Promise<T.ContainerSummary[]> {
    return this.json('GET', '/containers/json', {
      query: {
        all: opts.all || undefined,
        limit: opts.limit,
        size: opts.size || undefined,
        filters: encodeFilters(opts.filters),
      },
    });
  },

  containerCreate(
    this: EngineClient,
    body: T.ContainerCreateRequest,
    opts: { name?: string; platform?: string; pod?: string; initCtr?: 'always' } = {},
  ): Promise<T.ContainerCreateResponse> {
    return this.json('POST', '/containers/create', {
      query: { name: opts.name, platform: opts.platform, pod: opts.pod, init_ctr: opts.initCtr },
      json: body,
    });
  },

  containerInspect(this: EngineClient, id: string, opts: { size?: boolean } = {}): Promise<T.ContainerInspect> {
    return this.json('GET', `/containers/${enc(id)}/json`, { query: { size: opts.size || undefined } });
  },

  containerInspectRaw(
    this: EngineClient,
    id: string,
    opts: { size?: boolean } = {},
  ): Promise<{ value: T.ContainerInspect; raw: string }> {
    return this.jsonRaw('GET', `/containers/${enc(id)}/json`, { query: { size: opts.size || undefined } });
  },

  async containerStart(this: EngineClient, id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/start`, { query: { detachKeys: opts.detachKeys } });
  },

  async containerStop(this: EngineClient, id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/stop`, { query: { t: opts.timeout, signal: opts.signal } });
  },

  async containerRestart(
    this: EngineClient,
    id: string,
    opts: { timeout?: number; signal?: string } = {},
  ): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/restart`, { query: { t: opts.timeout, signal: opts.signal } });
  },

  async containerKill(this: EngineClient, id: string, signal?: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/kill`, { query: { signal } });
  },

  async containerPause(this: EngineClient, id: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/pause`);
  },

  async containerUnpause(this: EngineClient, id: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/unpause`);
  },

  /**
   * Registers a wait (`not-running`, `next-exit` or `removed`). The promise resolves once the
   * daemon has answered the headers, i.e. the wait is in place (dockerd and berthd flush them at
   * once): start the container after it. A daemon that holds its headers back is given
   * `registerMs` before the caller goes on; its answer still arrives through `result`.
   */
  async containerWait(
    this: EngineClient,
    id: string,
    condition?: 'not-running' | 'next-exit' | 'removed',
    registerMs = 2000,
  ): Promise<WaitHandle> {
    const ac = new AbortController();
    const response = this.request('POST', `/containers/${enc(id)}/wait`, { query: { condition }, signal: ac.signal });
    const result = response.then(async (res) => {
      const text = (await readAll(res)).toString('utf8').trim();
      if (!text) throw new ApiError(500, `wait for container ${id}: the daemon closed the connection without a status`);
      const r = JSON.parse(text) as T.WaitResponse & { message?: string };
      if (r.StatusCode === undefined && r.message) throw new ApiError(500, r.message);
      return r;
    });
    result.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const held = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, registerMs);
      timer.unref();
    });
    try {
      await Promise.race([response, held]);
    } finally {
      clearTimeout(timer);
    }
    return { result, cancel: () => ac.abort() };
  },

  async containerRemove(
    this: EngineClient,
    id: string,
    opts: { force?: boolean; volumes?: boolean; link?: boolean } = {},
  ): Promise<void> {
    await this.empty('DELETE', `/containers/${enc(id)}`, {
      query: { force: opts.force || undefined, v: opts.volumes || undefined, link: opts.link || undefined },
    });
  },

  async containerRename(this: EngineClient, id: string, name: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/rename`, { query: { name } });
  },

  containerTop(this: EngineClient, id: string, psArgs?: string): Promise<T.ContainerTop> {
    return this.json('GET', `/containers/${enc(id)}/top`, { query: { ps_args: psArgs } });
  },

  /** Log bytes: multiplexed (see `demux`) unless the container has a TTY. */
  containerLogs(
    this: EngineClient,
    id: string,
    opts: {
      stdout?: boolean;
      stderr?: boolean;
      follow?: boolean;
      timestamps?: boolean;
      tail?: string;
      since?: string;
      until?: string;
      details?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<IncomingMessage> {
    return this.request('GET', `/containers/${enc(id)}/logs`, {
      query: {
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        follow: opts.follow || undefined,
        timestamps: opts.timestamps || undefined,
        tail: opts.tail,
        since: opts.since,
        until: opts.until,
        details: opts.details || undefined,
      },
      signal: opts.signal,
    });
  },

  containerAttach(
    this: EngineClient,
    id: string,
    opts: { stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string } = {},
  ): Promise<HijackedStream> {
    return this.hijack('POST', `/containers/${enc(id)}/attach`, {
      query: {
        stream: true,
        stdin: opts.stdin || undefined,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        logs: opts.logs || undefined,
        detachKeys: opts.detachKeys,
      },
    });
  },

  async containerResize(this: EngineClient, id: string, height: number, width: number): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/resize`, { query: { h: height, w: width } });
  },

  containerUpdate(this: EngineClient, id: string, body: T.ContainerUpdateRequest): Promise<T.ContainerUpdateResponse> {
    return this.json('POST', `/containers/${encodeURIComponent(id)}/update`, { json: body });
  },

  containerChanges(this: EngineClient, id: string): Promise<T.FilesystemChange[] | null> {
    return this.json('GET', `/containers/${enc(id)}/changes`);
  },

  /** `docker checkpoint create`: `exit` false leaves the container running. */
  async checkpointCreate(this: EngineClient, id: string, name: string, opts: { exit?: boolean } = {}): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/checkpoints`, {
      json: { CheckpointID: name, Exit: opts.exit ?? true } satisfies T.CheckpointCreateRequest,
    });
  },

  /** `docker start --checkpoint`. */
  async containerStartFromCheckpoint(this: EngineClient, id: string, checkpoint: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/start`, { query: { checkpoint } });
  },

  /** Berth's own: a container with its checkpoint and file system changes, as one tar. */
  checkpointExport(this: EngineClient, id: string, name: string): Promise<IncomingMessage> {
    return this.request('GET', `/berth/v1/containers/${enc(id)}/checkpoints/${enc(name)}/export`, {
      unversioned: true,
    });
  },

  /** Berth's own: a container made from an exported checkpoint, ready to start from it. */
  checkpointImport(
    this: EngineClient,
    source: Body,
    opts: { name?: string } = {},
  ): Promise<{ Id: string; Checkpoint: string }> {
    return this.json('POST', '/berth/v1/containers/checkpoints/import', {
      query: { name: opts.name },
      body: source,
      headers: { 'Content-Type': 'application/x-tar' },
      unversioned: true,
    });
  },

  /** The container's filesystem as a tar stream. */
  containerExport(this: EngineClient, id: string): Promise<IncomingMessage> {
    return this.request('GET', `/containers/${enc(id)}/export`);
  },

  containerStats(this: EngineClient, id: string, opts: { oneShot?: boolean } = {}): Promise<T.StatsResponse> {
    return this.json('GET', `/containers/${enc(id)}/stats`, {
      query: { stream: false, 'one-shot': opts.oneShot || undefined },
    });
  },

  /** Streaming stats, one sample a second. */
  async containerStatsStream(
    this: EngineClient,
    id: string,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<T.StatsResponse>> {
    const res = await this.request('GET', `/containers/${enc(id)}/stats`, { query: { stream: true }, signal });
    return jsonValues<T.StatsResponse>(res);
  },

  containerPrune(this: EngineClient, filters?: T.Filters): Promise<T.ContainerPruneReport> {
    return this.json('POST', '/containers/prune', { query: { filters: encodeFilters(filters) } });
  },

  /** Stat of a path inside a container (HEAD archive); undefined fields when absent. */
  async containerStatPath(this: EngineClient, id: string, path: string): Promise<T.PathStat> {
    const res = await this.request('HEAD', `/containers/${enc(id)}/archive`, { query: { path } });
    await drain(res);
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  },

  /** A tar of `path` inside the container, and the stat of `path`. */
  async containerGetArchive(
    this: EngineClient,
    id: string,
    path: string,
  ): Promise<{ tar: IncomingMessage; stat: T.PathStat }> {
    const tar = await this.request('GET', `/containers/${enc(id)}/archive`, { query: { path } });
    return { tar, stat: decodePathStat(tar.headers['x-docker-container-path-stat']) };
  },

  /** Extracts a tar into the directory `path` inside the container. */
  async containerPutArchive(
    this: EngineClient,
    id: string,
    path: string,
    tar: Body,
    opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {},
  ): Promise<void> {
    await this.empty('PUT', `/containers/${enc(id)}/archive`, {
      query: {
        path,
        noOverwriteDirNonDir: opts.noOverwriteDirNonDir || undefined,
        copyUIDGID: opts.copyUIDGID || undefined,
      },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  },

  containerCommit(
    this: EngineClient,
    container: string,
    opts: {
      repo?: string;
      tag?: string;
      comment?: string;
      author?: string;
      pause?: boolean;
      changes?: string[];
      config?: T.ContainerConfig;
    } = {},
  ): Promise<T.IdResponse> {
    return this.json('POST', '/commit', {
      query: {
        container,
        repo: opts.repo,
        tag: opts.tag,
        comment: opts.comment,
        author: opts.author,
        pause: opts.pause ?? true,
        changes: opts.changes,
      },
      json: opts.config ?? {},
    });
  },
};
