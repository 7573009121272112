import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../dockerfile/index.ts';
import type { ImageRunConfig } from '../../spec/index.ts';
import { configStep, type ConfigInputs, type ConfigInstruction } from './config.ts';
import { StepError, type StageState } from './step.ts';

type State = Pick<StageState, 'config' | 'author' | 'args' | 'cmdSet'>;

const inputs: ConfigInputs = { escape: '\\', buildArgs: {}, metaEnv: new Map() };
const state = (config: ImageRunConfig = {}, more: Partial<State> = {}): State => ({
  config,
  args: new Map(),
  cmdSet: false,
  ...more,
});
const step = (line: string, st: State = state(), i: Partial<ConfigInputs> = {}) =>
  configStep(parseDockerfile(`FROM scratch\n${line}`).stages[0]!.instructions[0] as ConfigInstruction, st, {
    ...inputs,
    ...i,
  });

test('ENV replaces a variable where it stands and appends new ones; the history is dockerd’s', () => {
  const r = step('ENV B=2 PATH=/bin C="x y"', state({ Env: ['PATH=/usr/bin', 'A=1'] }));
  assert.deepEqual(r.state.config.Env, ['PATH=/bin', 'A=1', 'B=2', 'C=x y']);
  assert.equal(r.createdBy, '/bin/sh -c #(nop)  ENV B=2 PATH=/bin C=x y');
});

test('words expand with the stage’s ARGs, and ENV of the same name wins over an ARG', () => {
  const st = state(
    { Env: ['WHO=env'] },
    {
      args: new Map([
        ['WHO', 'arg'],
        ['V', '1.2'],
      ]),
    },
  );
  assert.equal(step('LABEL version=$V who=$WHO', st).state.config.Labels?.who, 'env');
  assert.equal(step('USER app-${V}', st).state.config.User, 'app-1.2');
});

test('the stage as given is left unchanged; the step returns the new state', () => {
  const st = state({ Env: ['A=1'], Labels: { a: '1' } });
  const r = step('LABEL b=2', st);
  assert.deepEqual(st.config, { Env: ['A=1'], Labels: { a: '1' } });
  assert.deepEqual(r.state.config.Labels, { a: '1', b: '2' });
});

test('ARG takes the build arg, else its default, else the value before FROM; the key carries the values', () => {
  const i = {
    buildArgs: { GIVEN: 'cli', NAMED: null },
    metaEnv: new Map([
      ['META', 'm'],
      ['NAMED', 'meta'],
    ]),
  };
  const r = step('ARG GIVEN=default DEFAULTED=d META NONE NAMED', state(), i);
  assert.deepEqual(
    [...r.state.args],
    [
      ['GIVEN', 'cli'],
      ['DEFAULTED', 'd'],
      ['META', 'm'],
      ['NAMED', 'meta'],
    ],
  );
  assert.equal(r.createdBy, '/bin/sh -c #(nop)  ARG GIVEN=default DEFAULTED=d META NONE NAMED');
  assert.deepEqual(r.used, ['GIVEN', 'DEFAULTED', 'META', 'NONE', 'NAMED']);
});

test('the defaults of one ARG line expand with what was set before that line', () => {
  const r = step('ARG A=1 B=${A:-unset}', state());
  assert.equal(r.state.args.get('B'), 'unset');
});

