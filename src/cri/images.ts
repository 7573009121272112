/**
 * The CRI ImageService on Berth's image service: the same store, tags and events as the
 * Engine API's /images, so `crictl pull` shows in `docker images` and `docker pull` in
 * `crictl images`.
 *
 * Names follow the CRI's (containerd's) habits rather than Docker's: references are reported
 * fully qualified (`docker.io/library/busybox:latest`, Berth keeps `busybox:latest`), an unknown
 * image is an empty status rather than an error, removing an image that is not there succeeds,
 * and removing one removes all its names at once. PullImage answers with the image ID. A build's
 * intermediate images are not listed (kubelet would try to collect them).
 */
import { invalidArgument } from '../errdefs/index.ts';
import type { Image } from '../images/index.ts';
import type { ImageService } from '../services/images/index.ts';
import { parseReference, type Reference } from '../spec/index.ts';
import type { Handlers } from './server.ts';

export interface ImageDeps {
  images: ImageService;
  /** Scratch directory for pulls (the data root's tmp/). */
  tmp: string;
  /** `--sandbox-image`: listed as pinned, as containerd lists its sandbox image, so kubelet's garbage collection keeps it. */
  sandboxImage?: string;
}

/** The CRI's Image message. 64-bit integers travel as decimal strings. */
export interface CriImage {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: string;
  uid: { value: string } | null;
  username: string;
  spec: { image: string; annotations: Record<string, string> };
  pinned: boolean;
}

interface ImageSpec {
  image: string;
  annotations?: Record<string, string>;
}

interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  server_address: string;
  identity_token: string;
  registry_token: string;
}

/** `busybox:latest` → `docker.io/library/busybox:latest`; the same for `repo@digest`. */
export function qualified(name: string): string {
  let r: Reference;
  try {
    r = parseReference(name);
  } catch {
    return name;
  }
  return `${r.domain}/${r.path}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/**
 * The image's user as the CRI splits it: a numeric user (before any `:group`) is a uid, a name
 * is a username; neither when the image sets none (the runtime's default, root).
 */
export function imageUser(user: string | undefined): { uid: { value: string } | null; username: string } {
  const u = (user ?? '').split(':')[0]!;
  if (!u) return { uid: null, username: '' };
  if (/^\d+$/.test(u)) return { uid: { value: u }, username: '' };
  return { uid: null, username: u };
}

export function criImage(i: Image, pinnedName?: string): CriImage {
  const tags = i.tags.map(qualified);
  return {
    id: i.id,
    repo_tags: tags,
    repo_digests: i.digests.map(qualified),
    size: String(i.size),
    ...imageUser(i.config.config?.User),
    spec: { image: i.id, annotations: {} },
    pinned: !!pinnedName && tags.includes(qualified(pinnedName)),
  };
}

/**
 * The sandboxes' image when `--sandbox-image` names one: its reference, pulled first (through
 * the registry hosts configuration, so a mirror serves an offline node) when the store lacks it,
 * as containerd pulls its `sandbox_image` at the first RunPodSandbox.
 */
export function sandboxImageSource(d: ImageDeps & { sandboxImage: string }): () => Promise<string> {
  let pending: Promise<string> | undefined;
  const ensure = async () => {
    if (!d.images.store.find(d.sandboxImage)) await d.images.pull(d.sandboxImage, { tmp: d.tmp, out: () => {} });
    return d.sandboxImage;
  };
  return () => {
    pending ??= ensure().finally(() => (pending = undefined));
    return pending;
  };
}

/** Registry credentials from a CRI auth config: `auth` is base64 of `user:password`. */
export function credentials(a: AuthConfig | null | undefined) {
  if (!a) return undefined;
  let username = a.username;
  let password = a.password;
  if (!username && a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i < 0) throw invalidArgument('pull image: the auth config\'s "auth" is not base64 of "username:password"');
    username = plain.slice(0, i);
    password = plain.slice(i + 1);
  }
  const creds = {
    ...(username ? { username, password } : {}),
    ...(a.identity_token ? { identityToken: a.identity_token } : {}),
    ...(a.registry_token ? { registryToken: a.registry_token } : {}),
  };
  return Object.keys(creds).length ? creds : undefined;
}

function specImage(spec: ImageSpec | null | undefined, method: string): string {
  const name = spec?.image ?? '';
  if (!name) throw invalidArgument(`${method}: no image given`);
  return name;
}

/** Milliseconds since the epoch as the CRI's nanoseconds, a decimal string. */
function nanos(ms: number): string {
  return (BigInt(ms) * 1_000_000n).toString();
}

export function imageHandlers(d: ImageDeps): Handlers {
  const { images } = d;
  return {
    async ListImages(req: { filter: { image: ImageSpec | null } | null }) {
      const wanted = req.filter?.image?.image;
      if (wanted) {
        const one = images.store.find(wanted);
        return { images: one ? [criImage(one, d.sandboxImage)] : [] };
      }
      // Untagged parents of other images (a build's steps) are not listed, as `docker images`
      // hides them: kubelet's garbage collection would try to remove them and be refused.
      const all = images.store.list();
      const parents = new Set(all.map((i) => i.parent).filter(Boolean));
      return {
        images: all
          .filter((i) => i.tags.length || i.digests.length || !parents.has(i.id))
          .map((i) => criImage(i, d.sandboxImage)),
      };
    },

    async ImageStatus(req: { image: ImageSpec | null; verbose: boolean }) {
      const img = images.store.find(specImage(req.image, 'image status'));
      if (!img) return { image: null, info: {} };
      const info: Record<string, string> = {};
      if (req.verbose)
        info.info = JSON.stringify({ chainID: img.topChain ?? '', imageSpec: img.config, created: img.created });
      return { image: criImage(img, d.sandboxImage), info };
    },

    async PullImage(
      req: { image: ImageSpec | null; auth: AuthConfig | null; sandbox_config: { windows: unknown } | null },
      signal: AbortSignal,
    ) {
      const name = specImage(req.image, 'pull image');
      // CRI 1.26 names no platform in the sandbox config: a Linux pod wants the host's.
      if (req.sandbox_config?.windows)
        throw invalidArgument(`pull image "${name}": only Linux pods run here, the sandbox config is for Windows`);
      const r = await images.pull(name, { tmp: d.tmp, creds: credentials(req.auth), signal, out: () => {} });
      return { image_ref: r.image.id };
    },

    async RemoveImage(req: { image: ImageSpec | null }) {
      const img = images.store.find(specImage(req.image, 'remove image'));
      // Already gone is success: kubelet's garbage collection may ask twice.
      if (img) await images.remove(img.id, { force: true });
      return {};
    },

    async ImageFsInfo() {
      const u = await images.fsUsage();
      return {
        image_filesystems: [
          {
            timestamp: nanos(u.timestamp),
            fs_id: { mountpoint: images.fsRoot },
            used_bytes: { value: String(u.usedBytes) },
            inodes_used: { value: String(u.inodesUsed) },
          },
        ],
      };
    },
  };
}
