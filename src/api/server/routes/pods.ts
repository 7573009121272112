/**
 * Pods in Libpod's shape (`/libpod/pods/...`, Podman 4.3's paths, status codes and JSON), over
 * the pods service. Members are made through `POST /containers/create?pod=NAME` (routes/
 * containers.ts), so Docker-shaped clients, `berth run --pod` among them, can put a container
 * in a pod with the body they already send.
 */
import { API_VERSION, type Response, type Router } from '../router.ts';
import { podFilter, type PodService } from '../../../services/pods/index.ts';
import type {
  PodActionReport,
  PodCreateRequest,
  PodInspectReport,
  PodListEntry,
  PodPruneReport,
  PodRmReport,
  PodStatsReport,
  ContainerTop,
} from '../../../api/types/index.ts';
import { invalidArgument } from '../../../errdefs/index.ts';
import { parseFilters } from '../filters.ts';
import { parseTime } from './system.ts';
import { matchLabel } from '../../../services/images/index.ts';

const truthy = (v: string | null) => v === '1' || v === 'true' || v === 'True';

/** The Libpod API version Berth's pod endpoints follow (Podman 4.3's). */
export const LIBPOD_API_VERSION = '4.3.1';

export function registerPods(r: Router, pods: PodService): void {
  // Podman's clients ping Libpod's own path first and read its version from a header.
  const ping = (method: 'GET' | 'HEAD') => (_req: unknown, res: Response) => {
    res.raw.setHeader('Libpod-API-Version', LIBPOD_API_VERSION);
    res.raw.setHeader('Libpod-Buildah-Version', '1.28.0');
    res.raw.setHeader('Api-Version', API_VERSION);
    res.raw.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    if (method === 'HEAD') res.empty(200);
    else res.text(200, 'OK');
  };
  r.get('/libpod/_ping', ping('GET'));
  r.head('/libpod/_ping', ping('HEAD'));

  r.post('/libpod/pods/create', async (req, res) => {
    // Its members follow as `run --pod` (or kube play's creates): tasks for them may be made ahead.
    res.json(201, await pods.create(await req.json<PodCreateRequest>(), { warmMembers: true }));
  });

  r.get('/libpod/pods/json', (req, res) => {
    const keep = podFilter(parseFilters(req.query.get('filters')), {
      matchLabel,
      parseUntil: (v) => parseTime(v, true)!,
    });
    res.json(200, pods.list(keep) satisfies PodListEntry[]);
  });

  r.post('/libpod/pods/prune', async (_req, res) => {
    res.json(200, (await pods.prune()) satisfies PodPruneReport[]);
  });

  r.get('/libpod/pods/stats', async (req, res) => {
    const names = req.query
      .getAll('namesOrIDs')
      .flatMap((v) => v.split(','))
      .filter(Boolean);
    if (names.length && truthy(req.query.get('all')))
      throw invalidArgument('--all is mutually exclusive with pod names');
    res.json(200, (await pods.stats(names)) satisfies PodStatsReport[]);
  });

  r.get('/libpod/pods/{name}/json', (req, res) => {
    res.json(200, pods.inspect(req.params.name!) satisfies PodInspectReport);
  });

  r.get('/libpod/pods/{name}/exists', (req, res) => {
    if (pods.exists(req.params.name!)) res.empty(204);
    else pods.inspect(req.params.name!);
  });

  r.post('/libpod/pods/{name}/start', async (req, res) => {
    res.json(200, (await pods.start(req.params.name!)) satisfies PodActionReport);
  });
  r.post('/libpod/pods/{name}/stop', async (req, res) => {
    const timeout = seconds(req.query, 't');
    res.json(200, (await pods.stop(req.params.name!, { timeout })) satisfies PodActionReport);
  });
  r.post('/libpod/pods/{name}/restart', async (req, res) => {
    const timeout = seconds(req.query, 't');
    res.json(200, (await pods.restart(req.params.name!, { timeout })) satisfies PodActionReport);
  });
  r.post('/libpod/pods/{name}/kill', async (req, res) => {
    res.json(200, (await pods.kill(req.params.name!, req.query.get('signal') || 'SIGKILL')) satisfies PodActionReport);
  });
  r.post('/libpod/pods/{name}/pause', async (req, res) => {
    res.json(200, (await pods.pause(req.params.name!)) satisfies PodActionReport);
  });
  r.post('/libpod/pods/{name}/unpause', async (req, res) => {
    res.json(200, (await pods.unpause(req.params.name!)) satisfies PodActionReport);
  });
  r.get('/libpod/pods/{name}/top', async (req, res) => {
    res.json(200, (await pods.top(req.params.name!, req.query.get('ps_args') || '-ef')) satisfies ContainerTop);
  });
  // Podman's client sends `force` and, for `pod rm -f -t N`, `timeout` (seconds to stop first).
  r.delete('/libpod/pods/{name}', async (req, res) => {
    const opts = { force: truthy(req.query.get('force')), timeout: seconds(req.query, 'timeout') };
    res.json(200, (await pods.remove(req.params.name!, opts)) satisfies PodRmReport);
  });
}

/** A whole number of seconds in the query (Libpod's uint parameters); absent or empty is none. */
function seconds(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw invalidArgument(`failed to parse parameters: ${name}: "${v}" is not a number of seconds`);
  return Number(v);
}
