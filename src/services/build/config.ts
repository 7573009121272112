/**
 * The instructions that change only the image config (ENV, LABEL, ARG, MAINTAINER, USER,
 * STOPSIGNAL, EXPOSE, VOLUME, SHELL, HEALTHCHECK, ONBUILD, CMD, ENTRYPOINT, and WORKDIR's
 * config half) as one pure dispatch: the stage's state in, the changed state and the history
 * entry out. The service commits the result (an empty layer, or the cached image); WORKDIR
 * also makes its directory in a mounted root.
 *
 * The history text (`CREATED BY`) is dockerd's legacy builder's to the byte, because it is
 * also the cache key and users read it in `docker history`:
 *
 *     configStep(CMD ["app"], state, inputs).createdBy === '/bin/sh -c #(nop)  CMD ["app"]'
 */
import { posix } from 'node:path';
import { expandWords, type ArgDef, type Instruction } from '../../dockerfile/index.ts';
import type { ImageRunConfig } from '../../spec/index.ts';
import { StepError, expand, shellOf, stepEnv, type StageState } from './step.ts';

/** The instructions `configStep` handles: every one but those that run or copy something. */
export type ConfigInstruction = Exclude<Instruction, { kind: 'RUN' | 'COPY' | 'ADD' }>;

/** What a config step reads besides the stage: the Dockerfile's escape and the build's arguments. */
export interface ConfigInputs {
  readonly escape: string;
  /** `--build-arg` values (null: named without a value, so the ARG's default applies) */
  readonly buildArgs: Readonly<Record<string, string | null>>;
  /** the ARGs before the first FROM with their values */
  readonly metaEnv: ReadonlyMap<string, string>;
}

export interface ConfigStep {
  /** The stage's state after the step (the input is left as it was). */
  readonly state: Pick<StageState, 'config' | 'author' | 'args' | 'cmdSet'>;
  /** The history entry, also the step's cache key. */
  readonly createdBy: string;
  /** Build args the step consumed (for the "were not consumed" warning). */
  readonly used: readonly string[];
  /** WORKDIR: the absolute directory to make in the root. */
  readonly mkdir?: string;
}

