import type { Router } from '../router.ts';
import type { ImageService } from '../../../services/images/index.ts';
import type {
  HistoryItem,
  ImageDeleteItem,
  ImageInspect,
  ImagePruneReport,
  ImageSummary,
} from '../../../api/types/index.ts';
import { parseFilters, assertKnownFilters, boolFilter } from '../filters.ts';
import { boolValue } from '../query.ts';
import { parseTime } from './system.ts';
import { saveOne, pushRoute } from './transfer.ts';

/** `tmp`: the data root's scratch directory, for push (defaults to the system's). */
export function registerImages(r: Router, images: ImageService, tmp = process.env.TMPDIR || '/tmp'): void {
  r.get('/images/json', (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['dangling', 'label', 'reference', 'before', 'since', 'until']);
    res.json(
      200,
      images.list({
        all: boolValue(req.query.get('all')),
        dangling: boolFilter(f, 'dangling'),
        labels: f.label,
        reference: f.reference,
        // dockerd takes the last of several `before`/`since` values.
        before: f.before?.at(-1),
        since: f.since?.at(-1),
        until: f.until && (parseTime(f.until[0] ?? '', true, true) ?? 0) / 1e6,
      }) satisfies ImageSummary[],
    );
  });
  r.post('/images/prune', async (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['dangling', 'label', 'until']);
    // dockerd's prune reads dangling the other way round from its listing: any false among
    // the values prunes every unused image. The CLI always adds its own dangling=true (false
    // with -a), so `docker image prune --filter dangling=false` sends both and means -a.
    const dangling =
      boolFilter(f, 'dangling') === undefined ? undefined : !f.dangling!.some((v) => v === 'false' || v === '0');
    const until = f.until ? parseTime(f.until[0] ?? '', true, true) : undefined;
    res.json(
      200,
      (await images.prune({
        all: dangling === false,
        labels: f.label,
        until: until && until / 1e6,
      })) satisfies ImagePruneReport,
    );
  });
  // Image names contain slashes: match the suffix routes by hand on a greedy name.
  r.get('/images/{name*}', (req, res) => {
    const name = req.params.name!;
    if (name.endsWith('/json')) return res.json(200, images.inspect(name.slice(0, -5)) satisfies ImageInspect);
    if (name.endsWith('/history')) return res.json(200, images.history(name.slice(0, -8)) satisfies HistoryItem[]);
    if (name.endsWith('/get'))
      return saveOne(images, name.slice(0, -4), res, req.query.get('compression') ?? undefined);
    res.json(404, { message: 'page not found' });
  });
  r.post('/images/{name*}', async (req, res) => {
    const name = req.params.name!;
    if (name.endsWith('/push')) return pushRoute(images, tmp, name.slice(0, -5), req, res);
    if (name.endsWith('/tag')) {
      const repo = req.query.get('repo');
      if (!repo) return res.json(400, { message: 'repository name must have at least one component' });
      images.tag(name.slice(0, -4), repo, req.query.get('tag') || undefined);
      return res.json(201, {});
    }
    res.json(404, { message: 'page not found' });
  });
  r.delete('/images/{name*}', async (req, res) => {
    const force = boolValue(req.query.get('force'));
    const noprune = boolValue(req.query.get('noprune'));
    res.json(200, (await images.remove(req.params.name!, { force, noprune })) satisfies ImageDeleteItem[]);
  });
}
