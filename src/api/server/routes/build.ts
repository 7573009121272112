/**
 * `POST /build` (the legacy builder's API: a tar context in, JSON messages out) and
 * `POST /build/prune`. Errors found before the build starts (a bad Dockerfile, a missing
 * target) are the request's status, as dockerd answers them; later ones end the stream.
 */
import type { Router } from '../router.ts';
import { invalidArgument, messageOf } from '../../../errdefs/index.ts';
import type { BuildService, BuildOptions } from '../../../services/build/index.ts';

const truthy = (v: string | null) => v === '1' || v === 'true' || v === 'True';

function jsonParam<T>(v: string | null, name: string): T | undefined {
  if (!v) return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw invalidArgument(`invalid ${name} parameter: ${v}`);
  }
}

export function registerBuild(r: Router, builds: BuildService): void {
  r.post('/build', async (req, res) => {
    const q = req.query;
    const remote = q.get('remote');
    if (remote) throw invalidArgument(`remote build contexts are not supported: ${remote}`);
    const platform = q.get('platform');
    if (platform && !/^linux(\/|$)/.test(platform)) throw invalidArgument(`"${platform}": only linux images can be built here`);
    const buildArgs = jsonParam<Record<string, string | null>>(q.get('buildargs'), 'buildargs') ?? {};
    const labels = jsonParam<Record<string, string>>(q.get('labels'), 'labels') ?? {};
    const network = q.get('networkmode') || undefined;
    const opts: BuildOptions = {
      dockerfile: q.get('dockerfile') || undefined,
      tags: q.getAll('t').filter(Boolean),
      buildArgs,
      labels,
      noCache: truthy(q.get('nocache')),
      quiet: truthy(q.get('q')),
      target: q.get('target') || undefined,
      networkMode: network === 'default' ? undefined : network,
      forceRm: truthy(q.get('forcerm')),
    };
    const prepared = await builds.prepare(req.raw, opts);
    const out = res.stream();
    // a client that goes away (Ctrl-C) cancels the build, its running step killed
    const cancel = new AbortController();
    out.onClose(() => cancel.abort());
    try {
      await builds.run(prepared, (m) => out.write(m), cancel.signal);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      out.write({ errorDetail: { message: messageOf(e), ...(typeof code === 'number' ? { code } : {}) }, error: messageOf(e) });
    } finally {
      out.end();
    }
  });

  r.post('/build/prune', async (_req, res) => {
    res.json(200, await builds.prune());
  });

  r.post('/build/cancel', (_req, res) => {
    res.empty(200);
  });
}
