import type { Router } from '../router.ts';
import type { VolumeService } from '../../../services/volumes/index.ts';
import type { Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneReport } from '../../../api/types/index.ts';
import { parseFilters, assertKnownFilters, boolFilter } from '../filters.ts';
import { compareVersions } from '../router.ts';
import { boolValue } from '../query.ts';

export function registerVolumes(r: Router, volumes: VolumeService): void {
  r.get('/volumes', (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['name', 'label', 'dangling', 'driver']);
    res.json(200, {
      Volumes: volumes.list({ name: f.name, label: f.label, driver: f.driver, dangling: boolFilter(f, 'dangling') }),
      Warnings: null,
    } satisfies VolumeListResponse);
  });
  r.post('/volumes/create', async (req, res) => {
    res.json(201, (await volumes.create(await req.json<VolumeCreateRequest>())) satisfies Volume);
  });
  r.post('/volumes/prune', async (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['label', 'label!', 'all']);
    const labels = [
      ...(f.label ?? []),
      ...(f['label!'] ?? []).map((l) => (l.includes('=') ? l.replace('=', '!=') : `!${l}`)),
    ];
    // Before API 1.42 prune took every unused volume; Docker keeps that for old clients.
    const all = compareVersions(req.version, '1.42') < 0 || (boolFilter(f, 'all') ?? false);
    res.json(200, (await volumes.prune({ all, labels })) satisfies VolumePruneReport);
  });
  r.get('/volumes/{name}', (req, res) => {
    res.json(200, volumes.inspect(req.params.name!) satisfies Volume);
  });
  r.delete('/volumes/{name}', async (req, res) => {
    const force = boolValue(req.query.get('force'));
    await volumes.remove(req.params.name!, { force });
    res.empty(204);
  });
}
