import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../dockerfile/index.ts';
import { is } from '../../errdefs/index.ts';
import { planStages } from './stages.ts';

const plan = (text: string, o: Partial<Parameters<typeof planStages>[1]> = {}) =>
  planStages(parseDockerfile(text), { metaEnv: new Map(), ...o });
const indices = (p: ReturnType<typeof plan>) => p.stages.map((s) => s.index);
const needs = (p: ReturnType<typeof plan>) => Object.fromEntries([...p.needs].map(([k, v]) => [k, [...v].sort()]));

const MULTI = [
  'FROM busybox AS base',
  'RUN echo base',
  'FROM busybox AS tools',
  'RUN echo tools',
  'FROM base AS app',
  'COPY --from=tools /x /x',
  'FROM busybox AS unrelated',
  'RUN echo never',
  'FROM app',
  'CMD ["app"]',
].join('\n');

test('a stage waits for the stage it is built FROM and the stages it copies from', () => {
  const p = plan(MULTI);
  assert.deepEqual(needs(p), { 0: [], 1: [], 2: [0, 1], 4: [2] });
});

test('stages nothing needs are skipped, and the target is the last stage', () => {
  const p = plan(MULTI);
  assert.deepEqual(indices(p), [0, 1, 2, 4]);
});

test('--target builds only what the target needs, whatever the case it is given in', () => {
  assert.deepEqual(indices(plan(MULTI, { target: 'APP' })), [0, 1, 2]);
  assert.deepEqual(indices(plan(MULTI, { target: 'tools' })), [1]);
});

test("an unknown --target is refused with dockerd's message", () => {
  assert.throws(
    () => plan(MULTI, { target: 'nope' }),
    (e) => is(e, 'InvalidArgument') && /failed to reach build target nope in Dockerfile/.test((e as Error).message),
  );
});

test('COPY --from the stage itself or a later one is refused, naming its line', () => {
  const text = 'FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n';
  assert.throws(
    () => plan(text, { target: 'a' }),
    (e) =>
      is(e, 'InvalidArgument') && /line 2.*invalid from flag value b: refers to current or later stage/.test(String(e)),
  );
  assert.throws(
    () => plan('FROM busybox\nCOPY --from=0 /x /x\n'),
    (e) => is(e, 'InvalidArgument'),
  );
});

test('COPY --from by number, and by a build arg declared before FROM', () => {
  const text =
    'ARG SRC=first\nFROM busybox AS first\nFROM busybox AS second\nFROM busybox\nCOPY --from=${SRC} /a /a\nCOPY --from=1 /b /b\n';
  const p = plan(text, { metaEnv: new Map([['SRC', 'first']]) });
  assert.deepEqual(needs(p), { 0: [], 1: [], 2: [0, 1] });
});

test('a FROM naming an image, or a stage only later in the file, needs no stage', () => {
  const p = plan('FROM app AS base\nFROM busybox AS app\nFROM base\n');
  assert.deepEqual(needs(p), { 0: [], 2: [0] });
});

test('step numbers count the ARGs before FROM, then each needed stage: its FROM and its instructions', () => {
  const p = plan('ARG A=1\nARG B=2\n' + MULTI);
  // 2 ARGs + base (2) + tools (2) + app (2) + last (2); "unrelated" is not counted
  assert.equal(p.totalSteps, 10);
  assert.deepEqual(p.firstSteps, [2, 4, 6, 8]);
});

test('COPY --from in an ONBUILD trigger the base stage declares makes that stage a dependency', () => {
  const text = [
    'FROM busybox AS assets',
    'RUN echo assets',
    'FROM busybox AS parent',
    'ONBUILD COPY --from=assets /a /a',
    'FROM parent',
  ].join('\n');
  const p = plan(text);
  assert.deepEqual(indices(p), [0, 1, 2]);
  assert.deepEqual(needs(p), { 0: [], 1: [], 2: [0, 1] });
});

test("COPY --from in the base image's ONBUILD triggers makes that stage a dependency", () => {
  const text = 'FROM busybox AS assets\nFROM busybox AS other\nFROM parent:1\n';
  const triggers = (ref: string) => (ref === 'parent:1' ? ['RUN true', 'COPY --from=assets /a /a'] : undefined);
  const p = plan(text, { imageTriggers: triggers });
  assert.deepEqual(indices(p), [0, 2]);
  assert.deepEqual(needs(p), { 0: [], 2: [0] });
  // without a way to see the image's triggers, nothing is needed
  assert.deepEqual(indices(plan(text)), [2]);
});

test('a trigger copying from a later stage, or one that does not parse, is left for its step to fail', () => {
  const text = 'FROM busybox AS parent\nONBUILD COPY --from=later /a /a\nFROM parent AS child\nFROM busybox AS later\n';
  assert.deepEqual(needs(plan(text, { target: 'child' })), { 0: [], 1: [0] });
  const broken = plan('FROM parent:1\n', { imageTriggers: () => ['COPY', 'FROM busybox'] });
  assert.deepEqual(needs(broken), { 0: [] });
});
