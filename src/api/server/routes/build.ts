/**
 * `POST /build` (the legacy builder's API: a tar context in, JSON messages out) and
 * `POST /build/prune`. Errors found before the build starts (a bad Dockerfile, a missing
 * target) are the request's status, as dockerd answers them; later ones end the stream.
 */
import type { Router } from '../router.ts';
import { invalidArgument, messageOf } from '../../../errdefs/index.ts';
import type { BuildService, BuildOptions } from '../../../services/build/index.ts';
import type { BuildCachePruneReport } from '../../../api/types/index.ts';
import { boolValue, int64OrZero, parseInt64 } from '../query.ts';

function jsonParam<T>(v: string | null, name: string): T | undefined {
  if (!v) return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw invalidArgument(`invalid ${name} parameter: ${v}`);
  }
}

/**
 * The build's secrets for `RUN --mount=type=secret`, which the legacy /build API has no field
 * for: Berth's clients send them as the registry credentials travel, in a header of base64 JSON
 * (`{"id": "<base64 content>"}`), never in the context where a COPY could reach them.
 */
export const BUILD_SECRETS_HEADER = 'x-berth-build-secrets';

export function parseBuildSecrets(header: string | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!header) return out;
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    throw invalidArgument('invalid build secrets: the header is not base64 JSON');
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    throw invalidArgument('invalid build secrets: not an object of ID to base64 content');
  for (const [id, v] of Object.entries(obj)) {
    if (!id || typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v))
      throw invalidArgument(`invalid build secret ${JSON.stringify(id)}: its content must be base64`);
    out.set(id, Buffer.from(v, 'base64'));
  }
  return out;
}

export function registerBuild(r: Router, builds: BuildService): void {
  r.post('/build', async (req, res) => {
    const q = req.query;
    if (q.get('version') === '2') {
      throw invalidArgument(
        'BuildKit builds (version=2) are not supported by this daemon, whose builder is the legacy one (Builder-Version 1): build with DOCKER_BUILDKIT=0',
      );
    }
    const remote = q.get('remote');
    if (remote) throw invalidArgument(`remote build contexts are not supported: ${remote}`);
    const platform = q.get('platform');
    if (platform && !/^linux(\/|$)/.test(platform))
      throw invalidArgument(`"${platform}": only linux images can be built here`);
    const buildArgs = jsonParam<Record<string, string | null>>(q.get('buildargs'), 'buildargs') ?? {};
    const labels = jsonParam<Record<string, string>>(q.get('labels'), 'labels') ?? {};
    const network = q.get('networkmode') || undefined;
    // resources and hosts of the RUN containers, as docker build's flags give them
    const runHostConfig: Record<string, unknown> = {};
    // As dockerd: these are 0 (unset) when they do not parse; shmsize must parse.
    const num = (name: string, field: string, value = int64OrZero(q.get(name))) => {
      if (value !== 0) runHostConfig[field] = value;
    };
    num('memory', 'Memory');
    num('memswap', 'MemorySwap');
    num('cpushares', 'CpuShares');
    num('cpuperiod', 'CpuPeriod');
    num('cpuquota', 'CpuQuota');
    const shm = q.get('shmsize');
    num('shmsize', 'ShmSize', shm ? parseInt64(shm) : 0);
    // Read (and refused when it is not a JSON list of names) as dockerd does.
    const cacheFrom = jsonParam<unknown>(q.get('cachefrom'), 'cachefrom');
    if (cacheFrom != null && (!Array.isArray(cacheFrom) || cacheFrom.some((x) => typeof x !== 'string')))
      throw invalidArgument(`invalid cachefrom parameter: ${q.get('cachefrom')}: not a list of image names`);
    if (q.get('cpusetcpus')) runHostConfig.CpusetCpus = q.get('cpusetcpus');
    if (q.get('cpusetmems')) runHostConfig.CpusetMems = q.get('cpusetmems');
    const extraHosts = q
      .getAll('extrahosts')
      .flatMap((v) => v.split(','))
      .filter(Boolean);
    if (extraHosts.length) runHostConfig.ExtraHosts = extraHosts;
    const ulimits = jsonParam<unknown[]>(q.get('ulimits'), 'ulimits');
    if (ulimits?.length) runHostConfig.Ulimits = ulimits;
    const opts: BuildOptions = {
      dockerfile: q.get('dockerfile') || undefined,
      tags: q.getAll('t').filter(Boolean),
      buildArgs,
      labels,
      noCache: boolValue(q.get('nocache')),
      quiet: boolValue(q.get('q')),
      target: q.get('target') || undefined,
      networkMode: network === 'default' ? undefined : network,
      forceRm: boolValue(q.get('forcerm')),
      runHostConfig,
      cacheFrom: (cacheFrom as string[] | null) ?? undefined,
      secrets: parseBuildSecrets(req.raw.headers[BUILD_SECRETS_HEADER] as string | undefined),
    };
    let prepared;
    try {
      prepared = await builds.prepare(req.raw, opts);
    } catch (e) {
      // the rest of the upload is read and dropped, so the client gets to read the error
      req.raw.resume();
      throw e;
    }
    const out = res.stream();
    // a client that goes away (Ctrl-C) cancels the build, its running step killed
    const cancel = new AbortController();
    const gone = () => cancel.abort();
    out.onClose(gone);
    // The server keeps half-open sockets: a client that exits is seen by its end of input, not
    // only when a write fails (a quiet step may write nothing for minutes).
    const sock = req.raw.socket;
    sock.once('end', gone);
    sock.once('close', gone);
    try {
      await builds.run(prepared, (m) => out.write(m), cancel.signal);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      out.write({
        errorDetail: { message: messageOf(e), ...(typeof code === 'number' ? { code } : {}) },
        error: messageOf(e),
      });
    } finally {
      sock.off('end', gone);
      sock.off('close', gone);
      out.end();
    }
  });

  r.post('/build/prune', async (_req, res) => {
    res.json(200, (await builds.prune()) satisfies BuildCachePruneReport);
  });

  r.post('/build/cancel', (_req, res) => {
    res.empty(200);
  });
}
