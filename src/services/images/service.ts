/**
 * The image service: what `docker images`, `rmi`, `tag`, `history`, `image inspect` and
 * `image prune` do, with Docker's rules for untagging and deleting; `import`, `save`, `load`
 * and Berth's offline `bootstrap`, with Docker's events (the image ID as the event's name).
 * Pull and push are in pull.ts and push.ts, the views in views.ts; index.ts re-exports.
 */
import { categoryOf, conflict, invalidArgument, notFound, unauthorized } from '../../errdefs/index.ts';
import type { EventBus } from '../../events/index.ts';
import {
  applyChanges,
  bootstrap,
  bootstrapKind,
  byteMeter,
  commitImage,
  importImage,
  type CommitOptions,
  saveImages,
  loadImages,
  type ImageStore,
  type Image,
  type LoadResult,
  type Progress,
  type SaveOptions,
  packImage,
  attachFile,
  loadSquashfs,
} from '../../images/index.ts';
import { sniff } from '../../archive/index.ts';
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Host } from '../../host/index.ts';
import type { Readable } from 'node:stream';
import {
  familiarName,
  familiarString,
  parseReference,
  shortId,
  looksLikeId,
  missingImageName,
  type Digest,
  type HistoryEntry,
  type Platform,
} from '../../spec/index.ts';
import {
  allRegistryHosts,
  registryHosts,
  RegistryClient,
  type Credentials,
  type RegistryConfig,
} from '../../registry/index.ts';
import type {
  DistributionInspect,
  HistoryItem,
  ImageDeleteItem,
  ImageInspect,
  ImagePruneReport,
  ImageSummary,
} from '../../api/types/index.ts';
import type { SignaturePolicyFile } from '../../trust/index.ts';
import { distributionInspect, pullAllTags, pullImage, type PullResult } from './pull.ts';
import { planPush, pushImage, type PushPlan, type PushOptions } from './push.ts';
import { UsageCache, type FsUsage } from './fsusage.ts';
import { globMatch, imageSummary, matchLabel, normaliseRunConfig } from './views.ts';

/** Who uses an image: the container service answers. */
export type ImageUsage = (imageId: string) => Array<{ id: string; running: boolean }>;

export class ImageService {
  readonly store: ImageStore;
  private readonly events: EventBus;
  usage: ImageUsage = () => [];
  /** Top layers of containers' root file systems: kept even when their image is deleted. */
  layersInUse: () => Set<string> = () => new Set();
  /**
   * Lets what holds an image's layers without being a container (the warm pool's sandboxes)
   * let go of a deleted image before its layers are pruned, so a removal frees them at once.
   */
  releaseHolders: (imageId: string) => Promise<void> = async () => {};
  /** `--insecure-registry`, `--registry-mirror`, the hosts directory and registries.conf: set by the daemon. */
  registry: RegistryConfig = { insecure: [], mirrors: [] };
  /** `--signature-policy`: set by the daemon; pulls it refuses store nothing. */
  policy?: SignaturePolicyFile;

  private readonly disk: UsageCache;

  constructor(store: ImageStore, events: EventBus) {
    this.store = store;
    this.events = events;
    this.disk = new UsageCache([store.snapshots.root, store.content.root]);
  }

  /** Where the unpacked layers live: the image file system the CRI reports. */
  get fsRoot(): string {
    return this.store.snapshots.root;
  }

  /** Disk and inodes the layers and blobs take (at most ten seconds old). */
  fsUsage(): Promise<FsUsage> {
    return this.disk.get();
  }

