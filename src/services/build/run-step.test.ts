import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, type Instruction } from '../../dockerfile/index.ts';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argEnvOf, removeMountStubs, runCommand } from './run-step.ts';

const SH = ['/bin/sh', '-c'];
const run = (text: string) =>
  parseDockerfile(`FROM scratch\n${text}`).stages[0]!.instructions[0] as Extract<Instruction, { kind: 'RUN' }>;

test('a RUN in shell form runs under the shell, one in exec form as written', () => {
  assert.deepEqual(runCommand(run('RUN echo "a b" && true'), SH), ['/bin/sh', '-c', 'echo "a b" && true']);
  assert.deepEqual(runCommand(run('RUN ["/bin/echo", "x"]'), SH), ['/bin/echo', 'x']);
  assert.deepEqual(runCommand(run('RUN make'), ['/bin/bash', '-euc']), ['/bin/bash', '-euc', 'make']);
});

test('a RUN heredoc is the script; a command line around heredocs keeps them in place', () => {
  assert.deepEqual(runCommand(run('RUN <<EOF\necho one\necho two\nEOF'), SH), [
    '/bin/sh',
    '-c',
    'echo one\necho two\n',
  ]);
  assert.deepEqual(runCommand(run('RUN cat <<A\nx\nA'), SH), ['/bin/sh', '-c', 'cat <<A\nx\nA']);
});

test('a RUN heredoc with its own interpreter runs as a script file, whatever its body holds', () => {
  const [, , script] = runCommand(run('RUN <<EOF\n#!/usr/bin/env python3\nprint("BERTH_HEREDOC")\nEOF'), SH);
  assert.match(script!, /^f=\/tmp\/\.berth-heredoc-\$\$; cat > "\$f" <<'BERTH_HEREDOC_'\n#!\/usr\/bin\/env python3\n/);
  assert.match(script!, /\nBERTH_HEREDOC_\nchmod \+x "\$f"; "\$f"; rc=\$\?; rm -f "\$f"; exit \$rc$/);
});

test('a RUN sees the stage’s build args, sorted, except those an ENV of the same name hides', () => {
  const st = {
    args: new Map([
      ['Z', '1'],
      ['A', '2'],
      ['HIDDEN', 'arg'],
    ]),
    config: { Env: ['HIDDEN=env'] },
  };
  assert.deepEqual(argEnvOf(st), ['A=2', 'Z=1']);
});

test("RUN --mount's mount points stay out of the layer where the image lacked them; what the command wrote stays", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-stubs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const lower = join(root, 'lower');
  const upper = join(root, 'upper');
  mkdirSync(join(lower, 'tmp'), { recursive: true });
  mkdirSync(join(lower, 'root'), { recursive: true });
  // What crun made for the mounts, and what the command wrote beside them.
  for (const d of ['cache', 'deep/er/cache', 'tmp', 'root/.cache', 'app/cache'])
    mkdirSync(join(upper, d), { recursive: true });
  writeFileSync(join(upper, 'app', 'built'), 'x');
  writeFileSync(join(upper, 'file-target'), '');
  await removeMountStubs(
    upper,
    [lower],
    ['/cache', '/deep/er/cache', '/tmp', 'root/.cache', '/app/cache', '/file-target'],
  );
  assert.deepEqual(readdirSync(upper).sort(), ['app', 'root', 'tmp']);
  assert.deepEqual(readdirSync(join(upper, 'app')), ['built']);
  assert.deepEqual(readdirSync(join(upper, 'root')), [], 'the .cache stub goes; /root was in the image');
});
