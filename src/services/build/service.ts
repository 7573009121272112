/**
 * `POST /build` on the legacy builder's model: the context is unpacked, the Dockerfile parsed,
 * the stages the target needs are run in order, each step making an image on its parent
 * (RUN as a container whose upper directory becomes the layer; COPY/ADD and WORKDIR through
 * a mounted root; the rest as config-only images), with a persistent cache per step.
 * The stream speaks the legacy builder's JSON messages.
 *
 * This file holds the service (prepare, run, prune), the stages' scheduling and the dispatch
 * of each step; the work is in files named for it: `context.ts` (the request body and the
 * Dockerfile in it), `stages.ts` (which stages run, what each waits for: pure), `config.ts`
 * (the config-only instructions: pure), `run-step.ts` (RUN), `copy-step.ts` (COPY/ADD, with
 * `copy.ts` for the files), `commit.ts` (the cache and how a step becomes an image).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidArgument, messageOf } from '../../errdefs/index.ts';
import {
  DockerfileParseError,
  expandBase,
  parseDockerfile,
  parseInstruction,
  type Dockerfile,
  type Instruction,
  type Stage,
} from '../../dockerfile/index.ts';
import {
  familiarString,
  hostPlatform,
  parseReference,
  rootOf,
  shortId,
  type ImageRunConfig,
} from '../../spec/index.ts';
import type { Host } from '../../host/index.ts';
import type { Snapshotter } from '../../snapshots/index.ts';
import type { ImageService } from '../images/index.ts';
import type { Image } from '../../images/index.ts';
import type { ContainerService } from '../containers/index.ts';
import { BuildCache } from './cache.ts';
import { commitConfig, fileStep } from './commit.ts';
import { configStep } from './config.ts';
import { unpackContext } from './context.ts';
import { mkdirInRoot } from './copy.ts';
import { copyStep } from './copy-step.ts';
import { runStep } from './run-step.ts';
import { baseStage, planStages } from './stages.ts';
import {
  StepError,
  expand,
  shellOf,
  stepEnv,
  type BuildOptions,
  type PreparedBuild,
  type StageState,
  type StepContext,
} from './step.ts';

export interface BuildServiceDeps {
  images: ImageService;
  containers: ContainerService;
  snapshots: Snapshotter;
  host: Host;
  /** scratch space (emptied at daemon start) */
  tmp: string;
  /** `<data-root>/builder`: the persistent cache */
  root: string;
  log: { debug(m: string): void; warn(m: string): void };
}

export type BuildMessage =
  { stream: string } | { aux: { ID: string } } | { errorDetail: { message: string; code?: number }; error: string };

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What running one stage reads and writes besides the build itself. */
interface StageRun {
  /** the image each finished stage made, by stage index (shared by the build's stages) */
  results: Map<number, Image | null>;
  /** the next step's number */
  nextStep: () => number;
  /** the stage's output (held back while an earlier stage is still running) */
  out: (s: string) => void;
  /** build args an ARG consumed (shared by the build's stages) */
  usedArgs: Set<string>;
}

export class BuildService {
  private readonly d: BuildServiceDeps;
  readonly cache: BuildCache;
  private readonly steps: StepContext;

  constructor(deps: BuildServiceDeps) {
    this.d = deps;
    this.cache = new BuildCache(deps.root);
    this.steps = { ...deps, cache: this.cache, mountsDir: join(deps.root, 'mounts') };
  }

  private get mountsDir(): string {
    return this.steps.mountsDir;
  }

