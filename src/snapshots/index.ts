/**
 * The overlay snapshotter. Each image layer is unpacked once into `<root>/layers/<cacheId>/diff`
 * and addressed by its chain ID, so images that share a base share its directories. A
 * container's root file system is an overlay mount of its image's layer directories (lower)
 * with a private upper and work directory.
 *
 * Above the image's layers every container has the shared, read-only init layer
 * (`<root>/init`, Docker's `-init` layer): empty placeholders for what the runtime mounts over
 * (/etc/hosts, /etc/hostname, /etc/resolv.conf, /proc, /sys, /dev). The runtime then finds
 * its mount points in place, so they never land in the container's upper directory, and
 * `docker diff` and `docker commit` see only what the container itself changed.
 *
 * Crash safety: a layer is unpacked into `<root>/layers/tmp-*` and renamed into place only
 * after it is complete; its database row is written after the rename. `open` drops leftover
 * temporary directories and directories no row points at.
 *
 * A file-backed layer (a squashfs image run from its file, `berth run app.sqfs`) has no tar
 * and no unpacked copy: its `diff` is the file mounted read-only through a loop device, and
 * `<cacheId>/source` names the file, so `open` mounts it again after a reboot and removal
 * unmounts it first.
 *
 * Under `berthd --userns-remap` the container's root is a host uid such as 100000, and the
 * layers must look owned by the range. Two ways, chosen once per store and kept in
 * `<root>/layer-owners` (owners.ts):
 * - idmapped (where the kernel can, probed at open): layers are unpacked as they are, and each root
 *   file system is an overlay of idmapped lowers (host/idmount.ts), so a file owned by 0 in a
 *   layer is owned by 100000 in the container's root file system;
 * - shifted (dockerd's way, where the kernel cannot): layers are unpacked with their owners
 *   shifted into the range, a second, chowned copy of every image beside the daemon's own.
 * Either way the upper directory holds the host's ids (100000 for the container's root):
 * `docker diff`/`commit`/`cp` shift back with the map as before.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { directorySize } from '../fs/index.ts';
import { invalidArgument, notFound } from '../errdefs/index.ts';
import { mountIdmappedOverlay, type Host } from '../host/index.ts';
import type { MetadataDb } from '../metadata/index.ts';
import type { ContentStore } from '../content/index.ts';
import { applyLayer, applyLayerOffThread, decompressed } from '../archive/index.ts';
import { chainIds, rootOf, sha256, type Digest, type IdMap } from '../spec/index.ts';
import { openLayerOwners, type LayerOwners } from './owners.ts';
export type { LayerOwners } from './owners.ts';

export interface Layer {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  size: number;
  cacheId: string;
}

interface LayerRow {
  chain_id: string;
  diff_id: string;
  parent: string | null;
  size: number;
  cache_id: string;
}

/** Beside a file-backed layer's `diff`: the path of the file mounted there. */
const SOURCE_FILE = 'source';

const toLayer = (r: LayerRow): Layer => ({
  chainId: r.chain_id as Digest,
  diffId: r.diff_id as Digest,
  parent: r.parent as Digest | null,
  size: r.size,
  cacheId: r.cache_id,
});

export class Snapshotter {
  readonly root: string;
  private readonly layersDir: string;
  private readonly db: MetadataDb;
  private readonly content: ContentStore;
  private readonly host: Host;
  /** `--userns-remap`: the container's ids in host ids (the upper directory holds host ids). */
  readonly idMap?: IdMap;
  /** How layers come to be owned by the remapped range (see the top of this file). */
  readonly layerOwners?: LayerOwners;
  /** Why the store's layers are owned that way (for the daemon's log). */
  readonly layerOwnersReason?: string;
  /** What layers are unpacked with: the map when they are shifted, nothing when idmapped. */
  private readonly unpackMap?: IdMap;
  /** The init layer: mount-point placeholders above every container's image layers. */
  readonly initDir: string;

