/** Image transfer routes: import, pull (offline), save, load, and Berth's bootstrap. */
import type { Readable } from 'node:stream';
import type { Router, StreamWriter } from '../router.ts';
import type { ImageService } from '../../../services/images/index.ts';
import type { Host } from '../../../host/index.ts';
import { messageOf } from '../../../errdefs/index.ts';

export interface TransferDeps {
  images: ImageService;
  host: Host;
  /** Scratch space on the data root. */
  tmp: string;
}

/** Renders `[=====>    ]` the way Docker's jsonmessage does. */
function bar(current: number, total?: number): string | undefined {
  if (!total) return undefined;
  const width = 50;
  const n = Math.min(width, Math.floor((current / total) * width));
  return `[${'='.repeat(Math.max(0, n - 1))}${n > 0 ? '>' : ''}${' '.repeat(width - n)}] ${(current / 1e6).toFixed(2)}MB/${(total / 1e6).toFixed(2)}MB`;
}

async function streamed(out: StreamWriter, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    out.write({ errorDetail: { message: messageOf(e) }, error: messageOf(e) });
  } finally {
    out.end();
  }
}

export function registerTransfer(r: Router, d: TransferDeps): void {
  r.post('/images/create', async (req, res) => {
    const fromSrc = req.query.get('fromSrc');
    const fromImage = req.query.get('fromImage');
    if (fromSrc === null && fromImage === null) return res.json(400, { message: 'either fromSrc or fromImage must be given' });
    const out = res.stream();
    if (fromImage !== null) {
      const tag = req.query.get('tag');
      const name = tag ? `${fromImage}:${tag}` : fromImage;
      await streamed(out, async () => {
        throw new Error(`pull access denied for ${fromImage}, repository does not exist or may require 'docker login': no registry is reachable from this daemon (to make base images offline: berth image bootstrap busybox | debian:bookworm) (${name})`);
      });
      return;
    }
    if (fromSrc !== '-') {
      await streamed(out, async () => {
        throw new Error(`import from "${fromSrc}": only an uploaded archive (-) can be imported: this daemon has no outside network`);
      });
      return;
    }
    const repo = req.query.get('repo');
    const tag = req.query.get('tag');
    const ref = repo ? (tag ? `${repo}:${tag}` : repo) : undefined;
    await streamed(out, async () => {
      let last = 0;
      const img = await d.images.import(req.raw as unknown as Readable, {
        ref,
        changes: req.query.getAll('changes'),
        message: req.query.get('message') ?? undefined,
        progress: (m) => {
          const cur = (m.progressDetail as { current?: number } | undefined)?.current ?? 0;
          if (cur - last < 1 << 20) return;
          last = cur;
          out.write({ status: 'Importing', progressDetail: { current: cur }, progress: `${(cur / 1e6).toFixed(2)}MB` });
        },
      });
      out.write({ status: img.id });
    });
  });

  r.post('/images/load', async (req, res) => {
    const quiet = req.query.get('quiet') === '1' || req.query.get('quiet') === 'true';
    const out = res.stream();
    await streamed(out, async () => {
      const loaded = await d.images.load(req.raw as unknown as Readable, (m) => {
        if (quiet) return;
        const pd = m.progressDetail as { current?: number; total?: number } | undefined;
        out.write({ status: m.status, ...(m.id ? { id: m.id } : {}), ...(pd ? { progressDetail: pd, progress: bar(pd.current ?? 0, pd.total) } : {}) });
      });
      for (const l of loaded) {
        if (l.tags.length) for (const t of l.tags) out.write({ stream: `Loaded image: ${t}\n` });
        else out.write({ stream: `Loaded image ID: ${l.id}\n` });
      }
    });
  });

  const save = (names: string[]) => async (_req: unknown, res: import('../router.ts').Response) => {
    const tar = d.images.save(names);
    res.raw.writeHead(200, { 'Content-Type': 'application/x-tar' });
    tar.on('error', () => res.raw.destroy());
    tar.pipe(res.raw);
  };
  r.get('/images/get', (req, res) => save(req.query.getAll('names'))(req, res));

  r.post('/berth/v1/images/bootstrap', async (req, res) => {
    const ref = req.query.get('image') ?? 'busybox';
    const out = res.stream();
    await streamed(out, async () => {
      out.write({ status: `Bootstrapping ${ref}` });
      const img = await d.images.bootstrap(ref, { host: d.host, tmp: d.tmp }, (m) => out.write(m));
      out.write({ aux: { ID: img.id } });
      out.write({ status: `Successfully bootstrapped ${ref}` });
    });
  });
}

/** `GET /images/{name}/get`, dispatched from the greedy image route. */
export function saveOne(images: ImageService, name: string, res: import('../router.ts').Response): void {
  const tar = images.save([name]);
  res.raw.writeHead(200, { 'Content-Type': 'application/x-tar' });
  tar.on('error', () => res.raw.destroy());
  tar.pipe(res.raw);
}