  /**
   * `docker images`, with dockerd's filters: `before`/`since` name an image (one that does not
   * exist fails the listing) and keep those created strictly before or after it; `until` is a
   * time in ms. With `reference`, an image lists only its tags that match, and an untagged one
   * none. Untagged parents of other images are hidden unless `all`; `dangling=true` never lists
   * them (dockerd picks from the store's heads). The parents are the whole store's, not the
   * filtered list's, or the tagged child that makes one an intermediate would be filtered first.
   */
  list(
    opts: {
      all?: boolean;
      dangling?: boolean;
      reference?: string[];
      labels?: string[];
      before?: string;
      since?: string;
      until?: number;
    } = {},
  ): ImageSummary[] {
    const all = this.store.list();
    const before = opts.before === undefined ? undefined : Date.parse(this.store.resolve(opts.before).created);
    const since = opts.since === undefined ? undefined : Date.parse(this.store.resolve(opts.since).created);
    const parents = new Set(all.map((i) => i.parent).filter(Boolean));
    const refs = opts.reference?.length ? opts.reference : undefined;
    // A pattern has a tag when a colon follows its last slash (a registry's port is not one); a
    // digest reference matches a pattern without a tag by its name, as dockerd's FamiliarMatch.
    const hasTag = (p: string) => /:[^/]*$/.test(p);
    const matches = (t: string) => refs!.some((p) => globMatch(hasTag(p) ? p : `${p}:*`, t));
    const digestMatches = (d: string) => refs!.some((p) => !hasTag(p) && globMatch(p, d.replace(/@.*/, '')));
    const out: ImageSummary[] = [];
    for (const i of all) {
      const created = Date.parse(i.created);
      if (before !== undefined && created >= before) continue;
      if (since !== undefined && created <= since) continue;
      if (opts.until !== undefined && created > opts.until) continue;
      if (opts.labels?.length && !opts.labels.every((l) => matchLabel(i.config.config?.Labels ?? {}, l))) continue;
      const tags = refs ? i.tags.filter(matches) : i.tags;
      const digests = refs ? i.digests.filter(digestMatches) : i.digests;
      // dangling=true: images nothing is built on (dockerd's heads), without tags, even with -a.
      if (opts.dangling === true && (tags.length > 0 || parents.has(i.id))) continue;
      if (tags.length === 0 && digests.length === 0) {
        if ((!opts.all && parents.has(i.id)) || opts.dangling === false || refs) continue;
      }
      out.push(imageSummary({ ...i, tags, digests }));
    }
    return out;
  }

  /**
   * `docker image inspect`. It keeps `Container` and `ContainerConfig`, which Docker dropped
   * from API 1.45 on: docker-compose 1.x (Debian's) reads the latter's volumes whenever it
   * recreates a container, and fails with a KeyError against Docker 25 and later.
   */
  inspect(name: string): ImageInspect {
    const i = this.store.resolve(name);
    const layers = this.store.snapshots.stack(i.topChain);
    const dirs = layers.map((l) => this.store.snapshots.diffDir(l)).reverse();
    return {
      Id: i.id,
      RepoTags: i.tags,
      RepoDigests: i.digests,
      Parent: i.parent ?? '',
      Comment: i.config.comment ?? '',
      Created: i.created,
      DockerVersion: i.config.docker_version ?? '',
      Author: i.config.author ?? '',
      Config: normaliseRunConfig(i.config.config ?? {}),
      Architecture: i.config.architecture,
      ...(i.config.variant ? { Variant: i.config.variant } : {}),
      Os: i.config.os,
      Size: i.size,
      GraphDriver: {
        Name: 'overlay2',
        Data: dirs.length
          ? {
              LowerDir: dirs.slice(1).join(':') || undefined,
              UpperDir: dirs[0],
              MergedDir: undefined,
              WorkDir: undefined,
            }
          : null,
      },
      RootFS: { Type: 'layers', Layers: i.config.rootfs.diff_ids },
      Metadata: { LastTagTime: this.store.lastTagTime(i.id) ?? '0001-01-01T00:00:00Z' },
      Container: i.config.container ?? '',
      ContainerConfig: normaliseRunConfig(i.config.container_config ?? {}),
    };
  }