  private constructor(
    root: string,
    db: MetadataDb,
    content: ContentStore,
    host: Host,
    idMap?: IdMap,
    owners?: { owners: LayerOwners; reason: string },
  ) {
    this.root = root;
    this.layersDir = join(root, 'layers');
    this.initDir = join(root, 'init');
    this.db = db;
    this.content = content;
    this.host = host;
    this.idMap = idMap;
    this.layerOwners = owners?.owners;
    this.layerOwnersReason = owners?.reason;
    this.unpackMap = owners?.owners === 'shifted' ? idMap : undefined;
  }

  static async open(
    root: string,
    db: MetadataDb,
    content: ContentStore,
    host: Host,
    idMap?: IdMap,
    o: { idmap?: boolean } = {},
  ): Promise<Snapshotter> {
    await fs.mkdir(join(root, 'layers'), { recursive: true });
    const owners = idMap && (await openLayerOwners(host, root, idMap, o.idmap ?? true));
    const s = new Snapshotter(root, db, content, host, idMap, owners);
    await makeInitLayer(s.initDir, owners?.owners === 'shifted' ? rootOf(idMap!) : undefined);
    const known = new Set(
      (db.stmt('SELECT cache_id FROM layers').all() as { cache_id: string }[]).map((r) => r.cache_id),
    );
    for (const name of await fs.readdir(s.layersDir)) {
      if (!known.has(name)) await s.removeLayerDir(name);
      else await s.remountFileLayer(name);
    }
    return s;
  }

