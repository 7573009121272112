import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, DockerfileParseError } from './parser.ts';
import { parseDockerfile, parseInstruction, expandBase } from './instructions.ts';
import { expandWord, expandWords, splitRaw } from './shell.ts';

function parseErr(text: string): DockerfileParseError {
  try {
    parseDockerfile(text);
  } catch (err) {
    assert.ok(err instanceof DockerfileParseError, String(err));
    return err;
  }
  assert.fail('no error');
}

test('an unknown instruction is reported with its line number', () => {
  const err = parseErr('FROM busybox\nRUN true\nFOO bar\n');
  assert.equal(err.message, 'dockerfile parse error on line 3: unknown instruction: FOO');
  assert.equal(err.line, 3);
});

test('instructions are case-insensitive and keep their line numbers', () => {
  const df = parseDockerfile('# a comment\n\nfrom busybox AS Base\n\nrun echo hi\nCmd ["sh"]\n');
  assert.equal(df.stages.length, 1);
  assert.equal(df.stages[0]!.name, 'base');
  assert.equal(df.stages[0]!.line, 3);
  const [run, cmd] = df.stages[0]!.instructions;
  assert.equal(run!.kind, 'RUN');
  assert.equal(run!.line, 5);
  assert.deepEqual(cmd!.kind === 'CMD' && cmd!.cmd, ['sh']);
  assert.equal(cmd!.kind === 'CMD' && cmd!.shellForm, false);
});

test('line continuations join lines, skipping comments and blank lines inside', () => {
  const df = parseDockerfile('FROM busybox\nRUN echo a \\\n# inner comment\n    b \\\n\n  c\nCMD x\n');
  const run = df.stages[0]!.instructions[0]!;
  assert.equal(run.kind, 'RUN');
  assert.deepEqual(run.kind === 'RUN' && run.cmd, ['echo a     b   c']);
  assert.equal(run.line, 2);
  assert.equal(run.endLine, 6);
  assert.equal(df.stages[0]!.instructions[1]!.line, 7);
  assert.equal(df.warnings.length, 1);
});

test('the escape directive switches to backtick, and syntax is accepted', () => {
  const df = parseDockerfile(
    '# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY a\\b c\\\n',
  );
  assert.equal(df.escape, '`');
  assert.equal(df.directives.syntax, 'docker/dockerfile:1');
  const [run, copy] = df.stages[0]!.instructions;
  assert.deepEqual(run!.kind === 'RUN' && run!.cmd, ['echo a   b']);
  assert.deepEqual(copy!.kind === 'COPY' && [copy!.sources, copy!.dest], [['a\\b'], 'c\\']);
});

test('a directive after a comment is just a comment', () => {
  const df = parseDockerfile('# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n');
  assert.equal(df.escape, '\\');
  assert.deepEqual(
    df.stages[0]!.instructions[0]!.kind === 'RUN' && (df.stages[0]!.instructions[0] as { cmd: string[] }).cmd,
    ['a  b'],
  );
});

test('a bad escape token is refused', () => {
  assert.throws(() => parse('# escape=x\nFROM a\n'), /invalid escape token/);
});

test('heredocs: body, terminator, chomp, quoted and line span', () => {
  const text = [
    'FROM busybox',
    'RUN <<EOF',
    'echo one',
    'echo two',
    'EOF',
    'RUN <<-"END" cat',
    '\tindented $X',
    '\tEND',
    'COPY <<A <<B /dst/',
    'a-body',
    'A',
    'B',
    'CMD ["true"]',
  ].join('\n');
  const df = parseDockerfile(text);
  const [r1, r2, cp, cmd] = df.stages[0]!.instructions;
  assert.ok(r1!.kind === 'RUN');
  assert.deepEqual(r1.heredocs, [{ name: 'EOF', chomp: false, quoted: false, content: 'echo one\necho two\n' }]);
  assert.equal(r1.line, 2);
  assert.equal(r1.endLine, 5);
  assert.ok(r2!.kind === 'RUN');
  assert.deepEqual(r2.heredocs, [{ name: 'END', chomp: true, quoted: true, content: 'indented $X\n' }]);
  assert.ok(cp!.kind === 'COPY');
  assert.deepEqual(cp.sources, ['<<A', '<<B']);
  assert.equal(cp.dest, '/dst/');
  assert.deepEqual(
    cp.heredocs.map((h) => [h.name, h.content]),
    [
      ['A', 'a-body\n'],
      ['B', ''],
    ],
  );
  assert.equal(cmd!.line, 13);
});

test('an unterminated heredoc is an error on its instruction line', () => {
  const err = parseErr('FROM busybox\nRUN <<EOF\necho\n');
  assert.equal(err.line, 2);
  assert.match(err.message, /unterminated heredoc EOF/);
});