  history(name: string): HistoryItem[] {
    const i = this.store.resolve(name);
    const layers = this.store.snapshots.stack(i.topChain);
    const hist: HistoryEntry[] = i.config.history ?? layers.map(() => ({}));
    let li = 0;
    const rows = hist.map((h): HistoryItem => {
      const size = h.empty_layer ? 0 : (layers[li++]?.size ?? 0);
      return {
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: h.comment ?? '',
      };
    });
    rows.reverse();
    // Rows of local parents (a build's intermediate images) are named, as dockerd does.
    let cur: Image | undefined = i;
    for (let k = 0; k < rows.length && cur; k++) {
      if ((cur.config.history?.length ?? 0) !== hist.length - k) continue;
      rows[k]!.Id = cur.id;
      rows[k]!.Tags = cur.tags.length ? cur.tags : null;
      cur = cur.parent ? this.store.find(cur.parent) : undefined;
    }
    if (rows[0] && !rows[0].Tags) rows[0].Tags = i.tags;
    return rows;
  }

  tag(source: string, repo: string, tag?: string): void {
    const img = this.store.resolve(source);
    const target = tag ? `${repo}:${tag}` : repo;
    const ref = parseReference(target);
    this.store.tag(img.id, target);
    this.events.publish('image', 'tag', img.id, { name: familiarString(ref) });
  }

