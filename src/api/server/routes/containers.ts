/**
 * The container routes of the Engine API: create (a squashfs file as the image, a pod's
 * member), list and prune, inspect, and the lifecycle — start, stop, restart, kill, pause,
 * wait, remove, rename, top, stats, update, resize. Beside it: container-files.ts
 * (checkpoints, diff, commit, cp, export) and container-streams.ts (logs and attach, and the
 * frame pump exec shares), both registered from registerContainers.
 */
import type { Router } from '../router.ts';
import { BerthError, categoryOf, invalidArgument, notFound, notImplemented } from '../../../errdefs/index.ts';
import { normaliseSignal } from '../../../spec/index.ts';
import {
  ContainerService,
  summary,
  inspect,
  type ContainerRecord,
  type UpdateRequest,
  checkNetworkConflicts,
  networkAndPortFilter,
} from '../../../services/containers/index.ts';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerPruneReport,
  ContainerSummary,
  ContainerTop,
  ContainerUpdateResponse,
  WaitResponse,
} from '../../../api/types/index.ts';
import { parseFilters, assertKnownFilters } from '../filters.ts';
import { boolValue, optionalInt } from '../query.ts';
import { parseTime } from './system.ts';
import { matchLabel, parsePlatform } from '../../../services/images/index.ts';
import { registerContainerFiles } from './container-files.ts';
import { attachHandler, logsHandler, terminalSize } from './container-streams.ts';

export interface ContainerRouteDeps {
  containers: ContainerService;
  lowerDirs: (c: ContainerRecord) => string[];
  imageIdOf: (ref: string) => string | undefined;
  exportRootfs?: (ref: string) => Promise<import('node:stream').Readable>;
  /** An image that runs from a squashfs file (its ID): the rootfs-file mount below. */
  rootfsFile?: (path: string) => Promise<string>;
  /** `POST /containers/create?pod=NAME`: a member of a pod (the pods service's createMember). */
  createInPod?: (
    pod: string,
    body: ContainerCreateRequest,
    name: string | undefined,
    opts: { init: boolean; platform?: string },
  ) => Promise<ContainerCreateResponse>;
}

/**
 * How the API names a file image (Berth's own meaning of a mount dockerd refuses): a bind
 * mount of a squashfs file on `/` — `--mount type=bind,source=/srv/app.sqfs,target=/` or
 * `-v /srv/app.sqfs:/` — with the image `scratch`. The mount is taken out of the request and
 * the file becomes the container's image, run read-only from the file with a writable layer
 * on top. Returns the file, or undefined when there is no such mount.
 */
export function takeRootfsFile(body: ContainerCreateRequest): string | undefined {
  const hc = body.HostConfig;
  // Mounts are parsed by the volume service later; here only this one shape is looked for.
  const mounts = (hc?.Mounts ?? []) as Array<{ Type?: unknown; Target?: unknown; Source?: unknown }>;
  const i = mounts.findIndex((m) => m && m.Type === 'bind' && m.Target === '/');
  let file: string | undefined;
  if (i >= 0) {
    file = typeof mounts[i]!.Source === 'string' ? (mounts[i]!.Source as string) : undefined;
    mounts.splice(i, 1);
  } else {
    const binds = hc?.Binds ?? [];
    // Only a host path: `-v NAME:/` names a volume, which the volume service refuses as dockerd does.
    const j = binds.findIndex((b) => /^\/[^:]*:\/(:r[ow])?$/.test(b));
    if (j < 0) return undefined;
    file = binds[j]!.split(':')[0];
    binds.splice(j, 1);
  }
  if (!file || !file.startsWith('/')) throw invalidArgument(`rootfs file "${file ?? ''}": the path must be absolute`);
  if (body.Image && body.Image !== 'scratch')
    throw invalidArgument(
      `rootfs file "${file}": it replaces the image, so the image must be "scratch", not "${body.Image}"`,
    );
  return file;
}