test('exec and shell forms', () => {
  const df = parseDockerfile('FROM a\nRUN ["/bin/echo", "a b"]\nENTRYPOINT echo hi\nCMD [ "bad json\n');
  const [run, ep, cmd] = df.stages[0]!.instructions;
  assert.deepEqual(run!.kind === 'RUN' && [run!.shellForm, run!.cmd], [false, ['/bin/echo', 'a b']]);
  assert.deepEqual(ep!.kind === 'ENTRYPOINT' && [ep!.shellForm, ep!.cmd], [true, ['echo hi']]);
  // not valid JSON: shell form, as Docker does
  assert.deepEqual(cmd!.kind === 'CMD' && [cmd!.shellForm, cmd!.cmd], [true, ['[ "bad json']]);
});

test('flags: --from, --chown, --chmod, --platform, and an unknown flag', () => {
  const df = parseDockerfile(
    'FROM --platform=linux/amd64 busybox AS b\nCOPY --from=b --chown=1:2 --chmod=755 /a /b\nADD --chown="x" s d\n',
  );
  assert.equal(df.stages[0]!.platform, 'linux/amd64');
  const [cp, add] = df.stages[0]!.instructions;
  assert.ok(cp!.kind === 'COPY');
  assert.deepEqual([cp.from, cp.chown, cp.chmod, cp.sources, cp.dest], ['b', '1:2', '755', ['/a'], '/b']);
  assert.ok(add!.kind === 'ADD');
  assert.equal(add.chown, 'x');
  const err = parseErr('FROM a\n\nCOPY --bogus=1 a b\n');
  assert.equal(err.message, 'dockerfile parse error on line 3: unknown flag: bogus');
  assert.equal(parseErr('FROM a\nRUN --from=x true\n').line, 2);
});

test('ARG before FROM are meta args and expand FROM', () => {
  const df = parseDockerfile('ARG TAG=latest\nARG BASE\nFROM busybox:${TAG} AS one\nARG TAG\nFROM ${BASE:-alpine}\n');
  assert.deepEqual(df.metaArgs, [{ name: 'TAG', value: 'latest' }, { name: 'BASE' }]);
  assert.equal(df.stages.length, 2);
  assert.equal(expandBase(df.stages[0]!, { TAG: 'latest' }), 'busybox:latest');
  assert.equal(expandBase(df.stages[1]!, {}), 'alpine');
  assert.equal(expandBase(df.stages[1]!, { BASE: 'debian' }), 'debian');
});

test('only ARG may come before FROM', () => {
  const err = parseErr('ENV A=b\nFROM x\n');
  assert.equal(err.line, 1);
  assert.match(err.message, /no build stage in current context/);
});

test('an empty Dockerfile, bad FROM and duplicate stage names are errors', () => {
  assert.match(parseErr('# nothing\n').message, /file with no instructions/);
  assert.match(parseErr('FROM a b\n').message, /line 1: FROM requires either one or three arguments/);
  assert.match(parseErr('FROM a AS x\nFROM b AS X\n').message, /line 2: duplicate stage name "x"/);
});

