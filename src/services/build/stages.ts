/**
 * Stage planning, a pure function of the parsed Dockerfile: which stages the target needs
 * (its FROM stage and its `COPY --from` sources, transitively; stages nothing needs are not
 * built, as BuildKit skips them), what each waits for (so independent stages run at the same
 * time), and the step numbers the legacy builder shows (`Step 3/7`).
 *
 * Example: for `FROM a AS x` / `FROM b AS y` / `FROM x` + `COPY --from=y`, the target (stage 2)
 * needs x and y, which wait for nothing; the plan is stages [0, 1, 2] with 2 waiting for 0, 1.
 */
import { invalidArgument } from '../../errdefs/index.ts';
import {
  DockerfileParseError,
  expandBase,
  expandWord,
  parseInstruction,
  type Dockerfile,
  type Instruction,
  type Stage,
} from '../../dockerfile/index.ts';

export interface StagePlan {
  /** The stages the target needs, in file order; the target is the last. */
  readonly stages: readonly Stage[];
  /** For each planned stage (by its index in the file), the stages it waits for. */
  readonly needs: ReadonlyMap<number, readonly number[]>;
  /** The step count the legacy builder shows: the ARGs before FROM, each stage's FROM and instructions. */
  readonly totalSteps: number;
  /** For each planned stage (by position in `stages`), the number of the step before its FROM. */
  readonly firstSteps: readonly number[];
}

export interface PlanOptions {
  /** `--target`: a stage name (any case); the last stage when absent. */
  readonly target?: string;
  /** The ARGs before the first FROM with their values: what a FROM line and `--from` expand with. */
  readonly metaEnv: Map<string, string>;
  /**
   * The ONBUILD triggers of a base image (not a stage) by the name FROM gives, if the image is
   * known: their `COPY --from` stages are needed too. Optional; without it only the triggers a
   * stage of this Dockerfile declares are looked at.
   */
  readonly imageTriggers?: (ref: string) => readonly string[] | undefined;
}

/** Plans a build; an unknown target or a `--from` forward reference is InvalidArgument. */
export function planStages(df: Dockerfile, o: PlanOptions): StagePlan {
  let target = df.stages.length - 1;
  if (o.target) {
    const t = o.target.toLowerCase();
    target = df.stages.findIndex((s) => s.name === t);
    if (target < 0) throw invalidArgument(`failed to reach build target ${o.target} in Dockerfile`);
  }
  const needs = new Map<number, number[]>();
  const visit = (i: number) => {
    if (needs.has(i)) return;
    const deps = stageDeps(df, df.stages[i]!, o);
    needs.set(i, deps);
    for (const d of deps) visit(d);
  };
  try {
    visit(target);
  } catch (e) {
    if (e instanceof DockerfileParseError) throw invalidArgument(e.message);
    throw e;
  }
  const stages = df.stages.filter((s) => needs.has(s.index));
  let step = df.metaInstructions.length;
  const firstSteps: number[] = [];
  for (const s of stages) {
    firstSteps.push(step);
    step += 1 + s.instructions.length;
  }
  return { stages, needs, totalSteps: step, firstSteps };
}

/** The earlier stage a stage is built FROM, if its base names one. */
export function baseStage(df: Dockerfile, s: Stage, metaEnv: Map<string, string>): Stage | undefined {
  const base = expandBase(s, metaEnv, df.escape).toLowerCase();
  return df.stages.find((o) => o.index < s.index && o.name === base);
}

/** The stage a `--from` value names: by its AS name (any case) or by its number. */
export function stageNamed(df: Dockerfile, from: string): Stage | undefined {
  return (
    df.stages.find((s) => s.name === from.toLowerCase()) ?? (/^\d+$/.test(from) ? df.stages[Number(from)] : undefined)
  );
}

/** The stages one stage needs: its FROM, its COPY --from sources, and those of the triggers it inherits. */
function stageDeps(df: Dockerfile, s: Stage, o: PlanOptions): number[] {
  const out = new Set<number>();
  const base = baseStage(df, s, o.metaEnv);
  if (base) out.add(base.index);
  for (const ins of s.instructions) {
    const dep = copyFrom(df, ins, o.metaEnv);
    if (dep === undefined) continue;
    if (dep.index >= s.index) {
      throw new DockerfileParseError(ins.line, `invalid from flag value ${dep.from}: refers to current or later stage`);
    }
    if (df.stages[dep.index]) out.add(dep.index);
  }
  // A trigger that copies from a later stage fails when it runs, as it did before planning knew of it.
  for (const ins of inheritedTriggers(df, s, base, o)) {
    const dep = copyFrom(df, ins, o.metaEnv);
    if (dep !== undefined && dep.index < s.index && df.stages[dep.index]) out.add(dep.index);
  }
  return [...out];
}

/**
 * The stage number a COPY/ADD --from names (by AS name, or a number, which may name no stage),
 * with the value as expanded with the ARGs before FROM.
 */
function copyFrom(
  df: Dockerfile,
  ins: Instruction,
  metaEnv: Map<string, string>,
): { index: number; from: string } | undefined {
  if ((ins.kind !== 'COPY' && ins.kind !== 'ADD') || ins.from === undefined) return undefined;
  let from = ins.from;
  try {
    from = expandWord(from, metaEnv, df.escape);
  } catch {
    // left as written
  }
  const byName = df.stages.find((o) => o.name === from.toLowerCase());
  const index = byName ? byName.index : /^\d+$/.test(from) ? Number(from) : undefined;
  return index === undefined ? undefined : { index, from };
}

/**
 * The ONBUILD triggers that run first in stage `s`: those its base stage declares (a stage's
 * own inherited triggers ran in it and were cleared), or those of its base image.
 */
function inheritedTriggers(df: Dockerfile, s: Stage, base: Stage | undefined, o: PlanOptions): Instruction[] {
  let expressions: readonly string[];
  if (base) {
    expressions = base.instructions.flatMap((i) => (i.kind === 'ONBUILD' ? [i.expression] : []));
  } else {
    const ref = expandBase(s, o.metaEnv, df.escape);
    expressions = ref.toLowerCase() === 'scratch' || !ref ? [] : (o.imageTriggers?.(ref) ?? []);
  }
  const out: Instruction[] = [];
  for (const e of expressions) {
    try {
      out.push(parseInstruction(e, df.escape));
    } catch {
      // a broken trigger fails the stage when it runs, with its own message
    }
  }
  return out;
}
