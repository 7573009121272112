/**
 * A small in-memory registry for tests of the client and of pull and push: just the
 * distribution-spec calls they make (ping, manifests, blobs, monolithic uploads, mounts),
 * optional token or basic auth, redirects of blob reads, and faults on request (a blob served
 * with wrong bytes, a connection dropped mid-blob). Listens on 127.0.0.1 only. Not the
 * registry server Berth ships.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Digest } from '../spec/index.ts';

export interface FakeRegistryOptions {
  auth?: { scheme: 'bearer' | 'basic'; username: string; password: string };
  /** Blob GETs answer 307 to /storage/<digest>. */
  redirectBlobs?: boolean;
}

export interface FakeRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  blobs: Map<string, Buffer>;
  /** repo → digests it holds */
  repoBlobs: Map<string, Set<string>>;
  /** repo → ref (tag or digest) → manifest */
  manifests: Map<string, Map<string, { mediaType: string; bytes: Buffer }>>;
  /** `METHOD path` of every request, in order. */
  log: string[];
  /** Served with a flipped byte. */
  corrupt: Set<string>;
  /** Connection destroyed after half of the blob. */
  drop: Set<string>;
  /** Served 64 KiB every 20 ms (time for a test to interrupt). */
  slow: Set<string>;
  addBlob(repo: string, data: Buffer): Digest;
  addManifest(repo: string, tag: string | undefined, mediaType: string, bytes: Buffer): Digest;
  close(): Promise<void>;
}