test('ENV and LABEL: key=value lists with quotes, and the legacy form', () => {
  const df = parseDockerfile(
    'FROM a\nENV A=1 B="two words" C=three\\ words\nENV LEGACY some value here\nLABEL "com.x"="y z" k=v\n',
  );
  const [e1, e2, l] = df.stages[0]!.instructions;
  assert.deepEqual(e1!.kind === 'ENV' && e1!.pairs, [
    { key: 'A', value: '1' },
    { key: 'B', value: '"two words"' },
    { key: 'C', value: 'three\\ words' },
  ]);
  assert.deepEqual(e2!.kind === 'ENV' && e2!.pairs, [{ key: 'LEGACY', value: 'some value here' }]);
  assert.deepEqual(l!.kind === 'LABEL' && l!.pairs, [
    { key: '"com.x"', value: '"y z"' },
    { key: 'k', value: 'v' },
  ]);
  assert.match(parseErr('FROM a\nENV A=1 B\n').message, /line 2: Syntax error - can't find = in "B"/);
});

test('HEALTHCHECK, SHELL, VOLUME, EXPOSE, ONBUILD, STOPSIGNAL, USER, WORKDIR', () => {
  const df = parseDockerfile(
    [
      'FROM a',
      'HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/ || exit 1',
      'HEALTHCHECK CMD ["true"]',
      'HEALTHCHECK NONE',
      'SHELL ["/bin/bash", "-c"]',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /a /b',
      'EXPOSE 80/tcp 443',
      'ONBUILD RUN echo hi',
      'STOPSIGNAL SIGTERM',
      'USER 1000:1000',
      'WORKDIR /some path',
      'MAINTAINER Jane Doe <jane@example.com>',
    ].join('\n'),
  );
  const ins = df.stages[0]!.instructions;
  assert.deepEqual(ins[0]!.kind === 'HEALTHCHECK' && ins[0]!.health, {
    test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
    interval: 5e9,
    retries: 3,
    timeout: undefined,
    startPeriod: undefined,
    startInterval: undefined,
  });
  assert.deepEqual(ins[1]!.kind === 'HEALTHCHECK' && ins[1]!.health.test, ['CMD', 'true']);
  assert.deepEqual(ins[2]!.kind === 'HEALTHCHECK' && ins[2]!.health.test, ['NONE']);
  assert.deepEqual(ins[3]!.kind === 'SHELL' && ins[3]!.shell, ['/bin/bash', '-c']);
  assert.deepEqual(ins[4]!.kind === 'VOLUME' && ins[4]!.volumes, ['/data', '/logs']);
  assert.deepEqual(ins[5]!.kind === 'VOLUME' && ins[5]!.volumes, ['/a', '/b']);
  assert.deepEqual(ins[6]!.kind === 'EXPOSE' && ins[6]!.ports, ['80/tcp', '443']);
  assert.deepEqual(ins[7]!.kind === 'ONBUILD' && ins[7]!.expression, 'RUN echo hi');
  assert.deepEqual(ins[8]!.kind === 'STOPSIGNAL' && ins[8]!.value, 'SIGTERM');
  assert.deepEqual(ins[9]!.kind === 'USER' && ins[9]!.value, '1000:1000');
  assert.deepEqual(ins[10]!.kind === 'WORKDIR' && ins[10]!.value, '/some path');
  assert.deepEqual(ins[11]!.kind === 'MAINTAINER' && ins[11]!.value, 'Jane Doe <jane@example.com>');
  assert.match(parseErr('FROM a\nSHELL /bin/sh\n').message, /line 2: SHELL requires the arguments to be in JSON form/);
  assert.match(parseErr('FROM a\nHEALTHCHECK --interval=abc CMD x\n').message, /invalid duration/);
  assert.match(parseErr('FROM a\nONBUILD ONBUILD RUN x\n').message, /Chaining ONBUILD/);
  assert.match(parseErr('FROM a\nCOPY onlyone\n').message, /line 2: COPY requires at least two arguments/);
});

test('ONBUILD triggers parse on their own', () => {
  const ins = parseInstruction('RUN echo from trigger');
  assert.equal(ins.kind, 'RUN');
  assert.throws(() => parseInstruction('FROM x'), /isn't allowed as an ONBUILD trigger/);
});

test('variable expansion: $VAR, ${VAR}, defaults and alternatives', () => {
  const env = { A: 'a', E: '', SP: 'x y' };
  assert.equal(expandWord('$A-${A}_$NOPE.', env), 'a-a_.');
  assert.equal(expandWord('${NOPE:-def}|${E:-def}|${E-def}|${NOPE-def}', env), 'def|def||def');
  assert.equal(expandWord('${A:+alt}|${E:+alt}|${E+alt}|${NOPE+alt}', env), 'alt||alt|');
  assert.equal(expandWord('${NOPE:-${A}x}', env), 'ax');
  assert.throws(() => expandWord('${NOPE:?must be set}', env), /NOPE: must be set/);
  assert.throws(() => expandWord('${A', env), /missing '}'/);
});

test('quotes and escapes: single quotes are literal, double quotes expand', () => {
  const env = { A: 'a' };
  assert.equal(expandWord(`'$A' "$A" \\$A "\\$A" "q\\"q"`, env), '$A a $A $A q"q');
  assert.equal(expandWord('a\\ b', env), 'a b');
  assert.equal(expandWord('$', env), '$');
  assert.equal(expandWord('`$A', env, '`'), '$A');
});

test('words split on unquoted whitespace, expansions included', () => {
  const env = { SP: 'x y' };
  assert.deepEqual(expandWords('a "b c" $SP "$SP"', env), ['a', 'b c', 'x', 'y', 'x y']);
  assert.deepEqual(splitRaw('A="a b" C=d\\ e  f'), ['A="a b"', 'C=d\\ e', 'f']);
});

test('BuildKit-only flags: cache, bind and tmpfs mounts are parsed, the rest refused with the line', () => {
  const df = parseDockerfile(
    'FROM a\nRUN --mount=type=cache,target=/var/cache/apt --mount=type=tmpfs,target=/tmp apt-get update\nCOPY --link a b\n',
  );
  assert.equal(df.stages[0]!.instructions.length, 2);
  const run = df.stages[0]!.instructions[0]!;
  assert.deepEqual(run.kind === 'RUN' && run.mounts.map((m) => m.type), ['cache', 'tmpfs']);
  assert.equal(
    parseErr('FROM a\nRUN --mount=type=bind,from=b,target=/src true\n').message,
    'dockerfile parse error on line 2: RUN --mount=type=bind,from=... is not supported by this builder',
  );
  assert.match(
    parseErr('FROM a\nRUN --mount=type=ssh true\n').message,
    /line 2: RUN --mount=type=ssh is not supported/,
  );
  assert.match(
    parseErr('FROM a\n\nCOPY --exclude=*.md . /\n').message,
    /line 3: COPY --exclude is not supported by this builder/,
  );
  assert.match(parseErr('FROM a\nRUN --security=insecure true\n').message, /RUN --security=insecure is not supported/);
  assert.match(
    parseErr('FROM a\nADD --checksum=md5:abc http://x/y /\n').message,
    /line 2: invalid checksum digest format/,
  );
});