  /** At daemon start: unmounts and removes what a build interrupted by a crash left mounted. */
  async cleanup(): Promise<void> {
    const dir = this.mountsDir + '/';
    const info = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const mounts = info
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && m.startsWith(dir));
    for (const m of mounts.sort((a, b) => b.length - a.length)) {
      await this.d.host.unmount(m).catch((e) => this.d.log.warn(`unmount ${m}: ${messageOf(e)}`));
    }
    await fs
      .rm(this.mountsDir, { recursive: true, force: true })
      .catch((e) => this.d.log.warn(`remove ${this.mountsDir}: ${messageOf(e)}`));
  }

  /** Unpacks the context and parses the Dockerfile; errors here are the request's (400). */
  async prepare(body: Readable, opts: BuildOptions): Promise<PreparedBuild> {
    for (const t of opts.tags) {
      try {
        const r = parseReference(t);
        if (r.digest !== undefined) throw new Error('digest');
      } catch {
        throw invalidArgument(`invalid reference format: ${t}`);
      }
    }
    const dir = join(this.d.tmp, `build-${randomBytes(6).toString('hex')}`);
    const contextDir = join(dir, 'context');
    await fs.mkdir(contextDir, { recursive: true });
    try {
      const { dockerfileName: rel, text } = await unpackContext(body, contextDir, opts.dockerfile, this.d.host);
      let df: Dockerfile;
      try {
        df = parseDockerfile(text);
      } catch (e) {
        if (e instanceof DockerfileParseError) throw invalidArgument(`${e.message} (${rel})`);
        throw e;
      }
      // --label: as dockerd's legacy builder, one LABEL step a label, sorted by key, shown and
      // written to the history as `LABEL key=value`, its value taken literally (never expanded),
      // added to the target stage (the last one without --target).
      const labelKeys = Object.keys(opts.labels).sort();
      const labelled = opts.target
        ? df.stages.find((s) => s.name === opts.target!.toLowerCase())
        : df.stages[df.stages.length - 1];
      if (labelled) {
        // in double quotes the escape character escapes exactly itself, `"` and `$`
        const e = df.escape;
        const special = new Set([e, '"', '$']);
        const quoted = (w: string) => `"${[...w].map((c) => (special.has(c) ? e + c : c)).join('')}"`;
        for (const k of labelKeys) {
          const v = opts.labels[k]!;
          const ins = parseInstruction(`LABEL ${quoted(k)}=${quoted(v)}`, e);
          ins.line = 0;
          ins.original = `LABEL ${k}=${v}`;
          labelled.instructions.push(ins);
        }
      }
      const metaEnv = new Map<string, string>();
      for (const a of df.metaArgs) {
        const given = opts.buildArgs[a.name];
        if (given !== undefined && given !== null) metaEnv.set(a.name, given);
        else if (a.value !== undefined) metaEnv.set(a.name, expand(a.value, metaEnv, df.escape, 0));
      }
      const plan = planStages(df, {
        target: opts.target,
        metaEnv,
        imageTriggers: (ref) => this.d.images.store.find(ref)?.config.config?.OnBuild ?? undefined,
      });
      // A --cache-from image that is not here is skipped, as dockerd skips it (with a log line).
      const cacheSources = (opts.cacheFrom ?? []).flatMap((ref) => {
        const img = this.d.images.store.find(ref);
        if (!img) this.d.log.warn(`build: cache-from image ${ref} not found, skipped`);
        return img ? [img] : [];
      });
      return { dir, contextDir, dockerfileName: rel, df, opts, plan, metaEnv, cacheSources };
    } catch (e) {
      await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
  }

  /** Runs a prepared build; resolves with the image ID, or throws after writing nothing tagged. */
  async run(b: PreparedBuild, emit: (m: BuildMessage) => void, signal?: AbortSignal): Promise<string> {
    // -q: the output is kept back, and shown only if the build fails (as dockerd does)
    const kept: string[] = [];
    const out = (s: string) => {
      if (!b.opts.quiet) emit({ stream: s });
      else kept.push(s);
    };
    const results = new Map<number, Image | null>();
    const usedArgs = new Set<string>();
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort);
    b.signal = abort.signal;
    // Stages run as soon as the stages they need are done; their output is shown in file
    // order (a later stage's is held back until the ones before it have finished).
    const { stages, needs, firstSteps, totalSteps } = b.plan;
    const n = stages.length;
    const held: string[][] = stages.map(() => []);
    const finished: boolean[] = stages.map(() => false);
    let head = 0;
    const outFor = (pos: number) => (s: string) => {
      if (pos === head) out(s);
      else held[pos]!.push(s);
    };
    const advance = () => {
      while (head < n && finished[head]) {
        head++;
        if (head < n) for (const s of held[head]!.splice(0)) out(s);
      }
    };
    // ARGs before FROM are steps of their own in the legacy builder's count
    b.df.metaInstructions.forEach((m, i) => out(`Step ${i + 1}/${totalSteps} : ${m.original}\n`));
    const running = new Map<number, Promise<void>>();
    let firstError: { pos: number; err: unknown } | undefined;
    stages.forEach((stage, pos) => {
      const deps = needs.get(stage.index) ?? [];
      const p = (async () => {
        await Promise.all(deps.map((i) => running.get(i)));
        if (abort.signal.aborted) throw new StepError('build cancelled');
        let step = firstSteps[pos]!;
        const st = await this.runStage(b, stage, { results, nextStep: () => ++step, out: outFor(pos), usedArgs });
        results.set(stage.index, st.image);
      })();
      running.set(
        stage.index,
        p.then(
          () => {
            finished[pos] = true;
            advance();
          },
          (err) => {
            if (!firstError) firstError = { pos, err };
            abort.abort();
            throw err;
          },
        ),
      );
    });
    try {
      await Promise.allSettled(running.values());
      if (firstError) {
        // show what ran up to the failed stage, in order, then fail
        for (let pos = head + 1; pos <= firstError.pos; pos++) for (const s of held[pos]!.splice(0)) out(s);
        throw firstError.err;
      }
      if (signal?.aborted) throw new StepError('build cancelled');
      const final = results.get(stages[n - 1]!.index) ?? null;
      if (!final) throw new StepError('No image was generated. Is your Dockerfile empty?');
      const unused = Object.keys(b.opts.buildArgs).filter(
        (k) => !usedArgs.has(k) && !b.metaEnv.has(k) && !PREDEFINED_ARGS.has(k),
      );
      if (unused.length) out(`[Warning] One or more build-args [${unused.sort().join(' ')}] were not consumed\n`);
      emit({ aux: { ID: final.id } });
      out(`Successfully built ${shortId(final.id)}\n`);
      for (const t of b.opts.tags) {
        const ref = familiarString(parseReference(t));
        this.d.images.tag(final.id, ref);
        out(`Successfully tagged ${ref}\n`);
      }
      if (b.opts.quiet) emit({ stream: `${final.id}\n` });
      return final.id;
    } catch (e) {
      if (b.opts.quiet && kept.length) emit({ stream: kept.join('') });
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await fs.rm(b.dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** `docker builder prune`: forgets the cache and removes the images only it kept. */
  async prune(): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    const ids = this.cache.images().reverse();
    await this.cache.clear();
    const deleted: string[] = [];
    let space = 0;
    for (const id of ids) {
      const img = this.d.images.store.find(id);
      if (!img || img.tags.length) continue;
      try {
        // its own layer: what removing it frees (the parent's layers stay or go on their own)
        const parent = img.parent ? this.d.images.store.find(img.parent) : undefined;
        const size = Math.max(0, (img.size ?? 0) - (parent?.size ?? 0));
        await this.d.images.remove(id, {});
        deleted.push(id);
        space += size;
      } catch {
        // still used by a container or another image: kept
      }
    }
    return { CachesDeleted: deleted, SpaceReclaimed: space };
  }

  /** Runs a stage; a failure names the Dockerfile and the line of the step that failed. */
  private async runStage(b: PreparedBuild, stage: Stage, run: StageRun): Promise<StageState> {
    const where = { line: stage.line };
    try {
      return await this.runStageSteps(b, stage, run, where);
    } catch (e) {
      if (e instanceof Error && where.line > 0 && !b.signal?.aborted && !(e as { located?: boolean }).located) {
        e.message += ` (${b.dockerfileName}:${where.line})`;
        (e as { located?: boolean }).located = true;
      }
      throw e;
    }
  }

  private async runStageSteps(
    b: PreparedBuild,
    stage: Stage,
    run: StageRun,
    where: { line: number },
  ): Promise<StageState> {
    const { results, nextStep, out } = run;
    const esc = b.df.escape;
    const baseName = expandBase(stage, b.metaEnv, esc);
    out(`Step ${nextStep()}/${b.plan.totalSteps} : ${stage.original}\n`);
    if (stage.platform) {
      const want = expand(stage.platform, b.metaEnv, esc, stage.line);
      const host = hostPlatform();
      if (want && !`${want}/`.startsWith(`${host.os}/${host.architecture}/`)) {
        throw new StepError(
          `platform "${want}" cannot be built here: only the host's platform (${host.os}/${host.architecture}) is supported`,
        );
      }
    }
    let image: Image | null;
    const fromStage = baseStage(b.df, stage, b.metaEnv);
    if (fromStage) {
      image = results.get(fromStage.index) ?? null;
    } else if (baseName.toLowerCase() === 'scratch') {
      image = null;
    } else {
      if (!baseName) throw new StepError(`base name (${stage.base}) should not be blank`);
      image = this.d.images.store.find(baseName) ?? null;
      if (!image) {
        let repo = baseName;
        try {
          repo = familiarString(parseReference(baseName)).replace(/:latest$/, '');
        } catch {
          throw new StepError(`invalid reference format: ${baseName}`);
        }
        throw new StepError(
          `pull access denied for ${repo}, repository does not exist or may require 'docker login': no registry can be reached from this daemon`,
        );
      }
    }
    const config: ImageRunConfig = structuredClone(image?.config.config ?? {});
    // dockerd names the base only when no trigger of it runs next
    if (!config.OnBuild?.length) out(image ? ` ---> ${shortId(image.id)}\n` : ' ---> \n');
    if (!image) config.Env = [DEFAULT_PATH];
    const st: StageState = { image, config, author: image?.config.author, args: new Map(), cmdSet: false };
    // ONBUILD triggers of the base run first
    const triggers = config.OnBuild ?? [];
    if (triggers.length) {
      out(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      config.OnBuild = null;
      for (const t of triggers) {
        let ins: Instruction;
        try {
          ins = parseInstruction(t, esc);
        } catch (e) {
          throw new StepError(`failed to parse ONBUILD trigger "${t}": ${messageOf(e)}`);
        }
        await this.step(b, st, ins, run);
      }
    }
    for (const ins of stage.instructions) {
      where.line = ins.line;
      out(`Step ${nextStep()}/${b.plan.totalSteps} : ${ins.original}\n`);
      await this.step(b, st, ins, run);
    }
    return st;
  }

  private async step(b: PreparedBuild, st: StageState, ins: Instruction, run: StageRun): Promise<void> {
    const { out } = run;
    if (b.signal?.aborted) throw new StepError('build cancelled');
    switch (ins.kind) {
      case 'RUN':
        return runStep(this.steps, b, st, ins, shellOf(st.config), out);
      case 'COPY':
      case 'ADD':
        return copyStep(this.steps, b, st, ins, stepEnv(st), run.results, out);
    }
    const r = configStep(ins, st, { escape: b.df.escape, buildArgs: b.opts.buildArgs, metaEnv: b.metaEnv });
    for (const a of r.used) run.usedArgs.add(a);
    Object.assign(st, r.state);
    const dir = r.mkdir;
    if (dir === undefined) return commitConfig(this.steps, b, st, r.createdBy, out);
    return fileStep(
      this.steps,
      b,
      st,
      r.createdBy,
      '',
      out,
      async (rootfs) => {
        // WORKDIR's directories belong to the container's root: under a remap, its host ids.
        const root = this.d.snapshots.idMap ? rootOf(this.d.snapshots.idMap) : { uid: 0, gid: 0 };
        await mkdirInRoot(rootfs, dir.replace(/^\/+/, ''), root.uid, root.gid);
      },
      true,
    );
  }
}

/** Build args Docker accepts without an ARG (proxies). */
const PREDEFINED_ARGS = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);
