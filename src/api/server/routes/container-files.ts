/**
 * The container routes of what goes in and out of it as files: checkpoints (CRIU's image of its
 * processes — create, list, remove — and Berth's export and import of one as a tar, to move it
 * to another daemon), `docker diff` (changes), `docker commit`, `docker cp` (the archive
 * endpoints) and `docker export`. containers.ts's registerContainers registers them.
 */
import type { Readable } from 'node:stream';
import type { Router } from '../router.ts';
import { invalidArgument } from '../../../errdefs/index.ts';
import type { ContainerService } from '../../../services/containers/index.ts';
import type {
  CheckpointCreateRequest,
  CheckpointSummary,
  ContainerConfig,
  FilesystemChange,
  IdResponse,
  PathStat,
} from '../../../api/types/index.ts';
import { boolValue } from '../query.ts';

/** `exportRootfs`: a container's root file system as a tar (`docker export`), where the daemon has it. */
export function registerContainerFiles(
  r: Router,
  svc: ContainerService,
  exportRootfs?: (ref: string) => Promise<Readable>,
): void {
  // Checkpoints (experimental in dockerd; the CLI asks for them only of an experimental daemon).
  r.post('/containers/{id}/checkpoints', async (req, res) => {
    const body = (await req.json<CheckpointCreateRequest | null>()) ?? {};
    await svc.checkpoints.create(req.params.id!, body);
    res.empty(201);
  });

  r.get('/containers/{id}/checkpoints', async (req, res) => {
    res.json(
      200,
      (await svc.checkpoints.list(req.params.id!, req.query.get('dir') || undefined)) satisfies CheckpointSummary[],
    );
  });

  // Berth's own: a checkpointed container as one tar, to move to another daemon (migration.ts).
  r.get('/berth/v1/containers/{id}/checkpoints/{name}/export', async (req, res) => {
    const tar = await svc.migration.export(req.params.id!, req.params.name!);
    res.raw.writeHead(200, { 'Content-Type': 'application/x-tar' });
    tar.on('error', () => res.raw.destroy());
    res.raw.on('close', () => tar.destroy());
    tar.pipe(res.raw);
  });

  r.post('/berth/v1/containers/checkpoints/import', async (req, res) => {
    res.json(200, await svc.migration.import(req.raw, req.query.get('name') || undefined));
  });

  r.delete('/containers/{id}/checkpoints/{name}', async (req, res) => {
    await svc.checkpoints.remove(req.params.id!, req.params.name!, req.query.get('dir') || undefined);
    res.empty(204);
  });

  r.get('/containers/{id}/changes', async (req, res) => {
    const list = await svc.diff(req.params.id!);
    res.json(200, list.map((ch) => ({ Path: ch.path, Kind: ch.kind })) satisfies FilesystemChange[]);
  });

  r.post('/commit', async (req, res) => {
    const ref = req.query.get('container');
    if (!ref) throw invalidArgument('commit: no container given');
    const body = await req.json<ContainerConfig | null>();
    if (body !== null && (typeof body !== 'object' || Array.isArray(body)))
      throw invalidArgument('commit: the config must be a JSON object');
    const repo = req.query.get('repo') ?? '';
    const tag = req.query.get('tag') ?? '';
    if (!repo && tag) throw invalidArgument('commit: a tag needs a repository');
    res.json(
      201,
      (await svc.commit(ref, {
        ref: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
        comment: req.query.get('comment') ?? undefined,
        author: req.query.get('author') ?? undefined,
        changes: req.query
          .getAll('changes')
          .flatMap((c) => c.split('\n'))
          .filter((c) => c.trim()),
        pause: boolValue(req.query.get('pause'), true),
        config: body ?? undefined,
      })) satisfies IdResponse,
    );
  });

  const pathStatHeader = (stat: PathStat) => Buffer.from(JSON.stringify(stat)).toString('base64');
  const archivePath = (req: { query: URLSearchParams }) => {
    const p = req.query.get('path');
    if (!p) throw invalidArgument('path cannot be empty');
    return p;
  };
  r.head('/containers/{id}/archive', async (req, res) => {
    const stat = await svc.statPath(req.params.id!, archivePath(req));
    res.raw.writeHead(200, { 'X-Docker-Container-Path-Stat': pathStatHeader(stat) });
    res.raw.end();
  });
  r.get('/containers/{id}/archive', async (req, res) => {
    const { stat, tar } = await svc.getArchive(req.params.id!, archivePath(req));
    res.raw.writeHead(200, {
      'Content-Type': 'application/x-tar',
      'X-Docker-Container-Path-Stat': pathStatHeader(stat),
    });
    tar.on('error', () => res.raw.destroy());
    res.raw.on('close', () => tar.destroy());
    tar.pipe(res.raw);
  });
  r.put('/containers/{id}/archive', async (req, res) => {
    await svc.putArchive(req.params.id!, archivePath(req), req.raw, {
      copyUIDGID: boolValue(req.query.get('copyUIDGID')),
    });
    res.empty(200);
  });

  if (exportRootfs) {
    r.get('/containers/{id}/export', async (req, res) => {
      const tar = await exportRootfs(req.params.id!);
      res.raw.writeHead(200, { 'Content-Type': 'application/x-tar' });
      tar.pipe(res.raw);
    });
  }
}