const digestOf = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startFakeRegistry(opts: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const blobs = new Map<string, Buffer>();
  const repoBlobs = new Map<string, Set<string>>();
  const manifests = new Map<string, Map<string, { mediaType: string; bytes: Buffer }>>();
  const uploads = new Map<string, string>();
  const partial = new Map<string, Buffer>();
  const log: string[] = [];
  const corrupt = new Set<string>();
  const drop = new Set<string>();
  const slow = new Set<string>();
  const has = (repo: string, d: string) => repoBlobs.get(repo)?.has(d) ?? false;
  const give = (repo: string, d: string) => {
    if (!repoBlobs.has(repo)) repoBlobs.set(repo, new Set());
    repoBlobs.get(repo)!.add(d);
  };
  const err = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message }] }));
  };
  let server!: Server;
  const origin = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const basicOk = (h: string | undefined) => {
    const a = opts.auth!;
    return h === `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
  };
  const authorized = (req: IncomingMessage, res: ServerResponse, scope: string): boolean => {
    const a = opts.auth;
    if (!a) return true;
    const h = req.headers.authorization;
    if (a.scheme === 'basic') {
      if (basicOk(h)) return true;
      res.setHeader('WWW-Authenticate', 'Basic realm="fake"');
    } else {
      if (
        h?.startsWith('Bearer tok:') &&
        (scope === '' ||
          h
            .slice(11)
            .split(' ')
            .some((s) => s === scope || s.replace(/:pull,push$/, ':pull') === scope))
      )
        return true;
      res.setHeader(
        'WWW-Authenticate',
        `Bearer realm="${origin()}/token",service="fake"${scope ? `,scope="${scope}"` : ''}`,
      );
    }
    err(res, 401, 'UNAUTHORIZED', 'authentication required');
    return false;
  };
  const body = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve) => {
      const c: Buffer[] = [];
      req.on('data', (b: Buffer) => c.push(b));
      req.on('end', () => resolve(Buffer.concat(c)));
    });

  server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const method = req.method!;
    log.push(`${method} ${url.pathname}${url.search}`);
    // As every distribution registry answers (the distribution suite checks it).
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    const p = url.pathname;
    if (p === '/token') {
      if (!basicOk(req.headers.authorization)) return err(res, 401, 'UNAUTHORIZED', 'bad credentials');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ token: `tok:${url.searchParams.getAll('scope').join(' ')}` }));
    }
    if (p.startsWith('/storage/')) {
      const b = blobs.get(p.slice(9));
      if (!b) return err(res, 404, 'BLOB_UNKNOWN', 'blob unknown');
      res.writeHead(200, { 'Content-Length': b.length });
      return res.end(b);
    }
    if (p === '/v2/' || p === '/v2') {
      if (!authorized(req, res, '')) return;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('{}');
    }
    const tl = /^\/v2\/(.+)\/tags\/list$/.exec(p);
    if (tl) {
      if (!authorized(req, res, `repository:${tl[1]}:pull`)) return;
      const refs = manifests.get(tl[1]!);
      if (!refs) return err(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(
        JSON.stringify({ name: tl[1], tags: [...refs.keys()].filter((k) => !k.startsWith('sha256:')).sort() }),
      );
    }
    let m = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(p);
    if (m) {
      const repo = m[1]!;
      if (!authorized(req, res, `repository:${repo}:pull,push`)) return;
      if (method === 'POST') {
        const mount = url.searchParams.get('mount');
        const from = url.searchParams.get('from');
        if (mount && from && has(from, mount)) {
          give(repo, mount);
          res.writeHead(201, { Location: `/v2/${repo}/blobs/${mount}`, 'Docker-Content-Digest': mount });
          return res.end();
        }
        const id = randomBytes(8).toString('hex');
        uploads.set(id, repo);
        res.writeHead(202, {
          Location: `/v2/${repo}/blobs/uploads/${id}?state=x`,
          'Docker-Upload-UUID': id,
          Range: '0-0',
        });
        return res.end();
      }
      if (method === 'PATCH') {
        // Chunked uploads, as dockerd sends them.
        const id = m[2]!;
        if (uploads.get(id) !== repo) return err(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'upload unknown');
        const data = Buffer.concat([partial.get(id) ?? Buffer.alloc(0), await body(req)]);
        partial.set(id, data);
        res.writeHead(202, {
          Location: `/v2/${repo}/blobs/uploads/${id}`,
          Range: `0-${Math.max(0, data.length - 1)}`,
          'Docker-Upload-UUID': id,
        });
        return res.end();
      }
      if (method === 'PUT') {
        const id = m[2]!;
        if (uploads.get(id) !== repo) return err(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'upload unknown');
        const data = Buffer.concat([partial.get(id) ?? Buffer.alloc(0), await body(req)]);
        partial.delete(id);
        const want = url.searchParams.get('digest');
        if (digestOf(data) !== want)
          return err(res, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
        uploads.delete(id);
        blobs.set(want, data);
        give(repo, want);
        res.writeHead(201, { Location: `/v2/${repo}/blobs/${want}`, 'Docker-Content-Digest': want });
        return res.end();
      }
      return err(res, 405, 'UNSUPPORTED', 'unsupported');
    }
    m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(p);
    if (!m) return err(res, 404, 'NOT_FOUND', 'not found');
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (!authorized(req, res, method === 'PUT' ? `repository:${repo}:pull,push` : `repository:${repo}:pull`)) return;
    if (kind === 'blobs') {
      const b = blobs.get(ref);
      if (!b || !has(repo, ref)) return err(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
      if (method === 'HEAD') {
        res.writeHead(200, { 'Content-Length': b.length, 'Docker-Content-Digest': ref });
        return res.end();
      }
      if (opts.redirectBlobs) {
        res.writeHead(307, { Location: `${origin()}/storage/${ref}` });
        return res.end();
      }
      if (slow.has(ref)) {
        res.writeHead(200, { 'Content-Length': b.length });
        let off = 0;
        const t = setInterval(() => {
          if (res.destroyed || off >= b.length) {
            clearInterval(t);
            res.end();
            return;
          }
          res.write(b.subarray(off, (off += 64 * 1024)));
        }, 20);
        return;
      }
      if (drop.has(ref)) {
        res.writeHead(200, { 'Content-Length': b.length });
        res.write(b.subarray(0, b.length >> 1));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      const out = corrupt.has(ref) ? Buffer.from(b) : b;
      if (corrupt.has(ref)) out[0] = out[0]! ^ 0xff;
      res.writeHead(200, { 'Content-Length': out.length, 'Docker-Content-Digest': ref });
      return res.end(out);
    }
    if (method === 'PUT') {
      const data = await body(req);
      const mt = String(req.headers['content-type'] ?? '');
      const d = digestOf(data);
      if (!manifests.has(repo)) manifests.set(repo, new Map());
      manifests.get(repo)!.set(ref, { mediaType: mt, bytes: data });
      manifests.get(repo)!.set(d, { mediaType: mt, bytes: data });
      res.writeHead(201, { Location: `/v2/${repo}/manifests/${d}`, 'Docker-Content-Digest': d });
      return res.end();
    }
    const man = manifests.get(repo)?.get(ref);
    if (!man) {
      if (!manifests.has(repo)) return err(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
      return err(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    }
    res.writeHead(200, {
      'Content-Type': man.mediaType,
      'Content-Length': man.bytes.length,
      'Docker-Content-Digest': digestOf(man.bytes),
    });
    res.end(method === 'HEAD' ? undefined : man.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    blobs,
    repoBlobs,
    manifests,
    log,
    corrupt,
    drop,
    slow,
    addBlob(repo, data) {
      const d = digestOf(data);
      blobs.set(d, data);
      give(repo, d);
      return d;
    },
    addManifest(repo, tag, mediaType, bytes) {
      const d = digestOf(bytes);
      if (!manifests.has(repo)) manifests.set(repo, new Map());
      manifests.get(repo)!.set(d, { mediaType, bytes });
      if (tag) manifests.get(repo)!.set(tag, { mediaType, bytes });
      return d;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