  /** Removes a layer directory, unmounting a file-backed layer's file first. */
  private async removeLayerDir(cacheId: string): Promise<void> {
    const dir = join(this.layersDir, cacheId);
    if (await fs.stat(join(dir, SOURCE_FILE)).catch(() => undefined)) await this.host.unmount(join(dir, 'diff'));
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** After a reboot a file-backed layer's mount is gone: it is mounted again (if the file is there). */
  private async remountFileLayer(cacheId: string): Promise<void> {
    const dir = join(this.layersDir, cacheId);
    const source = await fs.readFile(join(dir, SOURCE_FILE), 'utf8').catch(() => undefined);
    if (source === undefined || (await isMountPoint(join(dir, 'diff')))) return;
    await this.host.mount('squashfs', source, join(dir, 'diff'), ['loop', 'ro']).catch(() => {
      // The file is gone or unreadable: containers of it fail to start, with an empty root.
    });
  }

  /** The file a layer is mounted from, when it is file-backed. */
  async fileSource(chainId: Digest): Promise<string | undefined> {
    const l = this.get(chainId);
    if (!l) return undefined;
    return fs.readFile(join(this.layersDir, l.cacheId, SOURCE_FILE), 'utf8').catch(() => undefined);
  }

  /**
   * Registers a file-backed layer (no parent): `source`, a squashfs file already checked by
   * the caller, mounted read-only as the layer's `diff`. `id` names the layer (it is also its
   * chain ID); the same file attached again is the same layer.
   */
  async addFileLayer(id: Digest, source: string): Promise<Layer> {
    const existing = this.get(id);
    if (existing) return existing;
    const cacheId = randomBytes(16).toString('hex');
    const dir = join(this.layersDir, cacheId);
    await fs.mkdir(join(dir, 'diff'), { recursive: true });
    try {
      await fs.writeFile(join(dir, SOURCE_FILE), source);
      await this.host.mount('squashfs', source, join(dir, 'diff'), ['loop', 'ro']);
    } catch (e) {
      await this.removeLayerDir(cacheId);
      throw e;
    }
    const raced = this.get(id);
    if (raced) {
      await this.removeLayerDir(cacheId);
      return raced;
    }
    // Its size is the file's: that is what it takes on disk.
    const size = (await fs.stat(source)).size;
    this.db
      .stmt('INSERT INTO layers (chain_id, diff_id, parent, size, cache_id) VALUES (?, ?, ?, ?, ?)')
      .run(id, id, null, size, cacheId);
    return { chainId: id, diffId: id, parent: null, size, cacheId };
  }

  get(chainId: Digest): Layer | undefined {
    const r = this.db.stmt('SELECT * FROM layers WHERE chain_id = ?').get(chainId) as LayerRow | undefined;
    return r && toLayer(r);
  }

  /** Does any layer keep this blob as its diff? */
  isDiffIdUsed(diffId: string): boolean {
    return !!this.db.stmt('SELECT 1 FROM layers WHERE diff_id = ?').get(diffId);
  }

  /** The directory holding a layer's unpacked files. */
  diffDir(layer: Layer): string {
    return join(this.layersDir, layer.cacheId, 'diff');
  }

  /** The layer stack ending in `top`, bottom first. */
  stack(top: Digest | null): Layer[] {
    const out: Layer[] = [];
    let cur = top;
    while (cur) {
      const l = this.get(cur);
      if (!l) throw notFound(`layer "${cur}": not found`);
      out.push(l);
      cur = l.parent;
    }
    return out.reverse();
  }

  /**
   * Adds a layer on top of `parent` from a (possibly compressed) tar stream. The uncompressed
   * tar is kept as a content blob (so `save` and `push` reproduce the exact diff ID) and
   * unpacked. A layer already present is reused.
   */
  async addLayer(
    parent: Digest | null,
    tar: Readable,
    opts: { maxBytes?: number; onBytes?: (n: number) => void } = {},
  ): Promise<Layer> {
    const plain = decompressed(tar, opts.maxBytes);
    if (opts.onBytes) {
      let n = 0;
      plain.on('data', (c: Buffer) => opts.onBytes!((n += c.length)));
    }
    const blob = await this.content.ingest(plain);
    return this.addLayerFromBlob(parent, blob.digest);
  }

  /** Registers and unpacks a layer whose uncompressed tar is already a content blob. */
  async addLayerFromBlob(parent: Digest | null, diffId: Digest): Promise<Layer> {
    return this.placeLayer(parent, diffId, (diff) =>
      fs
        .mkdir(diff)
        .then(() =>
          applyLayer(this.content.stream(diffId), diff, {
            host: this.host,
            overlayWhiteouts: true,
            idMap: this.unpackMap,
          }),
        )
        .then(() => {}),
    );
  }

  /**
   * Registers and unpacks a layer from a stream of it (compressed or not) as it arrives, and
   * keeps no tar: the caller keeps what the layer came as (a pull, its compressed blob). The
   * stream must hash to `diffId` once decompressed, or nothing of the layer stays (the error
   * says "digest mismatch"). `onTarSize` learns the uncompressed size (not called when the
   * layer was there already).
   */
  async addLayerFromStream(
    parent: Digest | null,
    diffId: Digest,
    stream: Readable,
    onTarSize?: (bytes: number) => void,
  ): Promise<Layer> {
    return this.placeLayer(parent, diffId, async (diff) => {
      await fs.mkdir(diff);
      // On a worker thread: gunzip, the diff ID's hash and the unpacking off the event loop.
      const r = await applyLayerOffThread(stream, diff, {
        host: this.host,
        overlayWhiteouts: true,
        idMap: this.unpackMap,
      });
      if (r.diffId !== diffId) throw invalidArgument(`layer ${diffId}: digest mismatch: its tar hashes to ${r.diffId}`);
      onTarSize?.(r.size);
    });
  }

  /**
   * Registers a layer whose uncompressed tar is already a content blob and whose unpacked form
   * already exists as `dir` — an overlay upper directory the tar was made from (whiteouts and
   * opaque markers are what a lower directory needs). `dir` is moved into place instead of
   * unpacking the tar again; on another file system it is unpacked as usual. `dir` must not be
   * an overlay's upper directory any more.
   */
  async adoptLayer(parent: Digest | null, diffId: Digest, dir: string): Promise<Layer> {
    // An upper directory holds the host's ids, idmapped layers the image's: unpacked instead.
    if (this.layerOwners === 'idmapped') return this.addLayerFromBlob(parent, diffId);
    try {
      return await this.placeLayer(parent, diffId, (diff) => fs.rename(dir, diff));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EXDEV') return this.addLayerFromBlob(parent, diffId);
      throw e;
    }
  }

  /**
   * The one way a layer comes to be: `fill` makes its diff directory inside a temporary
   * directory, which is renamed into place before the row is written (crash safety: see the
   * top of this file). A layer already there, or made meanwhile by a racing request, is reused.
   * Its size is that of its content, as Docker counts it (`docker history`, `docker images`):
   * the files' bytes, not the tar's headers and padding.
   */
  private async placeLayer(
    parent: Digest | null,
    diffId: Digest,
    fill: (diffDir: string) => Promise<void>,
  ): Promise<Layer> {
    const chainId = parent ? sha256(`${parent} ${diffId}`) : diffId;
    const existing = this.get(chainId);
    if (existing) return existing;
    if (parent && !this.get(parent)) throw notFound(`layer "${parent}": not found`);
    const cacheId = randomBytes(16).toString('hex');
    const tmp = join(this.layersDir, `tmp-${cacheId}`);
    await fs.mkdir(tmp, { recursive: true });
    let size: number;
    try {
      await fill(join(tmp, 'diff'));
      size = await directorySize(join(tmp, 'diff'));
      await fs.rename(tmp, join(this.layersDir, cacheId));
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw e;
    }
    const raced = this.get(chainId);
    if (raced) {
      await fs.rm(join(this.layersDir, cacheId), { recursive: true, force: true });
      return raced;
    }
    this.db
      .stmt('INSERT INTO layers (chain_id, diff_id, parent, size, cache_id) VALUES (?, ?, ?, ?, ?)')
      .run(chainId, diffId, parent, size, cacheId);
    return { chainId, diffId, parent, size, cacheId };
  }

  /** Chain ID of the top of a stack of diff IDs, or null for no layers. */
  topChain(diffIds: readonly Digest[]): Digest | null {
    const c = chainIds(diffIds);
    return c[c.length - 1] ?? null;
  }

  /**
   * Removes layers that no image references (directly or as an ancestor) and that are not in
   * `keep`. Returns the removed chain IDs.
   */
  async prune(keep: ReadonlySet<string> = new Set()): Promise<Layer[]> {
    const used = new Set<string>(keep);
    for (const r of this.db.stmt('SELECT top_chain FROM images WHERE top_chain IS NOT NULL').all() as {
      top_chain: string;
    }[]) {
      for (const l of this.stack(r.top_chain as Digest)) used.add(l.chainId);
    }
    for (const k of keep) for (const l of this.stack(k as Digest)) used.add(l.chainId);
    const all = (this.db.stmt('SELECT * FROM layers').all() as unknown as LayerRow[]).map(toLayer);
    const removed: Layer[] = [];
    // Children before parents, so foreign keys hold at every step.
    const doomed = all.filter((l) => !used.has(l.chainId));
    const order = (l: Layer): number => this.depth(l);
    doomed.sort((a, b) => order(b) - order(a));
    for (const l of doomed) {
      this.db.stmt('DELETE FROM layers WHERE chain_id = ?').run(l.chainId);
      await this.removeLayerDir(l.cacheId);
      const stillUsed = this.db.stmt('SELECT 1 FROM layers WHERE diff_id = ?').get(l.diffId);
      if (!stillUsed) await this.content.delete(l.diffId);
      removed.push(l);
    }
    return removed;
  }

  private depth(l: Layer): number {
    let d = 0;
    let cur: Layer | undefined = l;
    while (cur?.parent) {
      d++;
      cur = this.get(cur.parent);
    }
    return d;
  }

  /**
   * Mounts a writable root file system for a container at `<dir>/rootfs`, with `<dir>/upper`
   * and `<dir>/work`. Mounting an already mounted rootfs is an error the caller avoids by
   * checking `isMounted`.
   */
  async mountRootfs(dir: string, top: Digest | null): Promise<string> {
    const rootfs = join(dir, 'rootfs');
    await Promise.all([
      fs.mkdir(join(dir, 'upper'), { recursive: true }),
      fs.mkdir(join(dir, 'work'), { recursive: true }),
      fs.mkdir(rootfs, { recursive: true }),
    ]);
    if (this.idMap) {
      // The container's root owns its / (the upper's root gives the merged root its owner)
      // and must be able to reach the mount point from inside its user namespace.
      const r = rootOf(this.idMap);
      for (const d of ['upper', 'work', 'rootfs']) await fs.chown(join(dir, d), r.uid, r.gid);
    }
    if (this.layerOwners === 'idmapped') {
      const [upper, work] = [join(dir, 'upper'), join(dir, 'work')];
      await mountIdmappedOverlay(this.host, {
        map: this.idMap!,
        lowers: this.lowerDirs(top),
        upper,
        work,
        target: rootfs,
      });
      return rootfs;
    }
    const lowers = this.stack(top)
      .reverse()
      .map((l) => `${l.cacheId}/diff`);
    // Relative lower paths (resolved against the mount's working directory, the layers
    // directory) keep the option string short enough for deep stacks.
    const lower = ['../init', ...lowers].join(':');
    await this.host.mount(
      'overlay',
      'overlay',
      rootfs,
      [`lowerdir=${lower}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`],
      { cwd: this.layersDir },
    );
    return rootfs;
  }

  /** The directories below a container's upper directory, topmost first (overlay's order). */
  lowerDirs(top: Digest | null): string[] {
    return [
      this.initDir,
      ...this.stack(top)
        .reverse()
        .map((l) => this.diffDir(l)),
    ];
  }

  async unmountRootfs(dir: string): Promise<void> {
    await this.host.unmount(join(dir, 'rootfs'));
  }

  /**
   * Is `<dir>/rootfs` a mount point right now? An overlay mounted there has a device of its
   * own, so two stats tell, where reading /proc/self/mountinfo would cost more with every
   * running container (this is on the start path).
   */
  async isMounted(dir: string): Promise<boolean> {
    const [inner, outer] = await Promise.all([
      fs.stat(join(dir, 'rootfs')).catch(() => undefined),
      fs.stat(dir).catch(() => undefined),
    ]);
    return !!inner && !!outer && inner.dev !== outer.dev;
  }
}

/** Is `dir` a mount point (its device differs from its parent's)? */
async function isMountPoint(dir: string): Promise<boolean> {
  const [inner, outer] = await Promise.all([
    fs.stat(dir).catch(() => undefined),
    fs.stat(join(dir, '..')).catch(() => undefined),
  ]);
  return !!inner && !!outer && inner.dev !== outer.dev;
}

/** Placeholders the runtime mounts over; empty, root-owned, as Docker's init layer has them. */
const INIT_DIRS = ['dev', 'proc', 'sys', 'etc'];
const INIT_FILES: ReadonlyArray<[path: string, mode: number]> = [
  ['etc/hosts', 0o644],
  ['etc/hostname', 0o644],
  ['etc/resolv.conf', 0o644],
  // Docker's marker, empty and executable as moby's init layer makes it: scripts test for it to
  // know they run in a container. In the init layer, it is in no diff or commit.
  ['.dockerenv', 0o755],
];

async function makeInitLayer(dir: string, root?: { uid: number; gid: number }): Promise<void> {
  // Only ever added to, never replaced: live containers' overlays have it as a lower layer.
  for (const d of INIT_DIRS) await fs.mkdir(join(dir, d), { recursive: true, mode: 0o755 });
  for (const [f, mode] of INIT_FILES) {
    await fs.writeFile(join(dir, f), '', { mode, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  // Under a remap the placeholders' directories (/etc, /dev ...) belong to the container's root,
  // as they do without one: the topmost layer holding a directory gives the merged one its owner.
  if (root) await chownTree(dir, root);
}

/** Every entry of a (small) tree owned by `owner`, links themselves rather than their targets. */
async function chownTree(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  await fs.lchown(dir, owner.uid, owner.gid);
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, owner);
    else await fs.lchown(p, owner.uid, owner.gid);
  }
}