export function configStep(
  ins: ConfigInstruction,
  st: Pick<StageState, 'config' | 'author' | 'args' | 'cmdSet'>,
  inputs: ConfigInputs,
): ConfigStep {
  const esc = inputs.escape;
  const env = stepEnv(st);
  const x = (s: string) => expand(s, env, esc, ins.line);
  const shell = shellOf(st.config);
  const nop = (text: string) => `${shell.join(' ')} #(nop) ${text}`;
  const c: ImageRunConfig = structuredClone(st.config);
  const state = { config: c, author: st.author, args: st.args, cmdSet: st.cmdSet };
  const done = (createdBy: string, more: Partial<ConfigStep> = {}): ConfigStep => ({
    state,
    createdBy,
    used: [],
    ...more,
  });
  switch (ins.kind) {
    case 'ENV': {
      const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
      const list = [...(c.Env ?? [])];
      for (const [k, v] of pairs) {
        const i = list.findIndex((e) => e.split('=')[0] === k);
        if (i >= 0) list[i] = `${k}=${v}`;
        else list.push(`${k}=${v}`);
      }
      c.Env = list;
      return done(nop(` ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`));
    }
    case 'LABEL': {
      const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
      c.Labels = { ...(c.Labels ?? {}) };
      for (const [k, v] of pairs) c.Labels[k] = v;
      return done(nop(` LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`));
    }
    case 'ARG': {
      // Every default expands with the env from before the instruction, as dockerd's does. The
      // values are not part of the step's key (dockerd's is the history line alone, so a new
      // --build-arg still finds the ARG step cached): the image an ARG commits has the config
      // of its parent, and each later step that reads a value has it in its own key (RUN's
      // "|N NAME=value" prefix, the expanded text of ENV, LABEL, WORKDIR, COPY ...).
      const shown: string[] = [];
      const used: string[] = [];
      state.args = new Map(st.args);
      for (const a of ins.args) {
        const value = argValue(a, env, inputs, ins.line);
        used.push(a.name);
        if (value !== undefined) state.args.set(a.name, value);
        shown.push(a.value !== undefined ? `${a.name}=${a.value}` : a.name);
      }
      return done(nop(` ARG ${shown.join(' ')}`), { used });
    }
    case 'MAINTAINER':
      state.author = ins.value;
      return done(nop(` MAINTAINER ${ins.value}`));
    case 'WORKDIR': {
      const w = x(ins.value);
      const path = posix.isAbsolute(w) ? posix.normalize(w) : posix.join(c.WorkingDir || '/', w);
      c.WorkingDir = path;
      return done(nop(`WORKDIR ${path}`), { mkdir: path });
    }
    case 'USER':
      c.User = x(ins.value);
      return done(nop(` USER ${c.User}`));
    case 'STOPSIGNAL':
      c.StopSignal = x(ins.value);
      return done(nop(` STOPSIGNAL ${c.StopSignal}`));
    case 'EXPOSE': {
      // dockerd sorts the words as written (byte order, before expansion: `$P` ahead of digits),
      // then expands each; its history line keeps that order.
      const ports = [...ins.ports]
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .flatMap((p) => expandWords(p, env, esc));
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of ports) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!m) throw new StepError(`invalid containerPort: ${p}`);
        const from = Number(m[1]);
        const to = m[2] ? Number(m[2]) : from;
        for (let n = from; n <= to; n++) c.ExposedPorts[`${n}/${(m[3] ?? 'tcp').toLowerCase()}`] = {};
      }
      return done(nop(` EXPOSE ${ports.join(' ')}`));
    }
    case 'VOLUME': {
      const vols = ins.volumes.map((v) => x(v));
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of vols) c.Volumes[v] = {};
      return done(nop(` VOLUME [${vols.join(' ')}]`));
    }
    case 'SHELL':
      c.Shell = ins.shell;
      // Docker records it under the new shell
      return done(`${ins.shell.join(' ')} #(nop)  SHELL [${ins.shell.join(' ')}]`);
    case 'HEALTHCHECK': {
      const h = ins.health;
      c.Healthcheck = {
        Test: h.test,
        ...(h.interval ? { Interval: h.interval } : {}),
        ...(h.timeout ? { Timeout: h.timeout } : {}),
        ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
        ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
        ...(h.retries ? { Retries: h.retries } : {}),
      } as ImageRunConfig['Healthcheck'];
      return done(
        nop(
          ` HEALTHCHECK &{${goList(h.test)} "${dur(h.interval)}" "${dur(h.timeout)}" "${dur(h.startPeriod)}" '\\x${(h.retries ?? 0).toString(16).padStart(2, '0')}'}`,
        ),
      );
    }
    case 'ONBUILD':
      c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
      return done(nop(` ONBUILD ${ins.expression}`));
    case 'CMD':
    case 'ENTRYPOINT': {
      const cmd = ins.shellForm ? (ins.cmd.length ? [...shell, ...ins.cmd] : []) : ins.cmd;
      if (ins.kind === 'CMD') {
        c.Cmd = cmd;
        state.cmdSet = true;
      } else {
        c.Entrypoint = cmd;
        if (!st.cmdSet) c.Cmd = null;
      }
      return done(nop(` ${ins.kind} ${goList(cmd)}`));
    }
  }
}

/** An ARG's value: the build arg given, else its default, else the value before FROM. */
function argValue(a: ArgDef, env: Map<string, string>, inputs: ConfigInputs, line: number): string | undefined {
  const given = inputs.buildArgs[a.name];
  if (given !== undefined && given !== null) return given;
  if (a.value !== undefined) return expand(a.value, env, inputs.escape, line);
  if (inputs.metaEnv.has(a.name)) return inputs.metaEnv.get(a.name);
  return undefined;
}

/** Go's %v of a []string: `[a b c]`, as Docker writes CMD into history. */
function goList(a: readonly string[]): string {
  return `[${a.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** A duration in nanoseconds as the history of a HEALTHCHECK shows it. */
function dur(ns?: number): string {
  if (!ns) return '0s';
  const s = ns / 1e9;
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}
