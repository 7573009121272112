import type { Handler, Router } from '../router.ts';
import type { NetworkService } from '../../../services/networks/index.ts';
import type {
  Network,
  NetworkConnectRequest,
  NetworkCreateRequest,
  NetworkCreateResponse,
  NetworkDisconnectRequest,
  NetworkPruneReport,
} from '../../../api/types/index.ts';
import { parseFilters, assertKnownFilters, boolFilter } from '../filters.ts';
import { invalidArgument } from '../../../errdefs/index.ts';
import { parseTime } from './system.ts';

export function registerNetworks(r: Router, networks: NetworkService): void {
  r.get('/networks', (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['name', 'id', 'label', 'driver', 'type', 'dangling', 'scope']);
    // dockerd's: a type is one of the two it knows, or the list is refused.
    for (const t of f.type ?? [])
      if (t !== 'custom' && t !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${t}'`);
    res.json(
      200,
      networks.list({
        name: f.name,
        id: f.id,
        label: f.label,
        driver: f.driver,
        type: f.type,
        dangling: boolFilter(f, 'dangling'),
      }) satisfies Network[],
    );
  });
  r.post('/networks/create', async (req, res) => {
    res.json(201, (await networks.create(await req.json<NetworkCreateRequest>())) satisfies NetworkCreateResponse);
  });
  r.post('/networks/prune', async (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['label', 'label!', 'until']);
    const labels = [
      ...(f.label ?? []),
      ...(f['label!'] ?? []).map((l) => (l.includes('=') ? l.replace('=', '!=') : `!${l}`)),
    ];
    // Given, `until` must parse, even empty, as dockerd has it (nanoseconds since the epoch).
    const until = f.until ? parseTime(f.until[0] ?? '', true, true) : undefined;
    res.json(200, (await networks.prune(labels, until)) satisfies NetworkPruneReport);
  });
  const inspect: Handler = (req, res) => {
    res.json(200, networks.inspect(req.params.id!) satisfies Network);
  };
  const remove: Handler = async (req, res) => {
    await networks.remove(req.params.id!);
    res.empty(204);
  };
  const connect: Handler = async (req, res) => {
    await networks.connect(req.params.id!, await req.json<NetworkConnectRequest>());
    res.empty(200);
  };
  const disconnect: Handler = async (req, res) => {
    await networks.disconnect(req.params.id!, await req.json<NetworkDisconnectRequest>());
    res.empty(200);
  };
  r.get('/networks/{id}', inspect);
  r.delete('/networks/{id}', remove);
  r.post('/networks/{id}/connect', connect);
  r.post('/networks/{id}/disconnect', disconnect);
  // A network's name may hold slashes, and the CLI puts it in the path as it is: as dockerd's
  // `{id:.*}` routes, these take the rest of the path (after the one-segment routes above).
  r.get('/networks/{id*}', inspect);
  r.delete('/networks/{id*}', remove);
  r.post('/networks/{id*}', async (req, res) => {
    const id = req.params.id!;
    for (const [suffix, handler] of [
      ['/connect', connect],
      ['/disconnect', disconnect],
    ] as const) {
      if (!id.endsWith(suffix)) continue;
      req.params.id = id.slice(0, -suffix.length);
      return handler(req, res);
    }
    res.json(404, { message: 'page not found' });
  });
}
