/**
 * `POST /build` on the legacy builder's model: the context is unpacked, the Dockerfile parsed,
 * the stages the target needs are run in order, each step making an image on its parent
 * (RUN as a container whose upper directory becomes the layer; COPY/ADD and WORKDIR through
 * a mounted root; the rest as config-only images), with a persistent cache per step.
 * The stream speaks the legacy builder's JSON messages.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { invalidArgument, messageOf } from '../../errdefs/index.ts';
import { diffOverlayUpper } from '../../archive/index.ts';
import {
  DockerfileParseError,
  expandBase,
  parseDockerfile,
  parseInstruction,
  type Dockerfile,
  type Instruction,
  type Stage,
} from '../../dockerfile/index.ts';
import { resolveUser } from '../../oci/index.ts';
import { familiarString, hostPlatform, parseReference, shortId, type ImageRunConfig } from '../../spec/index.ts';
import type { Host } from '../../host/index.ts';
import type { Snapshotter } from '../../snapshots/index.ts';
import type { ImageService } from '../images/index.ts';
import type { Image } from '../../images/index.ts';
import type { ContainerService } from '../containers/index.ts';
import { BuildCache } from './cache.ts';
import { configStep } from './config.ts';
import { StepError, expand, shellOf, stepEnv, type StageState } from './step.ts';
import { unpackContext } from './context.ts';
import { baseStage, planStages, stageNamed, type StagePlan } from './stages.ts';
import {
  ADD_URL_MAX_BYTES,
  contentDigest,
  copyInto,
  download,
  matchSources,
  mkdirInRoot,
  parseChmod,
  type Source,
} from './copy.ts';

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

export interface BuildOptions {
  dockerfile?: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  noCache: boolean;
  quiet: boolean;
  target?: string;
  networkMode?: string;
  /** remove intermediate containers after a failed step too */
  forceRm?: boolean;
  /** host config fields for RUN containers (memory, CPU, extra hosts, shm size, ulimits) */
  runHostConfig?: Record<string, unknown>;
}

/** A parsed build, ready to run: made by `prepare`, whose errors are the request's. */
export interface PreparedBuild {
  dir: string;
  contextDir: string;
  dockerfileName: string;
  df: Dockerfile;
  opts: BuildOptions;
  plan: StagePlan;
  metaEnv: Map<string, string>;
  /** set by run: aborts the build (the client went away, or another stage failed) */
  signal?: AbortSignal;
}

