import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// boot.js in a tree of its own: a main.ts and a bundled main.js that say which of them ran
function tree() {
  const root = mkdtempSync(join(tmpdir(), 'berth-boot-'));
  mkdirSync(join(root, 'src/daemon'), { recursive: true });
  mkdirSync(join(root, 'build/berthd'), { recursive: true });
  copyFileSync(join(import.meta.dirname, 'boot.js'), join(root, 'src/daemon/boot.js'));
  copyFileSync(join(import.meta.dirname, '../bundles.js'), join(root, 'src/bundles.js'));
  const main = (who: string) => `console.log('${who}', process.argv.slice(2).join(' '));\n`;
  writeFileSync(join(root, 'src/daemon/main.ts'), main('sources'));
  writeFileSync(join(root, 'build/berthd/main.js'), main('bundle'));
  const builtAt = Date.now();
  writeFileSync(join(root, 'build/berthd/inputs.json'), JSON.stringify({ builtAt, inputs: ['src/daemon/main.ts'] }));
  const past = new Date(builtAt - 60_000);
  utimesSync(join(root, 'src/daemon/main.ts'), past, past);
  const run = (env: Record<string, string> = {}) =>
    execFileSync(process.execPath, [join(root, 'src/daemon/boot.js'), '--debug'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    }).trim();
  return { root, run };
}

test('berthd runs the bundle while no file it was built from has changed since', (t) => {
  const { root, run } = tree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(run(), 'bundle --debug');
  assert.equal(run({ BERTH_DAEMON_BUNDLE: '0' }), 'sources --debug');
});

test('berthd runs the sources once one of the files the bundle was built from is newer than it', (t) => {
  const { root, run } = tree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, 'src/daemon/main.ts'), later, later);
  assert.equal(run(), 'sources --debug');
});

test('berthd runs the sources when there is no bundle, or it lists a file that is gone', (t) => {
  const { root, run } = tree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(
    join(root, 'build/berthd/inputs.json'),
    JSON.stringify({ builtAt: Date.now(), inputs: ['src/gone.ts'] }),
  );
  assert.equal(run(), 'sources --debug');
  rmSync(join(root, 'build/berthd'), { recursive: true });
  assert.equal(run(), 'sources --debug');
});
