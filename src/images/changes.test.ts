import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, parseInstructions } from './changes.ts';

const bad = (changes: string[], re: RegExp) =>
  assert.throws(
    () => applyChanges({}, changes),
    (e: Error & { category?: string }) => e.category === 'InvalidArgument' && re.test(e.message),
  );

test('CMD and ENTRYPOINT take the JSON form, or run the shell form through /bin/sh -c', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["cat", "/hello.txt"]']).Cmd, ['cat', '/hello.txt']);
  assert.deepEqual(applyChanges({}, ['CMD echo $HOME && ls']).Cmd, ['/bin/sh', '-c', 'echo $HOME && ls']);
  // Malformed JSON falls back to the shell form, as in Docker.
  assert.deepEqual(applyChanges({}, ["CMD ['single']"]).Cmd, ['/bin/sh', '-c', "['single']"]);
  assert.deepEqual(applyChanges({}, ['entrypoint ["/init"]']).Entrypoint, ['/init']);
  assert.equal(applyChanges({ Entrypoint: ['/x'] }, ['ENTRYPOINT']).Entrypoint, null);
});

test('an ENTRYPOINT change drops the Cmd it was given unless a CMD change came first, as dockerd commits', () => {
  const base = { Cmd: ['sh', '-c', 'echo x > /x'] };
  assert.equal(applyChanges(base, ['ENTRYPOINT ["echo"]']).Cmd, null);
  assert.deepEqual(applyChanges(base, ['CMD ["hi"]', 'ENTRYPOINT ["echo"]']).Cmd, ['hi']);
  assert.deepEqual(applyChanges(base, ['ENTRYPOINT ["echo"]', 'CMD ["hi"]']).Cmd, ['hi']);
  assert.deepEqual(applyChanges(base, ['ENV A=1']).Cmd, base.Cmd);
});

test('ENV: pairs with quotes and escapes, the legacy form, expansion from earlier values', () => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, [
    'ENV A=1 B="two words" C=\'$A literal\' D=x\\ y',
    'ENV LEGACY some value here',
    'ENV E=$A-${B} F=${NOPE:-dflt} G=${A:+set} PATH=/usr/bin:$PATH',
  ]);
  assert.deepEqual(applyChanges({ Env: ['abc=hello'] }, ['ENV abc=bye def=$abc']).Env, ['abc=bye', 'def=hello']);
  assert.deepEqual(c.Env, [
    'PATH=/usr/bin:/bin',
    'A=1',
    'B=two words',
    'C=$A literal',
    'D=x y',
    'LEGACY=some value here',
    'E=1-two words',
    'F=dflt',
    'G=set',
  ]);
  bad(['ENV'], /ENV needs at least one argument/);
  bad(['ENV =x'], /can't find =|names cannot be empty/);
  bad(['ENV A="open'], /unmatched double quote/);
});

test('LABEL, EXPOSE (ranges, protocols), USER, WORKDIR (relative to the previous), STOPSIGNAL, VOLUME, ONBUILD', () => {
  const c = applyChanges({}, [
    'LABEL a=b "with space"="v v" version=1.0',
    'EXPOSE 80 53/udp 8000-8002',
    'USER nobody:nogroup',
    'WORKDIR /srv',
    'WORKDIR app/../www',
    'STOPSIGNAL SIGQUIT',
    'VOLUME ["/data", "/logs"]',
    'VOLUME /cache /more',
    'ONBUILD RUN echo hi',
  ]);
  assert.deepEqual(c.Labels, { a: 'b', 'with space': 'v v', version: '1.0' });
  assert.deepEqual(Object.keys(c.ExposedPorts!), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
  assert.equal(c.User, 'nobody:nogroup');
  assert.equal(c.WorkingDir, '/srv/www');
  assert.equal(c.StopSignal, 'SIGQUIT');
  assert.deepEqual(Object.keys(c.Volumes!), ['/data', '/logs', '/cache', '/more']);
  assert.deepEqual(c.OnBuild, ['RUN echo hi']);
  bad(['EXPOSE 80/xyz'], /invalid proto/);
  bad(['EXPOSE 9-1'], /invalid range/);
  bad(['EXPOSE abc'], /invalid containerPort/);
  bad(['STOPSIGNAL not a signal'], /invalid signal/);
  bad(['ONBUILD ONBUILD RUN x'], /isn't allowed/);
  bad(['ONBUILD FROM x'], /isn't allowed/);
});

test('HEALTHCHECK with flags, and NONE', () => {
  const c = applyChanges({}, ['HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD curl -f http://localhost/']);
  assert.deepEqual(c.Healthcheck, {
    Test: ['CMD-SHELL', 'curl -f http://localhost/'],
    Interval: 30e9,
    Timeout: 90e9,
    Retries: 3,
  });
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK CMD ["true"]']).Healthcheck, { Test: ['CMD', 'true'] });
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
  bad(['HEALTHCHECK --bogus=1 CMD true'], /unknown flag/);
});

test("instructions outside the commit set are refused with Docker's message; the input is not modified", () => {
  bad(['RUN rm -rf /'], /^run is not a valid change command$/);
  bad(['FROM scratch'], /^from is not a valid change command$/);
  const input = { Env: ['A=1'], Labels: { x: 'y' } };
  applyChanges(input, ['ENV A=2', 'LABEL x=z']);
  assert.deepEqual(input, { Env: ['A=1'], Labels: { x: 'y' } });
});

test('changes are read as one Dockerfile: continuations, comments, blank lines, several per string', () => {
  const ins = parseInstructions(['ENV A=1 \\\n  B=2', '# a comment', '', 'CMD ["a"]\nUSER x']);
  assert.deepEqual(
    ins.map((i) => i.keyword),
    ['ENV', 'CMD', 'USER'],
  );
  assert.deepEqual(applyChanges({}, ['ENV A=1 \\\n  B=2']).Env, ['A=1', 'B=2']);
});
