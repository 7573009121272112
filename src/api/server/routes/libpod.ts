/**
 * The part of Libpod's container API (Podman 4.3's paths and JSON) that `podman --remote run`
 * needs to put a container in one of Berth's pods: the image pull with a policy, the container
 * create from Podman's spec generator, start and existence checks. The spec is turned into the
 * Engine API's create request at this edge (`libpod-spec.ts`), so the container service knows
 * one shape.
 */
import type { Router } from '../router.ts';
import type { ContainerCreateRequest, ContainerCreateResponse, JsonMessage } from '../../../api/types/index.ts';
import { invalidArgument, messageOf, notFound } from '../../../errdefs/index.ts';
import type { ImageService } from '../../../services/images/index.ts';
import type { ContainerService } from '../../../services/containers/index.ts';
import { specToCreate, type SpecGenerator } from '../libpod-spec.ts';

export interface LibpodDeps {
  containers: ContainerService;
  images: ImageService;
  /** Scratch space for pulls (the data root's tmp). */
  tmp: string;
  createInPod: (pod: string, body: ContainerCreateRequest, name?: string) => Promise<ContainerCreateResponse>;
}

export function registerLibpod(r: Router, d: LibpodDeps): void {
  // Podman pulls before it creates (`--pull missing` by default): one JSON object per line,
  // `stream` for progress, `images`/`id` at the end, `error` when it fails.
  r.post('/libpod/images/pull', async (req, res) => {
    const ref = req.query.get('reference');
    if (!ref) throw invalidArgument('reference parameter cannot be empty');
    const policy = (req.query.get('policy') || 'always').toLowerCase();
    if (!['always', 'missing', 'newer', 'never'].includes(policy))
      throw invalidArgument(`unsupported pull policy ${JSON.stringify(policy)}`);
    const out = res.stream();
    try {
      let img = d.images.store.find(ref);
      if (!img || policy === 'always') {
        if (policy === 'never') throw notFound(`${ref}: image not known`);
        const result = await d.images.pull(ref, {
          tmp: d.tmp,
          out: (m: JsonMessage) => {
            // Podman shows lines, not bars: the steps that end something.
            if (m.status && !m.progressDetail) out.write({ stream: `${m.id ? `${m.id}: ` : ''}${m.status}\n` });
          },
        });
        img = result.image;
      }
      out.write({ images: [img.id.replace(/^sha256:/, '')], id: img.id.replace(/^sha256:/, '') });
    } catch (e) {
      out.write({ error: messageOf(e) });
    } finally {
      out.end();
    }
  });

  r.get('/libpod/images/{name}/exists', (req, res) => {
    if (!d.images.store.find(req.params.name!)) throw notFound(`${req.params.name}: image not known`);
    res.empty(204);
  });

  r.post('/libpod/containers/create', async (req, res) => {
    const { name, pod, body } = specToCreate(await req.json<SpecGenerator>());
    const created = pod ? await d.createInPod(pod, body, name) : await d.containers.create(body, name);
    res.json(201, { Id: created.Id, Warnings: created.Warnings ?? [] });
  });

  r.post('/libpod/containers/{id}/start', async (req, res) => {
    const c = d.containers.get(req.params.id!);
    if (c.State.Running) return res.empty(304);
    await d.containers.start(c.Id);
    res.empty(204);
  });

  r.get('/libpod/containers/{id}/exists', (req, res) => {
    if (!d.containers.store.find(req.params.id!))
      throw notFound(`no container with name or ID "${req.params.id}" found`);
    res.empty(204);
  });
}
