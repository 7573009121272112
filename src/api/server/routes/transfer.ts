/**
 * Image transfer routes: import (`POST /images/create?fromSrc=`), pull (answered offline),
 * save (`GET /images/get`, `GET /images/{name}/get`), load (`POST /images/load`) and Berth's
 * `POST /berth/v1/images/bootstrap`. Long work streams Docker's JSON messages; a failure after
 * the stream started is the last message, `{"errorDetail":{"message":...},"error":...}`.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import type { Router, Request, Response, StreamWriter } from '../router.ts';
import { parsePlatform, searchImages, type ImageService } from '../../../services/images/index.ts';
import type { Host } from '../../../host/index.ts';
import type { SaveOptions } from '../../../images/index.ts';
import { parseLayerCompression } from '../../../archive/index.ts';
import type { Credentials } from '../../../registry/index.ts';
import type { AuthConfig, AuthResponse, DistributionInspect, JsonMessage } from '../../../api/types/index.ts';
import { invalidArgument, messageOf } from '../../../errdefs/index.ts';
import { boolValue } from '../query.ts';
import { parseFilters } from '../filters.ts';
import { familiarName, parseReference, type Platform } from '../../../spec/index.ts';

export interface TransferDeps {
  images: ImageService;
  host: Host;
  /** Scratch space on the data root (emptied at daemon start). */
  tmp: string;
}

/** Decimal units with four significant digits, as go-units' HumanSize: `36.67kB`, `1.057MB`. */
function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/**
 * `[=>      ]  36.67kB/1.057MB`, exactly as dockerd's jsonmessage renders the `progress` string
 * (old clients print it; the docker CLI on a terminal draws its own from progressDetail): a
 * bar of 50, the current size right-aligned in 8, the total unless the count passed it.
 */
