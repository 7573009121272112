import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextName, dockerContext } from './context.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A docker config directory with the contexts `docker context create` would write. */
function configDir(contexts: Record<string, { host: string; skip?: boolean; tls?: string[] }>, current?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
  made.push(dir);
  for (const [name, c] of Object.entries(contexts)) {
    const key = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(dir, 'contexts', 'meta', key), { recursive: true });
    writeFileSync(
      join(dir, 'contexts', 'meta', key, 'meta.json'),
      JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: c.host, SkipTLSVerify: !!c.skip } } }),
    );
    if (c.tls) {
      mkdirSync(join(dir, 'contexts', 'tls', key, 'docker'), { recursive: true });
      for (const f of c.tls) writeFileSync(join(dir, 'contexts', 'tls', key, 'docker', f), 'pem');
    }
  }
  if (current !== undefined) writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: current }));
  return dir;
}

test("the context is chosen in docker's order: flag, -H or DOCKER_HOST, DOCKER_CONTEXT, config.json", () => {
  const dir = configDir({}, 'fromconfig');
  assert.equal(contextName({}, {}, dir), 'fromconfig');
  assert.equal(contextName({}, { DOCKER_CONTEXT: 'fromenv' }, dir), 'fromenv');
  assert.equal(contextName({}, { DOCKER_CONTEXT: 'fromenv', DOCKER_HOST: 'unix:///x' }, dir), 'default');
  assert.equal(contextName({ hostFlag: true }, { DOCKER_CONTEXT: 'fromenv' }, dir), 'default');
  assert.equal(contextName({ flag: 'fromflag' }, { DOCKER_HOST: 'unix:///x' }, dir), 'fromflag');
  assert.equal(contextName({}, {}, configDir({})), 'default');
  assert.throws(() => contextName({ flag: 'x', hostFlag: true }, {}, dir), /cannot specify both --host and --context/);
});

test("a context's endpoint: its host, and TLS only when it has certificates or skips verification", () => {
  const dir = configDir({
    plain: { host: 'unix:///run/other.sock' },
    mtls: { host: 'tcp://127.0.0.1:2376', tls: ['ca.pem', 'cert.pem', 'key.pem'] },
    insecure: { host: 'tcp://127.0.0.1:2376', skip: true },
  });
  assert.deepEqual(dockerContext({ flag: 'plain' }, {}, dir), { name: 'plain', host: 'unix:///run/other.sock' });
  const tlsDir = join(dir, 'contexts', 'tls', createHash('sha256').update('mtls').digest('hex'), 'docker');
  assert.deepEqual(dockerContext({ flag: 'mtls' }, {}, dir)?.tls, {
    ca: join(tlsDir, 'ca.pem'),
    cert: join(tlsDir, 'cert.pem'),
    key: join(tlsDir, 'key.pem'),
    verify: true,
  });
  assert.deepEqual(dockerContext({ flag: 'insecure' }, {}, dir)?.tls, {
    ca: undefined,
    cert: undefined,
    key: undefined,
    verify: false,
  });
  assert.equal(dockerContext({ flag: 'default' }, {}, dir), undefined);
  assert.throws(
    () => dockerContext({ flag: 'nosuch' }, {}, dir),
    /context "nosuch": context not found: open .*meta\.json/,
  );
});
