/**
 * The part of Libpod's container API (Podman 4.3's paths and JSON) that `podman --remote run`
 * needs, detached or in the foreground, in one of Berth's pods or not: the image pull with a
 * policy, the create from Podman's spec generator, inspect, attach, start, wait, resize,
 * shouldrestart and remove. The spec is turned into the Engine API's create request at this
 * edge (`libpod-spec.ts`) and inspect is made from the Engine API's (`libpod-inspect.ts`), so
 * the container service knows one shape. Errors carry Libpod's messages: Podman's client
 * tells a missing container by "no such container" in them.
 */
import type { Router } from '../router.ts';
import type { ContainerCreateRequest, ContainerCreateResponse, JsonMessage } from '../../../api/types/index.ts';
import { invalidArgument, messageOf, notFound } from '../../../errdefs/index.ts';
import type { ImageService } from '../../../services/images/index.ts';
import { inspect, type ContainerRecord, type ContainerService } from '../../../services/containers/index.ts';
import { POD_LABELS } from '../../../services/pods/index.ts';
import type { EventBus } from '../../../events/index.ts';
import { specToCreate, type SpecGenerator } from '../libpod-spec.ts';
import { libpodInspect, libpodListEntry } from '../libpod-inspect.ts';
import { parseFilters, assertKnownFilters } from '../filters.ts';
import { matchLabel } from '../../../services/images/index.ts';
import { attachHandler, logsHandler, terminalSize } from './container-streams.ts';
import { parseTime } from './system.ts';
import { boolValue } from '../query.ts';

export interface LibpodDeps {
  containers: ContainerService;
  images: ImageService;
  /** Scratch space for pulls (the data root's tmp). */
  tmp: string;
  createInPod: (pod: string, body: ContainerCreateRequest, name?: string) => Promise<ContainerCreateResponse>;
  lowerDirs: (c: ContainerRecord) => string[];
  /** For the exit code of a container already gone (below). */
  events: EventBus;
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

  /** The container `ref` names, or Libpod's not-found error. */
  const lookup = (ref: string): ContainerRecord => {
    const c = d.containers.store.find(ref);
    if (!c) throw notFound(`no container with name or ID "${ref}" found: no such container`);
    return c;
  };

  const dockerInspect = (c: ContainerRecord) =>
    inspect(
      c,
      d.containers.dir(c.Id),
      d.lowerDirs(c),
      d.containers.defaults,
      (ref) => d.containers.store.find(ref)?.Name,
    );
  const podOf = (c: ContainerRecord) => {
    const labels = c.Config.Labels ?? {};
    return {
      id: labels[POD_LABELS.id] ?? '',
      name: labels[POD_LABELS.name] ?? '',
      isInfra: labels[POD_LABELS.infra] === 'true',
    };
  };

  r.get('/libpod/containers/{id}/json', (req, res) => {
    const c = d.containers.get(lookup(req.params.id!).Id);
    const pod = podOf(c);
    res.json(200, libpodInspect(dockerInspect(c), pod.id, pod.isInfra));
  });

  // `podman ps`, and how Podman's client finds the containers `podman rm/stop/start NAME` name.
  r.get('/libpod/containers/json', (req, res) => {
    const f = parseFilters(req.query.get('filters'));
    assertKnownFilters(f, ['id', 'name', 'label', 'status', 'pod']);
    const all = boolValue(req.query.get('all'));
    const imageName = d.containers.imageNamer();
    const inPod = (c: ContainerRecord, p: string) => {
      const { id, name } = podOf(c);
      return p === name || (id !== '' && id.startsWith(p));
    };
    const list = d.containers
      .list()
      .filter(
        (c) =>
          (all || f.status || c.State.Running || c.State.Status === 'paused') &&
          (!f.id || f.id.some((i) => c.Id.startsWith(i))) &&
          (!f.name || f.name.some((n) => new RegExp(n).test(c.Name))) &&
          (!f.status || f.status.includes(libpodState(c))) &&
          (!f.pod || f.pod.some((p) => inPod(c, p))) &&
          (f.label ?? []).every((l) => matchLabel(c.Config.Labels ?? {}, l)),
      )
      .sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    res.json(
      200,
      list.map((c) => libpodListEntry(dockerInspect(c), imageName(c), podOf(c))),
    );
  });

  // Podman attaches before it starts (as docker run does) and reads Config.Tty from inspect
  // first; the stream is Docker's, multiplexed unless the container has a terminal.
  const attach = attachHandler(d.containers);
  r.post('/libpod/containers/{id}/attach', (req, res) => {
    req.params.id = lookup(req.params.id!).Id;
    return attach(req, res);
  });

  // `podman --remote logs` and `pod logs -c`: Docker's stream, which Podman's client
  // demultiplexes. Its since and until are times (Go's zero time when not given), Docker's
  // are unix seconds.
  const logs = logsHandler(d.containers);
  r.get('/libpod/containers/{id}/logs', (req, res) => {
    req.params.id = lookup(req.params.id!).Id;
    for (const k of ['since', 'until']) {
      const v = req.query.get(k);
      if (v === null) continue;
      const ns = v.startsWith('0001-01-01T00:00:00') ? undefined : parseTime(v);
      if (ns === undefined) req.query.delete(k);
      else req.query.set(k, (ns / 1e9).toFixed(9));
    }
    return logs(req, res);
  });