export type BuildMessage =
  { stream: string } | { aux: { ID: string } } | { errorDetail: { message: string; code?: number }; error: string };

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class BuildService {
  private readonly d: BuildServiceDeps;
  readonly cache: BuildCache;

  constructor(deps: BuildServiceDeps) {
    this.d = deps;
    this.cache = new BuildCache(deps.root);
  }

  /**
   * Where steps mount roots (`<data-root>/builder/mounts`), outside `tmp/`, which the daemon
   * empties at start with a plain recursive removal that a live mount would stop.
   */
  private get mountsDir(): string {
    return join(this.d.root, 'mounts');
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
      if (Object.keys(opts.labels).length) {
        const last = df.stages[df.stages.length - 1]!;
        const text =
          'LABEL ' +
          Object.entries(opts.labels)
            .map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`)
            .join(' ');
        const ins = parseInstruction(text);
        ins.line = 0;
        if (!opts.target || opts.target.toLowerCase() === last.name) last.instructions.push(ins);
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
      return { dir, contextDir, dockerfileName: rel, df, opts, plan, metaEnv };
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
        const st = await this.runStage(b, stage, results, () => ++step, outFor(pos), usedArgs);
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
  private async runStage(
    b: PreparedBuild,
    stage: Stage,
    results: Map<number, Image | null>,
    nextStep: () => number,
    out: (s: string) => void,
    usedArgs: Set<string>,
  ): Promise<StageState> {
    const where = { line: stage.line };
    try {
      return await this.runStageSteps(b, stage, results, nextStep, out, usedArgs, where);
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
    results: Map<number, Image | null>,
    nextStep: () => number,
    out: (s: string) => void,
    usedArgs: Set<string>,
    where: { line: number },
  ): Promise<StageState> {
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
        await this.step(b, st, ins, results, out, usedArgs);
      }
    }
    for (const ins of stage.instructions) {
      where.line = ins.line;
      out(`Step ${nextStep()}/${b.plan.totalSteps} : ${ins.original}\n`);
      await this.step(b, st, ins, results, out, usedArgs);
    }
    return st;
  }

  private async step(
    b: PreparedBuild,
    st: StageState,
    ins: Instruction,
    results: Map<number, Image | null>,
    out: (s: string) => void,
    usedArgs: Set<string>,
  ): Promise<void> {
    if (b.signal?.aborted) throw new StepError('build cancelled');
    switch (ins.kind) {
      case 'RUN':
        return this.runStep(b, st, ins, shellOf(st.config), out);
      case 'COPY':
      case 'ADD':
        return this.copyStep(b, st, ins, stepEnv(st), results, out);
    }
    const r = configStep(ins, st, { escape: b.df.escape, buildArgs: b.opts.buildArgs, metaEnv: b.metaEnv });
    for (const a of r.used) usedArgs.add(a);
    Object.assign(st, r.state);
    const dir = r.mkdir;
    if (dir === undefined) return this.commitConfig(b, st, r.createdBy, out, r.extra);
    return this.fileStep(
      b,
      st,
      r.createdBy,
      r.extra,
      out,
      async (rootfs) => {
        await mkdirInRoot(rootfs, dir.replace(/^\/+/, ''));
      },
      true,
    );
  }

  /** A step that changes only the config: an image with an empty layer, or the cached one. */
  private async commitConfig(
    b: PreparedBuild,
    st: StageState,
    createdBy: string,
    out: (s: string) => void,
    extra = '',
  ): Promise<void> {
    const key = BuildCache.key(st.image?.id ?? null, createdBy, extra);
    if (this.useCache(b, st, key, out)) return;
    // the legacy builder commits these through a container too, and says so
    const cid = randomBytes(6).toString('hex');
    out(` ---> Running in ${cid}\n`);
    out(`Removing intermediate container ${cid}\n`);
    const img = await this.d.images.commit({
      parent: st.image,
      layer: Readable.from([Buffer.alloc(1024)]),
      config: st.config,
      createdBy,
      author: st.author,
    });
    await this.finish(st, img, key, out);
  }

  private useCache(b: PreparedBuild, st: StageState, key: string, out: (s: string) => void): boolean {
    if (b.opts.noCache) return false;
    const id = this.cache.get(key, (i) => !!this.d.images.store.find(i));
    if (!id) return false;
    const img = this.d.images.store.get(id);
    out(' ---> Using cache\n');
    out(` ---> ${shortId(img.id)}\n`);
    st.image = img;
    st.config = structuredClone(img.config.config ?? {});
    return true;
  }

  private async finish(st: StageState, img: Image, key: string, out: (s: string) => void): Promise<void> {
    st.image = img;
    st.config = structuredClone(img.config.config ?? {});
    await this.cache.set(key, img.id);
    out(` ---> ${shortId(img.id)}\n`);
  }

  /**
   * A step that changes files without running anything (COPY, ADD, WORKDIR): the parent's
   * root is mounted with a fresh upper directory, `fn` works in it, the upper becomes the layer.
   */
  private async fileStep(
    b: PreparedBuild,
    st: StageState,
    createdBy: string,
    extra: string,
    out: (s: string) => void,
    fn: (rootfs: string, scratch: string) => Promise<void>,
    viaContainer = false,
  ): Promise<void> {
    const key = BuildCache.key(st.image?.id ?? null, createdBy, extra);
    if (this.useCache(b, st, key, out)) return;
    if (viaContainer) {
      // WORKDIR: the legacy builder makes the directory through a container, and says so
      const cid = randomBytes(6).toString('hex');
      out(` ---> Running in ${cid}\n`);
      out(`Removing intermediate container ${cid}\n`);
    }
    const work = join(this.mountsDir, `step-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(work, { recursive: true });
    let mounted = false;
    try {
      const rootfs = await this.d.snapshots.mountRootfs(work, (st.image?.topChain ?? null) as never);
      mounted = true;
      await fn(rootfs, join(work, 'staging'));
      await this.d.snapshots.unmountRootfs(work);
      mounted = false;
      const img = await this.d.images.commit({
        parent: st.image,
        layer: diffOverlayUpper(join(work, 'upper'), { host: this.d.host }),
        config: st.config,
        createdBy,
        author: st.author,
      });
      await this.finish(st, img, key, out);
    } finally {
      if (mounted) await this.d.snapshots.unmountRootfs(work).catch(() => {});
      await fs.rm(work, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async copyStep(
    b: PreparedBuild,
    st: StageState,
    ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>,
    env: Map<string, string>,
    results: Map<number, Image | null>,
    out: (s: string) => void,
  ): Promise<void> {
    const esc = b.df.escape;
    const x = (s: string) => expand(s, env, esc, ins.line);
    const written = x(ins.dest);
    const wd = st.config.WorkingDir || '/';
    let destRaw = posix.isAbsolute(written) ? written : posix.join(wd, written);
    if ((written.endsWith('/') || written === '.' || written.endsWith('/.')) && !destRaw.endsWith('/')) destRaw += '/';
    // where the sources come from: the context, another stage, or an image
    let srcRoot = b.contextDir;
    let fromWork: string | undefined;
    const fromMounted: string[] = [];
    try {
      if (ins.from !== undefined) {
        const from = x(ins.from);
        const stage = stageNamed(b.df, from);
        let img: Image | null | undefined;
        if (stage) {
          if (!results.has(stage.index))
            throw new StepError(`invalid from flag value ${from}: stage not built before this one`);
          img = results.get(stage.index);
        } else {
          img = this.d.images.store.find(from);
          if (!img)
            throw new StepError(
              `invalid from flag value ${from}: pull access denied for ${from}, repository does not exist or may require 'docker login'`,
            );
        }
        fromWork = join(this.mountsDir, `from-${randomBytes(4).toString('hex')}`);
        await fs.mkdir(fromWork, { recursive: true });
        srcRoot = await this.d.snapshots.mountRootfs(fromWork, (img?.topChain ?? null) as never);
        fromMounted.push(fromWork);
      }
      const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
      const sources: Source[] = [];
      const inline: Array<{ name: string; content: string }> = [];
      for (const raw of ins.sources) {
        const hm = /^<<-?["']?([^"']+)["']?$/.exec(raw);
        if (hm && heredocs.has(hm[1]!)) {
          const h = heredocs.get(hm[1]!)!;
          inline.push({ name: hm[1]!, content: h.quoted ? h.content : x(h.content) });
          continue;
        }
        const pattern = x(raw);
        if (/^https?:\/\//.test(pattern)) {
          if (ins.kind === 'COPY') throw new StepError("COPY failed: source can't be a URL for COPY");
          const got = await download(
            pattern,
            join(b.dir, `url-${randomBytes(4).toString('hex')}`),
            ADD_URL_MAX_BYTES,
            b.signal,
          ).catch((e) => {
            throw new StepError(messageOf(e));
          });
          sources.push(got);
          continue;
        }
        const matched = await matchSources(srcRoot, pattern, ins.kind).catch((e) => {
          throw new StepError(messageOf(e));
        });
        sources.push(...matched);
      }
      if (sources.length === 0 && inline.length === 0)
        throw new StepError(`${ins.kind} failed: no source files were specified`);
      const digest = await contentDigest(sources);
      const inlineDigest = inline.map((f) => `${f.name}:${f.content}`).join('\0');
      const chmod = parseChmod(ins.chmod !== undefined ? x(ins.chmod) : undefined);
      const chown = ins.chown !== undefined ? x(ins.chown) : undefined;
      const kind = sources.length === 1 && inline.length === 0 ? (sources[0]!.isDir ? 'dir' : 'file') : 'multi';
      // history names the destination as written; the key has it resolved (WORKDIR may differ)
      const createdBy = `${shellOf(st.config).join(' ')} #(nop) ${ins.kind} ${kind}:${digest} in ${written} `;
      const extra = `${destRaw}\n${inlineDigest}\n${chown ?? ''}\n${chmod ?? ''}\n${ins.from ?? ''}`;
      await this.fileStep(b, st, createdBy, extra, out, async (rootfs, staging) => {
        let uid = 0;
        let gid = 0;
        if (chown) {
          try {
            const u = await resolveUser(chown.includes(':') ? chown : `${chown}:${chown}`, rootfs).catch(() =>
              resolveUser(chown, rootfs),
            );
            uid = u.uid;
            gid = chown.includes(':') ? u.gid : /^\d+$/.test(chown) ? u.uid : u.gid;
          } catch (e) {
            throw new StepError(`unable to convert uid/gid chown string to host mapping: ${messageOf(e)}`);
          }
        }
        await copyInto(
          rootfs,
          staging,
          {
            sources,
            inline,
            dest: destRaw,
            uid,
            gid,
            chmod,
            extract: ins.kind === 'ADD',
            chowned: chown !== undefined,
          },
          this.d.host,
          ins.kind,
        ).catch((e) => {
          throw e instanceof StepError ? e : new StepError(`${ins.kind} failed: ${messageOf(e)}`);
        });
      });
    } finally {
      for (const w of fromMounted) {
        await this.d.snapshots.unmountRootfs(w).catch(() => {});
        await fs.rm(w, { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  private async runStep(
    b: PreparedBuild,
    st: StageState,
    ins: Extract<Instruction, { kind: 'RUN' }>,
    shell: readonly string[],
    out: (s: string) => void,
  ): Promise<void> {
    let cmd: string[];
    if (ins.heredocs.length && ins.shellForm) {
      const line = ins.cmd[0] ?? '';
      const only = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/.exec(line.trim());
      if (only && ins.heredocs.length === 1 && ins.heredocs[0]!.content.startsWith('#!')) {
        // a script with its own interpreter runs as a file, as BuildKit runs it
        const body = ins.heredocs[0]!.content;
        let end = 'BERTH_HEREDOC';
        while (body.includes(end)) end += '_';
        cmd = [
          ...shell,
          `f=/tmp/.berth-heredoc-$$; cat > "$f" <<'${end}'\n${body}${end}\nchmod +x "$f"; "$f"; rc=$?; rm -f "$f"; exit $rc`,
        ];
      } else if (only && ins.heredocs.length === 1) {
        cmd = [...shell, ins.heredocs[0]!.content];
      } else {
        let script = line;
        for (const h of ins.heredocs) script += `\n${h.content}${h.name}`;
        cmd = [...shell, script];
      }
    } else {
      cmd = ins.shellForm ? [...shell, ...ins.cmd] : ins.cmd;
    }
    // build args visible to the command (ENV wins over ARG of the same name)
    const envNames = new Set((st.config.Env ?? []).map((e) => e.split('=')[0]));
    const argEnv = [...st.args]
      .filter(([k]) => !envNames.has(k))
      .map(([k, v]) => `${k}=${v}`)
      .sort();
    const createdBy = (argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ` : '') + cmd.join(' ');
    const key = BuildCache.key(st.image?.id ?? null, createdBy, ins.network ?? '');
    if (this.useCache(b, st, key, out)) return;
    if (!st.image) throw new StepError('failed to run: no image to run from: RUN in a stage FROM scratch has no shell');
    const network = ins.network ?? b.opts.networkMode ?? 'default';
    const c = st.config;
    const created = await this.d.containers.create({
      Image: st.image.id,
      Cmd: cmd,
      Entrypoint: [],
      Env: [...(c.Env ?? []), ...argEnv],
      User: c.User ?? '',
      WorkingDir: c.WorkingDir ?? '',
      Labels: {},
      HostConfig: { ...(b.opts.runHostConfig ?? {}), NetworkMode: network === 'default' ? 'default' : network },
    } as never);
    const id = created.Id;
    out(` ---> Running in ${shortId(id)}\n`);
    let removed = false;
    try {
      const exit = this.d.containers.nextExit(id);
      const kill = () => void this.d.containers.kill(id, 'SIGKILL').catch(() => {});
      b.signal?.addEventListener('abort', kill);
      void exit.finally(() => b.signal?.removeEventListener('abort', kill));
      if (b.signal?.aborted) throw new StepError('build cancelled');
      await this.d.containers.start(id);
      // cancelled while it was starting: the kill then found nothing running yet
      if (b.signal?.aborted) kill();
      const rec = this.d.containers.store.get(id);
      for await (const entry of this.d.containers.logs(rec, { follow: true, untilExit: exit })) {
        // stderr in red, as dockerd's legacy builder marks it
        out(
          entry.stream === 'stderr' ? `\u001b[91m${entry.data.toString('utf8')}\u001b[0m` : entry.data.toString('utf8'),
        );
      }
      const code = await exit;
      if (b.signal?.aborted) throw new StepError('build cancelled');
      if (code !== 0) {
        throw new StepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${code}`, code);
      }
      // The exit is reported before the rootfs is unmounted: the upper is complete either way,
      // and once unmounted it becomes the layer's directory as it is (no second unpack).
      const cdir = this.d.containers.dir(id);
      const upper = join(cdir, 'upper');
      let adopt = false;
      for (let i = 0; i < 100; i++) {
        if (!(await this.d.snapshots.isMounted(cdir))) {
          adopt = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const img = await this.d.images.commit({
        parent: st.image,
        layer: diffOverlayUpper(upper, { host: this.d.host }),
        config: st.config,
        createdBy,
        author: st.author,
        containerId: id,
        ...(adopt ? { adoptDir: upper } : {}),
      });
      await this.d.containers.remove(id, { force: true, volumes: true });
      removed = true;
      out(`Removing intermediate container ${shortId(id)}\n`);
      await this.finish(st, img, key, out);
    } finally {
      if (!removed) await this.d.containers.remove(id, { force: true, volumes: true }).catch(() => {});
    }
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
