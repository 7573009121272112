/**
 * Images: list, inspect, history, tag, remove, prune; pull, push, import, load and save;
 * the legacy builder and its cache; Berth's offline bootstrap. Methods of `EngineClient`
 * (put on it in client.ts).
 */
import type { IncomingMessage } from 'node:http';
import { encodeFilters, encodeAuth, encName } from './wire.ts';
import type { EngineClient, Body } from './client.ts';
import type * as T from '../api/types/index.ts';

/** `imageBuild`'s options: the legacy builder's query parameters. */
export interface BuildOptions {
  tags?: string[];
  dockerfile?: string;
  quiet?: boolean;
  noCache?: boolean;
  remove?: boolean;
  forceRemove?: boolean;
  pull?: boolean;
  target?: string;
  platform?: string;
  networkMode?: string;
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  cacheFrom?: string[];
  extraHosts?: string[];
  shmSize?: number;
  memory?: number;
  remote?: string;
  registryConfig?: Record<string, T.AuthConfig>;
  /** `--secret`s: ID → base64 content, in Berth's build-secrets header */
  secrets?: Record<string, string>;
}

export const imageCalls = {
  imageList(
    this: EngineClient,
    opts: { all?: boolean; filters?: T.Filters; digests?: boolean } = {},
  ): Promise<T.ImageSummary[]> {
    return this.json('GET', '/images/json', {
      query: { all: opts.all || undefined, filters: encodeFilters(opts.filters), digests: opts.digests || undefined },
    });
  },

  imageInspect(this: EngineClient, name: string): Promise<T.ImageInspect> {
    return this.json('GET', `/images/${encName(name)}/json`);
  },

  imageInspectRaw(this: EngineClient, name: string): Promise<{ value: T.ImageInspect; raw: string }> {
    return this.jsonRaw('GET', `/images/${encName(name)}/json`);
  },

  imageHistory(this: EngineClient, name: string): Promise<T.HistoryItem[]> {
    return this.json('GET', `/images/${encName(name)}/history`);
  },

  async imageTag(this: EngineClient, source: string, repo: string, tag?: string): Promise<void> {
    await this.empty('POST', `/images/${encName(source)}/tag`, { query: { repo, tag } });
  },

  imageRemove(
    this: EngineClient,
    name: string,
    opts: { force?: boolean; noprune?: boolean } = {},
  ): Promise<T.ImageDeleteItem[]> {
    return this.json('DELETE', `/images/${encName(name)}`, {
      query: { force: opts.force || undefined, noprune: opts.noprune || undefined },
    });
  },

  imagePrune(this: EngineClient, filters?: T.Filters): Promise<T.ImagePruneReport> {
    return this.json('POST', '/images/prune', { query: { filters: encodeFilters(filters) } });
  },

  /** Pull progress; `tag` may be a tag or a digest, empty for all tags. */
  imagePull(
    this: EngineClient,
    fromImage: string,
    opts: { tag?: string; platform?: string; auth?: T.AuthConfig } = {},
  ): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/images/create', {
      query: { fromImage, tag: opts.tag, platform: opts.platform },
      headers: { 'X-Registry-Auth': encodeAuth(opts.auth) },
    });
  },

  imagePush(
    this: EngineClient,
    name: string,
    opts: { tag?: string; auth?: T.AuthConfig; compression?: string } = {},
  ): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', `/images/${encName(name)}/push`, {
      // `compression` is Berth's (gzip, zstd[:level]); dockerd ignores it.
      query: { tag: opts.tag, compression: opts.compression },
      headers: { 'X-Registry-Auth': encodeAuth(opts.auth) },
    });
  },

  /** Imports a rootfs tarball (streamed from `source`) as an image. */
  imageImport(
    this: EngineClient,
    source: Body,
    opts: {
      repo?: string;
      tag?: string;
      message?: string;
      changes?: string[];
      platform?: string;
      fromSrc?: string;
    } = {},
  ): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/images/create', {
      query: {
        fromSrc: opts.fromSrc ?? '-',
        repo: opts.repo,
        tag: opts.tag,
        message: opts.message,
        changes: opts.changes,
        platform: opts.platform,
      },
      body: opts.fromSrc && opts.fromSrc !== '-' ? undefined : source,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  },

  /** Loads a `docker save` tarball streamed from `source`. */
  imageLoad(this: EngineClient, source: Body, opts: { quiet?: boolean } = {}): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/images/load', {
      query: { quiet: opts.quiet ?? false },
      body: source,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  },

  /** A `docker save` tarball of the named images. */
  imageSave(this: EngineClient, names: string[], opts: { compression?: string } = {}): Promise<IncomingMessage> {
    return this.request('GET', '/images/get', { query: { names, compression: opts.compression } });
  },

  /** The legacy builder (`POST /build`) over a context tar stream. */
  imageBuild(this: EngineClient, context: Body, opts: BuildOptions = {}): Promise<AsyncGenerator<T.JsonMessage>> {
    const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
    if (opts.registryConfig)
      headers['X-Registry-Config'] = Buffer.from(JSON.stringify(opts.registryConfig)).toString('base64url');
    if (opts.secrets) headers['X-Berth-Build-Secrets'] = Buffer.from(JSON.stringify(opts.secrets)).toString('base64');
    return this.progress('POST', '/build', {
      query: {
        t: opts.tags,
        dockerfile: opts.dockerfile,
        q: opts.quiet || undefined,
        nocache: opts.noCache || undefined,
        rm: opts.remove ?? true,
        forcerm: opts.forceRemove || undefined,
        pull: opts.pull || undefined,
        target: opts.target,
        platform: opts.platform,
        networkmode: opts.networkMode,
        buildargs: opts.buildArgs ? JSON.stringify(opts.buildArgs) : undefined,
        labels: opts.labels ? JSON.stringify(opts.labels) : undefined,
        cachefrom: opts.cacheFrom?.length ? JSON.stringify(opts.cacheFrom) : undefined,
        extrahosts: opts.extraHosts?.length ? opts.extraHosts.join(',') : undefined,
        shmsize: opts.shmSize,
        memory: opts.memory,
        remote: opts.remote,
        version: '1',
      },
      body: context,
      headers,
    });
  },

  /** Berth's `image pack`: the image as one squashfs file, streamed. */
  imagePack(this: EngineClient, name: string): Promise<IncomingMessage> {
    return this.request('GET', '/berth/v1/images/pack', { query: { name }, unversioned: true });
  },

  /** Berth's offline base images: `busybox`, `debian:bookworm` (progress like a pull). */
  imageBootstrap(this: EngineClient, image: string): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/berth/v1/images/bootstrap', { query: { image }, unversioned: true });
  },

  /** `POST /build/prune`: the build cache (`all`: not only what no image keeps). */
  buildPrune(this: EngineClient, opts: { all?: boolean; filters?: T.Filters } = {}): Promise<T.BuildCachePruneReport> {
    return this.json('POST', '/build/prune', {
      query: { all: opts.all || undefined, filters: encodeFilters(opts.filters) },
    });
  },
};