export function progressBar(current: number, total?: number): string {
  const cur = humanSize(current).padStart(8);
  if (!total || total <= 0) return cur;
  const pct = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(50 - pct)}] `;
  return current > total ? `${bar}${cur}` : `${bar}${cur}/${humanSize(total)}`;
}

async function streamed(out: StreamWriter, fn: () => Promise<void>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    out.write({ errorDetail: { message: messageOf(e) }, error: messageOf(e) });
    return false;
  } finally {
    out.end();
  }
}

/**
 * The request body as a stream the service may destroy on error without resetting the
 * connection: the rest of the upload is then read and dropped, so the client, still sending,
 * gets to read the error.
 */
function body(raw: IncomingMessage): { stream: Readable; drain(): void } {
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  raw.pipe(stream);
  return {
    stream,
    drain() {
      raw.unpipe(stream);
      raw.resume();
    },
  };
}

/**
 * `X-Registry-Auth`: base64url (or standard base64) JSON `{username, password, serveraddress,
 * identitytoken, registrytoken}`; absent, empty, `e30=` or unreadable means anonymous.
 */
export function registryAuth(header: string | string[] | undefined): Credentials | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(Buffer.from(h.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
  if (!j || typeof j !== 'object') return undefined;
  const str = (k: string) => (typeof j[k] === 'string' && j[k] ? (j[k] as string) : undefined);
  const c: Credentials = {
    username: str('username'),
    password: str('password'),
    identityToken: str('identitytoken'),
    registryToken: str('registrytoken'),
  };
  return c.username || c.identityToken || c.registryToken ? c : undefined;
}

/**
 * A JSON-lines answer that starts with its first message, as dockerd's does: an error before
 * anything was written is a plain error answer with its status code (a 404 for an unknown tag);
 * after, it is the stream's last message. `signal` aborts when the client goes away.
 */
async function lazyStream(
  req: Request,
  res: Response,
  fn: (write: (obj: unknown) => void, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const gone = () => ac.abort();
  req.raw.socket?.once('close', gone);
  let out: StreamWriter | undefined;
  const write = (obj: unknown) => {
    if (!out) {
      out = res.stream();
      out.onClose(gone);
    }
    out.write(obj);
  };
  try {
    await fn(write, ac.signal);
  } catch (e) {
    if (!out) throw e;
    out.write({ errorDetail: { message: messageOf(e) }, error: messageOf(e) });
  } finally {
    req.raw.socket?.off('close', gone);
    out?.end();
  }
}

/** A progress message in dockerd's field order, with the bar string old clients print. */
function progressLine(m: JsonMessage): JsonMessage {
  const pd = m.progressDetail;
  return {
    status: m.status,
    ...(pd ? { progressDetail: pd } : {}),
    ...(pd?.current !== undefined ? { progress: progressBar(pd.current, pd.total) } : {}),
    ...(m.id ? { id: m.id } : {}),
  };
}

/** `POST /images/{name}/push?tag=`: one tag, or all of the repository's when `tag` is empty. */
export async function pushRoute(
  images: ImageService,
  tmp: string,
  name: string,
  req: Request,
  res: Response,
): Promise<void> {
  const tag = req.query.get('tag') || undefined;
  // Berth's own parameter (the docker CLI sends none): how new layers are compressed.
  const c = req.query.get('compression');
  const compression = c ? parseLayerCompression(c) : undefined;
  // An unknown local image is a 404 before any streaming, as dockerd answers it.
  const plan = images.planPush(name, tag);
  const creds = registryAuth(req.raw.headers['x-registry-auth']);
  await lazyStream(req, res, async (write, signal) => {
    await images.push(plan, {
      tmp,
      creds,
      compression,
      signal,
      out: (m) => write(progressLine(m)),
      aux: (a) => write({ progressDetail: {}, aux: a }),
    });
  });
}

export function registerTransfer(r: Router, d: TransferDeps): void {
  r.post('/images/create', async (req, res) => {
    const fromSrc = req.query.get('fromSrc');
    const fromImage = req.query.get('fromImage');
    if (fromSrc === null && fromImage === null)
      return res.json(400, { message: 'either fromSrc or fromImage must be given' });
    if (fromImage !== null) {
      const tag = req.query.get('tag');
      const name = tag ? `${fromImage}${tag.startsWith('sha256:') ? '@' : ':'}${tag}` : fromImage;
      let ref;
      try {
        ref = parseReference(name);
      } catch {
        return res.json(400, { message: `invalid reference format: ${name}` });
      }
      const p = req.query.get('platform');
      let platform: Platform | undefined;
      if (p) platform = parsePlatform(p);
      if (ref.domain === 'docker.io' && !(await d.images.reachable(name))) {
        // No registry on the internet is reachable from here: say so, and how to get base images.
        const out = res.stream();
        await streamed(out, async () => {
          const local = d.images.store.find(name);
          throw invalidArgument(
            `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ` +
              `no registry can be reached from this daemon` +
              (local
                ? ` (${name} is already present locally)`
                : ` (base images can be made offline: berth image bootstrap busybox | debian:bookworm, or give berthd --registry-mirror or a docker.io/hosts.toml in /etc/berth/certs.d)`),
          );
        });
        return;
      }
      const creds = registryAuth(req.raw.headers['x-registry-auth']);
      // No tag in either parameter: every tag of the repository (`docker pull -a`), as dockerd.
      const all = !tag && !/@|:[^/]*$/.test(fromImage);
      await lazyStream(req, res, async (write, signal) => {
        const o = { tmp: d.tmp, creds, platform, signal, out: (m: JsonMessage) => write(progressLine(m)) };
        if (all) await d.images.pullAll(fromImage, o);
        else await d.images.pull(name, o);
      });
      return;
    }
    if (fromSrc !== '-') {
      const out = res.stream();
      await streamed(out, async () => {
        throw invalidArgument(
          `import from "${fromSrc}": only an uploaded archive (-) can be imported: this daemon cannot reach outside URLs`,
        );
      });
      return;
    }
    const repo = req.query.get('repo');
    const tag = req.query.get('tag');
    const ref = repo ? (tag ? `${repo}:${tag}` : repo) : undefined;
    const platform = req.query.get('platform');
    if (platform && !/^linux(\/|$)/.test(platform))
      return res.json(400, { message: `import: platform "${platform}" is not supported: only linux images run here` });
    const changes = req.query.getAll('changes');
    // A bad name or change is a 400 before any streaming, as dockerd answers it.
    d.images.checkImport(ref, changes);
    const b = body(req.raw);
    const out = res.stream();
    const ok = await streamed(out, async () => {
      const img = await d.images.import(b.stream, {
        ref,
        changes,
        message: req.query.get('message') ?? undefined,
        progress: (m) => {
          const cur = m.progressDetail?.current ?? 0;
          out.write({ status: 'Importing', progressDetail: { current: cur }, progress: progressBar(cur) });
        },
      });
      out.write({ status: img.id });
    });
    if (!ok) b.drain();
  });

  r.get('/distribution/{name*}', async (req, res) => {
    const name = req.params.name!;
    if (!name.endsWith('/json')) return res.json(404, { message: 'page not found' });
    res.json(
      200,
      (await d.images.distribution(
        name.slice(0, -5),
        registryAuth(req.raw.headers['x-registry-auth']),
      )) satisfies DistributionInspect,
    );
  });

  // `docker login`: the credentials are checked against the registry's /v2/.
  r.post('/auth', async (req, res) => {
    const b = (await req.json<AuthConfig | null>()) ?? {};
    // Read defensively: a value that is not a string is taken as absent.
    const str = (k: keyof AuthConfig) => (typeof b[k] === 'string' && b[k] ? b[k] : undefined);
    await d.images.login(str('serveraddress') ?? 'docker.io', {
      username: str('username'),
      password: str('password'),
      identityToken: str('identitytoken'),
      registryToken: str('registrytoken'),
    });
    res.json(200, { Status: 'Login Succeeded', IdentityToken: '' } satisfies AuthResponse);
  });

  // `docker search`: the registry the term names, asked through its v1 search API.
  r.get('/images/search', async (req, res) => {
    const term = req.query.get('term') ?? '';
    const raw = req.query.get('limit');
    const limit = raw === null || raw === '' || raw === '0' ? 25 : Number(raw);
    if (!Number.isInteger(limit)) throw invalidArgument(`invalid limit "${raw}": not an integer`);
    const filters = parseFilters(req.query.get('filters'));
    res.json(200, await searchImages(d.images.registry, term, { limit, filters }));
  });

  r.post('/images/load', async (req, res) => {
    const quiet = boolValue(req.query.get('quiet'));
    const b = body(req.raw);
    const out = res.stream();
    const ok = await streamed(out, async () => {
      await d.images.load(b.stream, {
        tmp: d.tmp,
        host: d.host,
        quiet,
        out: (m) => {
          if (m.stream !== undefined) return out.write({ stream: m.stream });
          const pd = m.progressDetail;
          out.write({
            status: m.status,
            ...(m.id ? { id: m.id } : {}),
            ...(pd ? { progressDetail: pd, progress: progressBar(pd.current ?? 0, pd.total) } : {}),
          });
        },
      });
    });
    if (!ok) b.drain();
  });

  r.get('/images/get', async (req, res) => {
    // One name a parameter (`names=a&names=b`), as dockerd reads it: a comma is no separator.
    const names = req.query.getAll('names');
    const c = req.query.get('compression');
    await sendArchive(d.images, names, res, c ? parseLayerCompression(c) : undefined);
  });

  // `berth image pack`: the image as one squashfs file (Berth's own endpoint).
  r.get('/berth/v1/images/pack', async (req, res) => {
    const name = req.query.get('name');
    if (!name) return res.json(400, { message: 'pack: no image name given' });
    const { file, done } = await d.images.pack(name, { host: d.host, tmp: d.tmp });
    try {
      const { size } = await stat(file);
      res.raw.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
      await pipeline(createReadStream(file), res.raw);
    } finally {
      await done();
    }
  });

  r.post('/berth/v1/images/bootstrap', async (req, res) => {
    const ref = req.query.get('image') ?? 'busybox';
    const out = res.stream();
    await streamed(out, async () => {
      out.write({ status: `Bootstrapping ${ref}` });
      const img = await d.images.bootstrap(ref, { host: d.host, tmp: d.tmp }, (m) => {
        const pd = m.progressDetail;
        out.write({ ...m, ...(pd ? { progress: progressBar(pd.current ?? 0, pd.total) } : {}) });
      });
      out.write({ aux: { ID: img.id } });
      out.write({ status: `Successfully bootstrapped ${ref}` });
    });
  });
}

/**
 * Streams a save archive. Names are resolved before the headers go out (an unknown image is a
 * plain 404); a client that goes away stops the reading of blobs.
 */
async function sendArchive(
  images: ImageService,
  names: string[],
  res: Response,
  compression?: SaveOptions['compression'],
): Promise<void> {
  const tar = await images.save(names, compression ? { compression } : {});
  res.raw.writeHead(200, { 'Content-Type': 'application/x-tar' });
  res.raw.on('close', () => tar.destroy());
  tar.on('error', () => res.raw.destroy());
  tar.pipe(res.raw);
}

/** `GET /images/{name}/get`, dispatched from the greedy image route. */
export async function saveOne(images: ImageService, name: string, res: Response, compression?: string): Promise<void> {
  await sendArchive(images, [name], res, compression ? parseLayerCompression(compression) : undefined);
}