test('CMD and ENTRYPOINT: shell form runs under the current shell, exec form as written', () => {
  const shell = step('CMD echo hi', state());
  assert.deepEqual(shell.state.config.Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.equal(shell.createdBy, '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo hi"]');
  assert.equal(shell.state.cmdSet, true);
  const exec = step('ENTRYPOINT ["/app", "--flag"]', state({ Shell: ['/bin/bash', '-c'] }));
  assert.deepEqual(exec.state.config.Entrypoint, ['/app', '--flag']);
  assert.equal(exec.createdBy, '/bin/bash -c #(nop)  ENTRYPOINT ["/app" "--flag"]');
});

test('ENTRYPOINT clears an inherited CMD, but not one this stage set', () => {
  const inherited = step('ENTRYPOINT ["/app"]', state({ Cmd: ['old'] }));
  assert.equal(inherited.state.config.Cmd, null);
  const own = step('ENTRYPOINT ["/app"]', state({ Cmd: ['mine'] }, { cmdSet: true }));
  assert.deepEqual(own.state.config.Cmd, ['mine']);
});

test('SHELL is recorded under the new shell and used by the steps after it', () => {
  const r = step('SHELL ["/bin/bash", "-euc"]', state());
  assert.equal(r.createdBy, '/bin/bash -euc #(nop)  SHELL [/bin/bash -euc]');
  assert.deepEqual(step('CMD run', r.state).state.config.Cmd, ['/bin/bash', '-euc', 'run']);
});

test('EXPOSE adds ports and ranges with their protocol; a bad port fails the step', () => {
  const r = step('EXPOSE 80 53/UDP 8000-8002/tcp', state({ ExposedPorts: { '22/tcp': {} } }));
  assert.deepEqual(Object.keys(r.state.config.ExposedPorts ?? {}), [
    '22/tcp',
    '53/udp',
    '80/tcp',
    '8000/tcp',
    '8001/tcp',
    '8002/tcp',
  ]);
  // dockerd's order: the words as written sorted, then expanded (its history for this line)
  assert.equal(r.createdBy, '/bin/sh -c #(nop)  EXPOSE 53/UDP 80 8000-8002/tcp');
  assert.equal(
    step('EXPOSE 9000 80/tcp 1000 $P', state({ Env: ['P=7000'] })).createdBy,
    '/bin/sh -c #(nop)  EXPOSE 7000 1000 80/tcp 9000',
  );
  assert.throws(
    () => step('EXPOSE http'),
    (e) => e instanceof StepError && e.message === 'invalid containerPort: http',
  );
});

test('VOLUME, STOPSIGNAL, MAINTAINER and ONBUILD change the config and say so in the history', () => {
  assert.equal(step('VOLUME /data /logs').createdBy, '/bin/sh -c #(nop)  VOLUME [/data /logs]');
  assert.equal(step('STOPSIGNAL SIGINT').state.config.StopSignal, 'SIGINT');
  assert.equal(step('MAINTAINER someone').state.author, 'someone');
  const onbuild = step('ONBUILD RUN make', state({ OnBuild: ['COPY . /src'] }));
  assert.deepEqual(onbuild.state.config.OnBuild, ['COPY . /src', 'RUN make']);
  assert.equal(onbuild.createdBy, '/bin/sh -c #(nop)  ONBUILD RUN make');
});

test('HEALTHCHECK is written into the history as dockerd prints its struct', () => {
  const r = step('HEALTHCHECK --interval=90s --timeout=3s --retries=12 CMD curl -f http://localhost/');
  assert.deepEqual(r.state.config.Healthcheck, {
    Test: ['CMD-SHELL', 'curl -f http://localhost/'],
    Interval: 90e9,
    Timeout: 3e9,
    Retries: 12,
  });
  assert.equal(
    r.createdBy,
    `/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/"] "1m30s" "3s" "0s" '\\x0c'}`,
  );
});

test('WORKDIR resolves against the current one and asks for the directory to be made', () => {
  const r = step('WORKDIR sub/../app', state({ WorkingDir: '/srv' }));
  assert.equal(r.state.config.WorkingDir, '/srv/app');
  assert.equal(r.mkdir, '/srv/app');
  assert.equal(r.createdBy, '/bin/sh -c #(nop) WORKDIR /srv/app');
  assert.equal(step('WORKDIR /abs//x/').mkdir, '/abs/x/');
});

test('a bad substitution names the word and the line', () => {
  assert.throws(
    () => step('USER ${X:?unset}'),
    (e) => e instanceof StepError && /^failed to process "\$\{X:\?unset\}": .* \(line 2\)$/.test(e.message),
  );
});
