import type { Router } from '../router.ts';
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

export function registerNetworks(r: Router, networks: NetworkService): void {
  r.get('/networks', (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['name', 'id', 'label', 'driver', 'type', 'dangling', 'scope']);
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
    res.json(200, (await networks.prune(labels)) satisfies NetworkPruneReport);
  });
  r.get('/networks/{id}', (req, res) => {
    res.json(200, networks.inspect(req.params.id!) satisfies Network);
  });
  r.delete('/networks/{id}', async (req, res) => {
    await networks.remove(req.params.id!);
    res.empty(204);
  });
  r.post('/networks/{id}/connect', async (req, res) => {
    await networks.connect(req.params.id!, await req.json<NetworkConnectRequest>());
    res.empty(200);
  });
  r.post('/networks/{id}/disconnect', async (req, res) => {
    await networks.disconnect(req.params.id!, await req.json<NetworkDisconnectRequest>());
    res.empty(200);
  });
}
