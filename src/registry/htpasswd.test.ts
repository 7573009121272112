import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Htpasswd, parseBasic, parseHtpasswd } from './htpasswd.ts';
import { startTestRegistry } from './testing.ts';

// Cost 4 keeps the tests fast; the format is the one `htpasswd -B` writes ($2y$).
const hash = (pw: string) => bcrypt.hashSync(pw, 4).replace(/^\$2[ab]\$/, '$2y$');
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-htpasswd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('htpasswd: parses bcrypt lines, skips comments, names the bad line', () => {
  const h = hash('pw');
  const users = parseHtpasswd(`# users\n\nalice:${h}\r\nbob:${h.replace('$2y$', '$2a$')}\n`);
  assert.deepEqual([...users.keys()], ['alice', 'bob']);
  assert.throws(
    () => parseHtpasswd(`alice:${h}\nbob:{SHA}abc=\n`, 'f'),
    /htpasswd file "f" line 2: user "bob" has no bcrypt hash/,
  );
  assert.throws(() => parseHtpasswd('no-colon\n', 'f'), /line 1: want user:hash/);
  assert.throws(() => parseHtpasswd(`a:${h}\na:${h}\n`, 'f'), /line 2: user "a" appears twice/);
  // The error names the user, never the hash.
  assert.doesNotMatch(
    String(
      (() => {
        try {
          parseHtpasswd('bob:secret');
        } catch (e) {
          return (e as Error).message;
        }
      })(),
    ),
    /secret/,
  );
});

test('htpasswd: Basic header parsing', () => {
  assert.deepEqual(parseBasic(basic('u', 'p:w')), { user: 'u', password: 'p:w' });
  assert.equal(parseBasic(undefined), undefined);
  assert.equal(parseBasic('Bearer abc'), undefined);
  assert.equal(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
});

test('htpasswd: verifies, caches, and re-reads the file when it changes', async (t) => {
  const file = join(await tempDir(t), 'htpasswd');
  await writeFile(file, `alice:${hash('right')}\n`);
  const errors: string[] = [];
  const auth = await Htpasswd.load(file, { onReloadError: (e) => errors.push(e.message) });
  assert.equal(await auth.verify(basic('alice', 'right')), true);
  assert.equal(await auth.verify(basic('alice', 'right')), true); // from the cache
  assert.equal(await auth.verify(basic('alice', 'wrong')), false);
  assert.equal(await auth.verify(basic('mallory', 'right')), false);
  assert.equal(await auth.verify(undefined), false);

  // A new password takes effect at once, cached success or not.
  await writeFile(file, `alice:${hash('new')}\nbob:${hash('b')}\n`);
  assert.equal(await auth.verify(basic('alice', 'right')), false);
  assert.equal(await auth.verify(basic('alice', 'new')), true);
  assert.equal(await auth.verify(basic('bob', 'b')), true);

  // A broken file is reported once and the users read before stay in force.
  await writeFile(file, `alice:${hash('new')}\nbob:plaintext\n`);
  assert.equal(await auth.verify(basic('alice', 'new')), true);
  assert.equal(await auth.verify(basic('bob', 'b')), true);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /line 2: user "bob"/);
});

test('htpasswd: load refuses a malformed file', async (t) => {
  const file = join(await tempDir(t), 'htpasswd');
  await writeFile(file, 'alice:$apr1$abc$def\n');
  await assert.rejects(Htpasswd.load(file), /line 1: user "alice" has no bcrypt hash/);
});

test('registry with htpasswd: 401 with a Basic challenge without the right credentials', async (t) => {
  const file = join(await tempDir(t), 'htpasswd');
  await writeFile(file, `alice:${hash('s3cret')}\n`);
  const reg = await startTestRegistry({ server: { htpasswd: await Htpasswd.load(file), realm: 'Berth Test' } });
  t.after(() => reg.close());
  for (const authorization of [undefined, basic('alice', 'nope'), basic('bob', 's3cret'), 'Bearer x']) {
    const r = await reg.call('GET', '/v2/', { headers: authorization ? { Authorization: authorization } : {} });
    assert.equal(r.status, 401, String(authorization));
    assert.equal(r.header('www-authenticate'), 'Basic realm="Berth Test"');
    assert.equal(r.header('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(
      r.json().errors.map((e: { code: string; message: string }) => [e.code, e.message]),
      [['UNAUTHORIZED', 'authentication required']],
    );
  }
  // Every endpoint is behind it, not only /v2/.
  const body = 'layer';
  const denied = await reg.call('POST', '/v2/app/blobs/uploads/', { body });
  assert.equal(denied.status, 401);
  assert.equal((await reg.call('HEAD', '/v2/app/manifests/latest')).status, 401);

  const ok = { Authorization: basic('alice', 's3cret') };
  assert.equal((await reg.call('GET', '/v2/', { headers: ok })).status, 200);
  assert.equal((await reg.call('GET', '/v2/_catalog', { headers: ok })).status, 200);
});
