/**
 * What every build step shares: the build as prepared, what steps work with (the services,
 * the cache, where roots are mounted), the state a stage carries from step to step, the error
 * a step fails with (streamed to the client as the build's error, with the command's exit code
 * when a RUN failed), and word expansion that names the step's line when it fails.
 */
import { ShellError, expandWord, type Dockerfile } from '../../dockerfile/index.ts';
import type { Host } from '../../host/index.ts';
import type { Image } from '../../images/index.ts';
import type { Snapshotter } from '../../snapshots/index.ts';
import type { ImageRunConfig } from '../../spec/index.ts';
import type { ContainerService } from '../containers/index.ts';
import type { ImageService } from '../images/index.ts';
import type { BuildCache } from './cache.ts';
import type { StagePlan } from './stages.ts';

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
  /** `--cache-from`: images (built elsewhere, pulled or loaded) whose history may stand for steps */
  cacheFrom?: string[];
  /** `--secret`: ID → content, for `RUN --mount=type=secret`; kept out of the context and the layers */
  secrets?: Map<string, Buffer>;
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
  /** the `--cache-from` images found; narrowed to one once a step matched it, as dockerd does */
  cacheSources: Image[];
  /** set by run: aborts the build (the client went away, or another stage failed) */
  signal?: AbortSignal;
}

/** What the steps work with: made once by the service. */
export interface StepContext {
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly snapshots: Snapshotter;
  readonly host: Host;
  readonly cache: BuildCache;
  /**
   * Where steps mount roots (`<data-root>/builder/mounts`), outside `tmp/`, which the daemon
   * empties at start with a plain recursive removal that a live mount would stop.
   */
  readonly mountsDir: string;
}

/** The shell of shell-form commands until a SHELL instruction says otherwise. */
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** A stage as it runs: the image of its last step, that image's config being changed, and its ARGs. */
export interface StageState {
  image: Image | null;
  config: ImageRunConfig;
  author?: string;
  /** ARGs declared in this stage, with their values */
  args: Map<string, string>;
  /** whether a CMD was given in this stage (an ENTRYPOINT clears an inherited CMD only) */
  cmdSet: boolean;
}

export class StepError extends Error {
  code?: number;
  constructor(message: string, code?: number) {
    super(message);
    this.code = code;
  }
}

/** The shell shell-form commands run with: the config's SHELL, else /bin/sh -c. */
export function shellOf(config: ImageRunConfig): readonly string[] {
  return config.Shell?.length ? config.Shell : DEFAULT_SHELL;
}

/** The env an instruction's words expand with: the stage's ARGs under its ENV. */
export function stepEnv(st: Pick<StageState, 'args' | 'config'>): Map<string, string> {
  const env = new Map(st.args);
  for (const e of st.config.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  return env;
}

/** Expands one word; a syntax error fails the step, naming the word and the line. */
export function expand(s: string, env: Map<string, string>, esc: string, line: number): string {
  try {
    return expandWord(s, env, esc);
  } catch (e) {
    if (e instanceof ShellError)
      throw new StepError(`failed to process "${s}": ${e.message}${line ? ` (line ${line})` : ''}`);
    throw e;
  }
}