  /** `docker rmi`: Docker's image_delete rules. */
  async remove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteItem[]> {
    const img = this.store.resolve(name);
    const out: ImageDeleteItem[] = [];
    const users = this.usage(img.id);
    const byTag = this.store.isTag(name) && !(looksLikeId(name) && img.id.includes(name.replace(/^sha256:/, '')));
    if (byTag) {
      const isLast = img.tags.length <= 1;
      if (isLast && users.length && !opts.force) {
        throw conflict(
          `conflict: unable to remove repository reference "${name}" (must force) - container ${shortId(users[0]!.id)} is using its referenced image ${shortId(img.id)}`,
        );
      }
      const parsed = parseReference(name);
      const ref = familiarString(parsed);
      this.store.untag(name);
      out.push({ Untagged: ref });
      // dockerd's untag event names the image by its ID, not the tag it lost.
      this.events.publish('image', 'untag', img.id, { name: img.id });
      // As dockerd: a repository's last tag takes that repository's digest references with it.
      const repo = familiarName(parsed);
      const left = this.store.get(img.id);
      if (parsed.digest === undefined && !left.tags.some((t) => familiarName(parseReference(t)) === repo)) {
        for (const dg of left.digests.filter((x) => familiarName(parseReference(x)) === repo)) {
          this.store.untag(dg);
          out.push({ Untagged: dg });
        }
      }
      const after = this.store.get(img.id);
      if (!isLast || users.length || after.tags.length || after.digests.length) return out;
    } else {
      // dockerd's order: the hard conflicts (child images, a running container) hold even with
      // force and come first, before anything is untagged; then, without force, tags in
      // several repositories, then a stopped container.
      if (this.store.children(img.id).length) {
        throw conflict(
          `conflict: unable to delete ${shortId(img.id)} (cannot be forced) - image has dependent child images`,
        );
      }
      const running = users.find((u) => u.running);
      if (running) {
        throw conflict(
          `conflict: unable to delete ${shortId(img.id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
        );
      }
      // One tag, and digests of that repository only: dockerd's "single reference".
      const repos = new Set([...img.tags, ...img.digests].map((r) => familiarName(parseReference(r))));
      if ((img.tags.length > 1 || repos.size > 1) && !opts.force) {
        throw conflict(
          `conflict: unable to delete ${shortId(img.id)} (must be forced) - image is referenced in multiple repositories`,
        );
      }
      if (users.length && !opts.force) {
        throw conflict(
          `conflict: unable to delete ${shortId(img.id)} (must be forced) - image is being used by stopped container ${shortId(users[0]!.id)}`,
        );
      }
      for (const t of img.tags) {
        this.store.untag(t);
        out.push({ Untagged: t });
        this.events.publish('image', 'untag', img.id, { name: img.id });
      }
      for (const dg of img.digests) {
        this.store.untag(dg);
        out.push({ Untagged: dg });
      }
    }
    if (this.store.children(img.id).length) return out;
    out.push(...(await this.deleteImage(img)));
    if (!opts.noprune) out.push(...(await this.deleteUnheldAncestors(img.parent)));
    return out;
  }

  /**
   * As dockerd's rmi (unless `noprune`): the deleted image's ancestors go too while nothing
   * holds them — the intermediate images a legacy build or a commit left, untagged and
   * unused. It stops quietly at the first one with a tag or digest, a container (running or
   * not), or another child, as dockerd's quiet prune of parents does.
   */
  private async deleteUnheldAncestors(parent: string | null): Promise<ImageDeleteItem[]> {
    const out: ImageDeleteItem[] = [];
    for (let id = parent; id;) {
      const img = this.store.find(id);
      if (!img || img.tags.length || img.digests.length) break;
      if (this.usage(img.id).length || this.store.children(img.id).length) break;
      out.push(...(await this.deleteImage(img)));
      id = img.parent;
    }
    return out;
  }

  /** Deletes an untagged image: its record, then the layers nothing uses any more, named as dockerd names them (chain IDs). */
  private async deleteImage(img: Image): Promise<ImageDeleteItem[]> {
    await this.store.delete(img.id);
    this.events.publish('image', 'delete', img.id, { name: img.id });
    await this.releaseHolders(img.id);
    const layers = await this.store.snapshots.prune(this.layersInUse());
    await this.store.compressed.prune();
    return [{ Deleted: img.id }, ...layers.map((l) => ({ Deleted: l.chainId }))];
  }

  /** `docker image prune`: dangling images (or all unused with `all`) not used by containers. */
  /** `until`: only images created before it (ms since the epoch), the filter dockerd takes. */
  async prune(opts: { all?: boolean; labels?: string[]; until?: number } = {}): Promise<ImagePruneReport> {
    const deleted: ImageDeleteItem[] = [];
    let reclaimed = 0;
    let progress = true;
    // Deleting a child can make its parent prunable: repeat until nothing changes.
    while (progress) {
      progress = false;
      for (const img of this.store.list()) {
        if (this.usage(img.id).length) continue;
        if (!opts.all && img.tags.length) continue;
        if (this.store.children(img.id).length) continue;
        if (opts.labels?.length && !opts.labels.every((l) => matchLabel(img.config.config?.Labels ?? {}, l))) continue;
        if (opts.until !== undefined && Date.parse(img.created) > opts.until) continue;
        for (const t of img.tags) {
          this.store.untag(t);
          deleted.push({ Untagged: t });
        }
        reclaimed += img.size;
        deleted.push(...(await this.deleteImage(img)));
        progress = true;
      }
    }
    if (deleted.length) this.events.publish('image', 'prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /**
   * Drops what an interrupted import, load or bootstrap left: layers no image or container
   * uses, and blobs that are neither an image config nor a layer's diff. Run at start-up,
   * before any request can be adding layers.
   */
  async collectGarbage(): Promise<{ layers: number; blobs: number }> {
    const layers = await this.store.snapshots.prune(this.layersInUse());
    let blobs = await this.store.compressed.prune();
    const configs = new Set<string>(this.store.list().map((i) => i.id));
    const forms = this.store.compressed.digests();
    for (const d of await this.store.content.list()) {
      if (configs.has(d) || forms.has(d) || this.store.snapshots.isDiffIdUsed(d)) continue;
      await this.store.content.delete(d);
      blobs++;
    }
    return { layers: layers.length, blobs };
  }

  /**
   * `docker import`: a tarball as a one-layer image, tagged when `ref` is given. The
   * reference and the changes are checked before the body is read.
   */
  async import(
    tar: Readable,
    opts: { ref?: string; changes: string[]; message?: string; progress: Progress },
  ): Promise<Image> {
    const tag = this.checkImport(opts.ref, opts.changes);
    // A progress line per half megabyte, and one for the last byte.
    let last = 0;
    const meter = byteMeter(512 * 1024, (current) =>
      opts.progress({ status: 'Importing', progressDetail: { current } }),
    );
    const img = await importImage(this.store, tar, {
      changes: opts.changes,
      message: opts.message,
      onBytes: (n) => {
        meter.add(n - last);
        last = n;
      },
    });
    meter.done();
    if (tag) {
      this.store.tag(img.id, tag);
      // As dockerd's TagImageWithReference: a tag event before the import's, naming the
      // reference as given (`t/imp`, no `:latest` added).
      const parsed = parseReference(opts.ref!);
      const named = /:[^/]*$/.test(opts.ref!) ? familiarString(parsed) : familiarName(parsed);
      this.events.publish('image', 'tag', img.id, { name: named });
    }
    this.events.publish('image', 'import', img.id, { name: img.id });
    return this.store.get(img.id);
  }

  /**
   * Checks an import's reference and changes without reading anything, so the API can refuse
   * them with a 400 before it starts streaming. Returns the familiar tag to apply.
   */
  checkImport(ref: string | undefined, changes: readonly string[]): string | undefined {
    applyChanges({}, changes);
    if (!ref) return undefined;
    const parsed = parseReference(ref);
    if (parsed.digest !== undefined)
      throw invalidArgument(`import: "${ref}": cannot tag an imported image with a digest`);
    return familiarString(parsed);
  }

  /**
   * `docker commit` and a build step: a container's changes as a new image on its parent,
   * tagged `ref` if given. The reference and changes are checked before the layer is read.
   */
  async commit(o: CommitOptions & { ref?: string }): Promise<Image> {
    applyChanges({}, o.changes ?? []);
    let tag: string | undefined;
    if (o.ref) {
      const parsed = parseReference(o.ref);
      if (parsed.digest !== undefined) throw invalidArgument(`commit: "${o.ref}": cannot commit to a digest reference`);
      tag = familiarString(parsed);
    }
    const img = await commitImage(this.store, o);
    if (tag) {
      this.store.tag(img.id, tag);
      this.events.publish('image', 'tag', img.id, { name: tag });
    }
    return this.store.get(img.id);
  }

  /**
   * `docker save`: resolves every name first (an unknown one fails before any byte), then
   * streams the archive.
   */
  async save(names: string[], o: SaveOptions = {}): Promise<Readable> {
    const { ids, stream } = await saveImages(this.store, names, o);
    for (const id of ids) this.events.publish('image', 'save', id, { name: id });
    return stream;
  }

  /**
   * `docker load`: `out` gets the progress and the `Loaded image: ...` lines. A squashfs file
   * (`berth image pack`) is taken too, unpacked into a one-layer image (needs `host`).
   */
  async load(tar: Readable, opts: { tmp: string; quiet?: boolean; out: Progress; host?: Host }): Promise<LoadResult[]> {
    const { head, stream } = await sniff(tar, 4);
    if (opts.host && head.length >= 4 && head.toString('latin1', 0, 4) === 'hsqs')
      return [await this.loadSquashfs(stream, { ...opts, host: opts.host })];
    return loadImages(this.store, stream, {
      tmp: opts.tmp,
      quiet: opts.quiet,
      out: opts.out,
      onLoaded: (l) => this.events.publish('image', 'load', l.id, { name: l.id }),
    });
  }

  private async loadSquashfs(body: Readable, opts: { tmp: string; out: Progress; host: Host }): Promise<LoadResult> {
    await fs.mkdir(opts.tmp, { recursive: true });
    const file = join(opts.tmp, `load-${randomBytes(8).toString('hex')}.sqfs`);
    try {
      await pipeline(body, createWriteStream(file, { flags: 'wx' }));
      const { image, tags } = await loadSquashfs(this.store, opts.host, file, opts.tmp, 'the loaded squashfs file');
      for (const t of tags) opts.out({ stream: `Loaded image: ${t}\n` });
      if (!tags.length) opts.out({ stream: `Loaded image ID: ${image.id}\n` });
      this.events.publish('image', 'load', image.id, { name: image.id });
      return { id: image.id, tags };
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  /**
   * `berth image pack`: the image as a squashfs file in `tmp`; the caller streams it and calls
   * `done` to remove it.
   */
  async pack(name: string, deps: { host: Host; tmp: string }): Promise<{ file: string; done: () => Promise<void> }> {
    const image = this.store.resolve(name);
    await fs.mkdir(deps.tmp, { recursive: true });
    const file = await packImage(this.store, deps.host, image, deps.tmp);
    return { file, done: () => fs.rm(dirname(file), { recursive: true, force: true }) };
  }

  /** An image that runs from a squashfs file, not unpacked (`berth run app.sqfs`). */
  async attachFile(path: string): Promise<Image> {
    return attachFile(this.store, path);
  }

  /** Berth's offline base images: `busybox[:tag]`, `debian:<suite>`. */
  async bootstrap(ref: string, deps: { host: Host; tmp: string }, progress: Progress): Promise<Image> {
    bootstrapKind(ref);
    const img = await bootstrap(ref, { store: this.store, host: deps.host, tmp: deps.tmp }, progress);
    this.events.publish('image', 'pull', img.id, { name: familiarString(parseReference(ref)) });
    return img;
  }

  resolve(name: string): Image {
    return this.store.resolve(name);
  }

  /** `docker pull`: progress on `out`; the image is tagged and its repo digest recorded. */
  async pull(
    ref: string,
    o: { tmp: string; creds?: Credentials; platform?: Platform; out: Progress; signal?: AbortSignal },
  ): Promise<PullResult> {
    const parsed = parseReference(ref);
    const r = await pullImage(
      { store: this.store, registry: this.registry, policy: this.policy, tmp: o.tmp },
      parsed,
      o,
    );
    this.events.publish('image', 'pull', r.image.id, { name: familiarString(parsed) });
    return r;
  }

  /** `GET /distribution/{name}/json`: the registry's descriptor and platforms for a reference. */
  distribution(ref: string, creds?: Credentials): Promise<DistributionInspect> {
    return distributionInspect({ registry: this.registry }, parseReference(ref), creds);
  }

  /** `docker pull -a`: every tag of a repository (`repo` has no tag or digest). */
  async pullAll(
    repo: string,
    o: { tmp: string; creds?: Credentials; platform?: Platform; out: Progress; signal?: AbortSignal },
  ): Promise<PullResult[]> {
    const parsed = parseReference(repo);
    const rs = await pullAllTags(
      { store: this.store, registry: this.registry, policy: this.policy, tmp: o.tmp },
      parsed,
      o,
    );
    for (const r of rs) this.events.publish('image', 'pull', r.image.id, { name: familiarString(parsed) });
    return rs;
  }

  /** Can any host serve this reference's registry (docker.io needs a mirror)? */
  async reachable(ref: string): Promise<boolean> {
    return (await allRegistryHosts(parseReference(ref), this.registry)).length > 0;
  }

  /** What `docker push name[:tag]` would send; NotFound for an unknown local image. */
  planPush(name: string, tag?: string): PushPlan {
    return planPush({ store: this.store }, name, tag);
  }

  async push(plan: PushPlan, o: PushOptions & { tmp: string }): Promise<void> {
    await pushImage({ store: this.store, registry: this.registry, tmp: o.tmp }, plan, o);
    for (const t of plan.tags)
      this.events.publish('image', 'push', t.image.id, {
        name: familiarString({ ...plan.repo, tag: t.tag, digest: undefined }),
      });
  }

  /** `docker login`: do these credentials open the registry's /v2/? */
  async login(server: string, creds: Credentials): Promise<void> {
    let host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (!host || host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
    const [h] = await registryHosts({ domain: host, path: '' }, this.registry, 'push');
    const client = new RegistryClient(h!.endpoint, creds);
    try {
      await client.checkLogin();
    } catch (e) {
      // dockerd's words: the registry's own refusal, or the token service's behind a Get.
      const err = e as { atRegistry?: boolean; message: string };
      if (categoryOf(e) === 'Unauthorized' && !err.atRegistry)
        throw unauthorized(`Get "${client.base}/v2/": ${err.message}`, e);
      throw e;
    }
  }

  /** Resolves, and says "No such image" the way `docker run` expects when missing. */
  require(name: string): Image {
    const img = this.store.find(name);
    if (!img) throw notFound(`No such image: ${missingImageName(name)}`);
    return img;
  }

  get(id: Digest): Image {
    return this.store.get(id);
  }
}
