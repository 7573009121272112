import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecret } from './build.ts';

test('--secret as buildx reads it: src= or source= a file, env= a variable, id alone the variable of that name else the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-secret-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tok');
  writeFileSync(file, 'from-file');
  const env = { TOKEN: 'from-env', [file]: undefined };
  const text = (v: string, e: NodeJS.ProcessEnv = env) => {
    const s = readSecret(v, e);
    return `${s.id}=${s.content.toString()}`;
  };
  assert.equal(text(`id=a,src=${file}`), 'a=from-file');
  assert.equal(text(`id=a,source=${file},type=file`), 'a=from-file');
  assert.equal(text('id=a,env=TOKEN'), 'a=from-env');
  assert.equal(text('id=TOKEN'), 'TOKEN=from-env');
  assert.equal(text(`id=${file}`), `${file}=from-file`);
  assert.throws(() => readSecret('src=/x', env), /secret ID missing/);
  assert.throws(() => readSecret('id=a,colour=red', env), /unexpected key 'colour'/);
  assert.throws(() => readSecret('id=a,env=NOPE', env), /environment variable NOPE is not set/);
  assert.throws(() => readSecret('id=a,src=/nonexistent', env), /failed to read secret a from \/nonexistent/);
});