export function registerContainers(r: Router, deps: ContainerRouteDeps): void {
  const svc = deps.containers;

  r.post('/containers/create', async (req, res) => {
    const body = await req.json<ContainerCreateRequest>();
    const name = req.query.get('name') ?? undefined;
    const platform = req.query.get('platform') || undefined;
    // A platform that does not parse is refused before the image is looked for, as dockerd does.
    if (platform) parsePlatform(platform);
    const file = takeRootfsFile(body);
    if (file !== undefined) {
      if (!deps.rootfsFile) throw notImplemented('running from a squashfs file is not available here');
      body.Image = await deps.rootfsFile(file);
    }
    // Berth's extension: `?pod=NAME` puts the container in a pod (`berth run --pod`, kube play),
    // `&init_ctr=always` makes it one of the pod's init containers.
    const pod = req.query.get('pod');
    if (pod) {
      if (!deps.createInPod) throw invalidArgument('this daemon has no pods');
      const init = req.query.get('init_ctr');
      if (init && init !== 'always') throw invalidArgument(`init container type "${init}": only "always" is supported`);
      res.json(
        201,
        (await deps.createInPod(pod, body, name, {
          init: init === 'always',
          platform,
        })) satisfies ContainerCreateResponse,
      );
      return;
    }
    // moby's API decoder refuses these for a Docker client; a pod's members are joined by Berth.
    checkNetworkConflicts(body);
    res.json(201, (await svc.create(body, name, platform)) satisfies ContainerCreateResponse);
  });

  r.get('/containers/json', async (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, [
      'status',
      'name',
      'id',
      'label',
      'exited',
      'ancestor',
      'before',
      'since',
      'network',
      'volume',
      'health',
      'is-task',
      'publish',
      'expose',
    ]);
    const all = boolValue(req.query.get('all'));
    const limit = optionalInt(req.query.get('limit')) ?? -1;
    for (const s of f.status ?? []) {
      if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s))
        throw invalidArgument(`invalid filter 'status=${s}'`);
    }
    // Newest first; each creation time parsed once, not at every comparison.
    let list = svc
      .list()
      .map((c) => ({ c, at: Date.parse(c.Created) }))
      .sort((a, b) => b.at - a.at || (b.c.Id < a.c.Id ? -1 : 1))
      .map((x) => x.c);
    const showAll = all || limit > 0 || !!f.status || !!f.exited;
    if (!showAll)
      list = list.filter((c) => c.State.Running || c.State.Status === 'paused' || c.State.Status === 'restarting');
    const ancestorIds = f.ancestor?.map((a) => deps.imageIdOf(a)).filter(Boolean);
    const before = f.before?.[0] ? svc.get(f.before[0]) : undefined;
    const since = f.since?.[0] ? svc.get(f.since[0]) : undefined;
    list = list.filter(
      (c) =>
        (!f.status || f.status.includes(c.State.Status)) &&
        (!f.name || f.name.some((n) => new RegExp(n.replace(/^\//, '')).test(c.Name))) &&
        (!f.id || f.id.some((i) => c.Id.startsWith(i))) &&
        (!f.label || f.label.every((l) => matchLabel(c.Config.Labels ?? {}, l))) &&
        (!f.exited || (c.State.Status === 'exited' && f.exited.includes(String(c.State.ExitCode)))) &&
        (!f.health || f.health.includes(c.State.Running ? (c.State.Health?.Status ?? 'none') : 'none')) &&
        (!ancestorIds || ancestorIds.includes(c.Image)) &&
        (!f.volume || f.volume.some((v) => c.MountPoints?.some((m) => m.Name === v || m.Destination === v))) &&
        (!before || Date.parse(c.Created) < Date.parse(before.Created)) &&
        (!since || Date.parse(c.Created) > Date.parse(since.Created)),
    );
    const onNetworkOrPort = networkAndPortFilter(f);
    if (onNetworkOrPort) list = list.filter(onNetworkOrPort);
    if (limit > 0) list = list.slice(0, limit);
    const now = Date.now();
    const withSize = boolValue(req.query.get('size'));
    if (!withSize) {
      // The rows' JSON text, mostly cached (SummaryRows): what `docker ps` costs at 1000 containers.
      res.text(200, `${svc.listJson(list, now)}\n`, 'application/json');
      return;
    }
    const imageName = svc.imageNamer();
    res.json(
      200,
      (await Promise.all(
        list.map(async (c) => ({ ...summary(c, imageName(c), now), ...(await svc.sizes(c.Id)) })),
      )) satisfies ContainerSummary[],
    );
  });

  r.post('/containers/prune', async (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['label', 'label!', 'until']);
    // Given, `until` must parse, even empty, as dockerd has it.
    const until = f.until ? parseTime(f.until[0] ?? '', true, true) : undefined;
    res.json(
      200,
      (await svc.prune(
        (c) =>
          (!f.label || f.label.every((l) => matchLabel(c.Config.Labels ?? {}, l))) &&
          (!f['label!'] || !f['label!'].some((l) => matchLabel(c.Config.Labels ?? {}, l))) &&
          (until === undefined || Date.parse(c.Created) * 1e6 < until),
      )) satisfies ContainerPruneReport,
    );
  });

  r.get('/containers/{id}/json', async (req, res) => {
    const c = svc.get(req.params.id!);
    const sizes = boolValue(req.query.get('size')) ? await svc.sizes(c.Id) : {};
    res.json(200, {
      ...inspect(c, svc.dir(c.Id), deps.lowerDirs(c), svc.defaults, (ref) => svc.store.find(ref)?.Name),
      ...sizes,
    } satisfies ContainerInspect);
  });

  r.post('/containers/{id}/start', async (req, res) => {
    await svc.start(req.params.id!, {
      checkpoint: req.query.get('checkpoint') || undefined,
      checkpointDir: req.query.get('checkpoint-dir') || undefined,
    });
    res.empty(204);
  });

  r.post('/containers/{id}/stop', async (req, res) => {
    await svc.stop(req.params.id!, {
      timeout: timeoutParam(req.query.get('t')),
      signal: req.query.get('signal') ?? undefined,
    });
    res.empty(204);
  });

  r.post('/containers/{id}/restart', async (req, res) => {
    await svc.restart(req.params.id!, {
      timeout: timeoutParam(req.query.get('t')),
      signal: req.query.get('signal') ?? undefined,
    });
    res.empty(204);
  });

  r.post('/containers/{id}/kill', async (req, res) => {
    const signal = req.query.get('signal') || 'SIGKILL';
    // An unknown signal is refused before the container is looked for, as dockerd's ParseSignal
    // does; like it, any non-zero number passes here (the kill itself may refuse it).
    if (!/^[+-]?\d+$/.test(signal) || Number(signal) === 0) normaliseSignal(signal);
    // dockerd's router names the kill in every error after that, with the category kept.
    try {
      await svc.kill(req.params.id!, signal);
    } catch (e) {
      throw new BerthError(categoryOf(e), `Cannot kill container: ${req.params.id}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    res.empty(204);
  });

  r.post('/containers/{id}/pause', async (req, res) => {
    await svc.pause(req.params.id!);
    res.empty(204);
  });

  r.post('/containers/{id}/unpause', async (req, res) => {
    await svc.unpause(req.params.id!);
    res.empty(204);
  });

  r.post('/containers/{id}/wait', async (req, res) => {
    const ac = new AbortController();
    const c = svc.get(req.params.id!);
    // Registered (and the condition checked) before the headers: clients (docker run) take
    // them as "wait registered", and a bad condition must still be a 400.
    const waiting = svc.wait(c.Id, req.query.get('condition') ?? '', ac.signal);
    res.raw.writeHead(200, { 'Content-Type': 'application/json' });
    res.raw.flushHeaders();
    res.raw.on('close', () => ac.abort());
    const result = await waiting;
    res.raw.end(JSON.stringify(result satisfies WaitResponse) + '\n');
  });

  // `docker rm --link /web/db`: a legacy link's name is the parent's and the alias, one slash apart.
  r.delete('/containers/{id}/{link}', (req, res) => {
    const name = `${req.params.id}/${req.params.link}`;
    if (!boolValue(req.query.get('link'))) throw notFound(`No such container: ${name}`);
    svc.removeLink(name);
    res.empty(204);
  });

  r.delete('/containers/{id}', async (req, res) => {
    if (boolValue(req.query.get('link'))) {
      svc.removeLink(req.params.id!);
      res.empty(204);
      return;
    }
    await svc.remove(req.params.id!, {
      force: boolValue(req.query.get('force')),
      volumes: boolValue(req.query.get('v')),
    });
    res.empty(204);
  });

  r.post('/containers/{id}/rename', (req, res) => {
    const name = req.query.get('name') ?? '';
    // Checked before the container is looked for, as dockerd does.
    if (name === '') throw invalidArgument('Neither old nor new names may be empty');
    svc.rename(req.params.id!, name);
    res.empty(204);
  });

  r.get('/containers/{id}/top', async (req, res) => {
    res.json(200, (await svc.top(req.params.id!, req.query.get('ps_args') || '-ef')) satisfies ContainerTop);
  });

  r.get('/containers/{id}/stats', async (req, res) => {
    const stream = boolValue(req.query.get('stream'), true);
    const oneShot = boolValue(req.query.get('one-shot'));
    if (oneShot && stream) throw invalidArgument('cannot have stream=true and one-shot=true');
    const ac = new AbortController();
    const samples = svc.stats(req.params.id!, { stream, oneShot, signal: ac.signal });
    const first = await samples.next();
    if (!stream) {
      // One reply, headers and body in one write: `docker stats --no-stream` over a thousand
      // containers made a thousand of these at once, and a stream's three writes each cost.
      res.json(200, first.value);
      return;
    }
    const out = res.stream(200, 'application/json');
    out.onClose(() => ac.abort());
    if (!first.done) out.write(first.value);
    for await (const s of samples) {
      if (out.closed) break;
      out.write(s);
    }
    out.end();
  });

  r.post('/containers/{id}/update', async (req, res) => {
    res.json(
      200,
      (await svc.update(req.params.id!, await req.json<UpdateRequest>())) satisfies ContainerUpdateResponse,
    );
  });

  r.post('/containers/{id}/resize', async (req, res) => {
    const { h, w } = terminalSize(req.query);
    await svc.resize(req.params.id!, h, w);
    res.empty(200);
  });

  // Checkpoints, diff, commit, cp and export (container-files.ts).
  registerContainerFiles(r, svc, deps.exportRootfs);

  // The streams (container-streams.ts).
  r.get('/containers/{id}/logs', logsHandler(svc));

  r.post('/containers/{id}/attach', attachHandler(svc));
}

/** `t` of stop and restart: whole seconds, as Go's Atoi reads them (-1: wait for ever). */
function timeoutParam(t: string | null): number | undefined {
  return optionalInt(t);
}
