import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Cli } from '../cli.ts';
import { runCompose } from './main.ts';
import { ProgressReporter } from './output.ts';

/** A Cli whose streams are strings; stdin is not a terminal. No daemon is contacted. */
function fakeCli(tty = false) {
  const mk = () => {
    const w = {
      text: '',
      isTTY: tty,
      columns: 80,
      write: (s: string) => {
        w.text += s;
        return true;
      },
    };
    return w;
  };
  const stdout = mk();
  const stderr = mk();
  const cli = new Cli('unix:///nonexistent.sock', {
    stdin: { isTTY: false } as NodeJS.ReadStream,
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
  });
  return { cli, stdout, stderr };
}

test('config prints the resolved model; --services, --volumes and -q', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-compose-cli-'));
  try {
    writeFileSync(
      join(dir, 'compose.yaml'),
      'name: Demo\nservices:\n  web:\n    image: "busybox:${TAG:-1}"\n    ports: ["127.0.0.1:8080:80"]\n    volumes: [data:/d, ./x:/x]\nvolumes: {data: {}}\n',
    );
    let f = fakeCli();
    assert.equal(await runCompose(f.cli, ['-f', join(dir, 'compose.yaml'), 'config']), 0);
    assert.deepEqual(parse(f.stdout.text), {
      name: 'demo',
      services: {
        web: {
          image: 'busybox:1',
          ports: [{ target: 80, published: '8080', host_ip: '127.0.0.1', protocol: 'tcp', mode: 'ingress' }],
          volumes: [
            { type: 'volume', source: 'data', target: '/d' },
            { type: 'bind', source: join(dir, 'x'), target: '/x', bind: { create_host_path: true } },
          ],
          networks: { default: null },
        },
      },
      networks: { default: { name: 'demo_default' } },
      volumes: { data: { name: 'demo_data' } },
    });
    f = fakeCli();
    assert.equal(await runCompose(f.cli, ['--project-directory', dir, 'config', '--services']), 0);
    assert.equal(f.stdout.text, 'web\n');
    f = fakeCli();
    assert.equal(await runCompose(f.cli, ['--project-directory', dir, 'config', '--volumes']), 0);
    assert.equal(f.stdout.text, 'data\n');
    f = fakeCli();
    assert.equal(await runCompose(f.cli, ['--project-directory', dir, 'config', '-q']), 0);
    assert.equal(f.stdout.text, '');
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web: {image: x, bogus: 1}\n');
    f = fakeCli();
    await assert.rejects(
      runCompose(f.cli, ['--project-directory', dir, 'config', '-q']),
      /line 2: services\.web: additional property "bogus" is not allowed/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('version, help and unknown commands', async () => {
  let f = fakeCli();
  assert.equal(await runCompose(f.cli, ['version']), 0);
  assert.match(f.stdout.text, /^Berth Compose version v2\.\d+\.\d+\n$/);
  f = fakeCli();
  assert.equal(await runCompose(f.cli, ['--help']), 0);
  assert.match(f.stdout.text, /Usage:  berth compose \[OPTIONS\] COMMAND/);
  assert.match(f.stdout.text, /^ {2}up {10}Create and start containers$/m);
  f = fakeCli();
  assert.equal(await runCompose(f.cli, ['frobnicate']), 1);
  assert.equal(f.stderr.text, 'unknown docker command: "compose frobnicate"\n');
});

test('progress: plain lines off a terminal, a redrawn block on one', () => {
  let f = fakeCli(false);
  let r = new ProgressReporter(f.cli, 'auto');
  r.event('Network', 'demo_default', 'Creating', false);
  r.event('Network', 'demo_default', 'Created', true);
  r.warn('careful');
  assert.equal(f.stderr.text, ' Network demo_default  Creating\n Network demo_default  Created\nWARN[0000] careful\n');
  f = fakeCli(true);
  r = new ProgressReporter(f.cli, 'auto');
  r.event('Container', 'demo-web-1', 'Starting', false);
  r.event('Container', 'demo-web-1', 'Started', true);
  const plain = f.stderr.text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  assert.match(
    plain,
    /\[\+\] Running 0\/1\n ⠿ Container demo-web-1  Starting +\d\.\ds\n\[\+\] Running 1\/1\n ✔ Container demo-web-1  Started +\d\.\ds\n$/,
  );
  f = fakeCli(true);
  new ProgressReporter(f.cli, 'quiet').event('Container', 'x', 'Started', true);
  assert.equal(f.stderr.text, '');
});