  r.post('/libpod/containers/{id}/resize', async (req, res) => {
    const c = lookup(req.params.id!);
    const { h, w } = terminalSize(req.query);
    // Podman resizes once as it attaches, which may be before the start: nothing to size yet.
    if (c.State.Running) await d.containers.resize(c.Id, h, w);
    res.json(200, {});
  });

  // Libpod's wait: `condition` (repeatable) is a state to reach, "stopped"/"exited" when none;
  // the answer is the exit code alone. `podman run` waits after its attach ended, by when a
  // --rm container may be gone already: its exit code is then the one its last die event
  // carried (Podman's client would look in the events for it; the answer is the same).
  r.post('/libpod/containers/{id}/wait', async (req, res) => {
    const ref = req.params.id!;
    const conditions = req.query.getAll('condition').flatMap((x) => x.split(','));
    for (const cond of conditions)
      if (!WAIT_CONDITIONS.includes(cond)) throw invalidArgument(`unknown container state: ${JSON.stringify(cond)}`);
    const c = d.containers.store.find(ref);
    if (!c) {
      const code = lastExitCode(d.events, ref);
      if (code === undefined) throw notFound(`no container with name or ID "${ref}" found: no such container`);
      return res.json(200, code);
    }
    const ac = new AbortController();
    res.raw.on('close', () => ac.abort());
    if (conditions.length === 0 || conditions.some((x) => x === 'stopped' || x === 'exited')) {
      const { StatusCode } = await d.containers.wait(c.Id, 'not-running', ac.signal);
      return res.json(200, StatusCode);
    }
    // The other states are polled, as Libpod does (`interval`, 250ms by default).
    const every = Math.max(10, parseDuration(req.query.get('interval')) ?? 250);
    while (!ac.signal.aborted) {
      const now = d.containers.store.find(c.Id);
      if (!now) throw notFound(`no container with name or ID "${ref}" found: no such container`);
      if (conditions.includes(libpodState(now))) return res.json(200, now.State.Running ? -1 : now.State.ExitCode);
      await new Promise((r) => setTimeout(r, every));
    }
  });

  // A foreground `podman run` passes the signals it gets on to the container (--sig-proxy).
  r.post('/libpod/containers/{id}/kill', async (req, res) => {
    const c = lookup(req.params.id!);
    await d.containers.kill(c.Id, req.query.get('signal') || 'SIGKILL');
    res.empty(204);
  });

  // After a foreground run with --rm Podman asks before it removes: a container its restart
  // policy will start again stays. One already gone (auto-removed) will not restart.
  r.post('/libpod/containers/{id}/shouldrestart', (req, res) => {
    const c = d.containers.store.find(req.params.id!);
    res.json(200, { Value: !!c && willRestart(c) });
  });

  // Libpod's remove answers with a report per container removed (the dependents with `depend`).
  r.delete('/libpod/containers/{id}', async (req, res) => {
    const c = lookup(req.params.id!);
    await d.containers.remove(c.Id, {
      force: boolValue(req.query.get('force')),
      volumes: boolValue(req.query.get('v')),
    });
    res.json(200, [{ Id: c.Id, Err: null, RawInput: req.params.id }]);
  });
}

/** Libpod's container states a wait may ask for (define.ContainerStatus's names). */
const WAIT_CONDITIONS = ['configured', 'created', 'running', 'stopped', 'paused', 'exited', 'removing', 'stopping'];

function libpodState(c: ContainerRecord): string {
  const s = c.State.Status;
  return s === 'dead' ? 'exited' : s === 'restarting' ? 'running' : s;
}

/** Whether the restart policy starts the container again after this exit. */
function willRestart(c: ContainerRecord): boolean {
  const p = c.HostConfig.RestartPolicy;
  if (!p?.Name || p.Name === 'no' || c.State.Running) return false;
  if (p.Name === 'on-failure')
    return c.State.ExitCode !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
  return true;
}

/** The exit code in the newest die event of the container `ref` names (its ID, a prefix, or its name). */
function lastExitCode(events: EventBus, ref: string): number | undefined {
  const recent = events.since(0);
  for (let i = recent.length - 1; i >= 0; i--) {
    const e = recent[i]!;
    if (e.Type !== 'container' || e.Action !== 'die') continue;
    const id = e.Actor.ID;
    if (id === ref || (ref.length >= 12 && id.startsWith(ref)) || e.Actor.Attributes.name === ref)
      return Number(e.Actor.Attributes.exitCode ?? 0);
  }
  return undefined;
}

/** A Go duration as Libpod's `interval` takes it ("250ms", "1s"), in milliseconds. */
function parseDuration(v: string | null): number | undefined {
  if (!v) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v);
  if (!m) throw invalidArgument(`time: invalid duration ${JSON.stringify(v)}`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}
