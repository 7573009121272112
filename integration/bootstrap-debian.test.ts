/**
 * `berth image bootstrap debian:bookworm` for real: debootstrap --variant=minbase against the
 * Debian mirror (the one outside host these machines reach), then a container from the image.
 * Takes about a minute.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, cleanup, berth, dockerOk, type Daemon } from '../e2e/harness.ts';

let d: Daemon | undefined;
after(async () => {
  if (d) await cleanup(d);
});

test('debian:bookworm is built offline-from-registries with debootstrap and runs', { timeout: 600_000 }, async () => {
  d = await startDaemon();
  const r = await berth(d, ['image', 'bootstrap', 'debian:bookworm'], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /debootstrap --variant=minbase bookworm/);
  assert.match(r.stdout, /^sha256:[a-f0-9]{64}$/m);
  const out = await dockerOk(d, ['run', '--rm', 'debian:bookworm', 'sh', '-c', 'cat /etc/debian_version; ls /var/cache/apt/archives/*.deb 2>/dev/null | wc -l']);
  const [version, debs] = out.trim().split('\n');
  assert.match(version!, /^12\./);
  assert.equal(debs, '0', 'the downloaded packages were cleaned out of the image');
  assert.deepEqual(JSON.parse(await dockerOk(d, ['image', 'inspect', '-f', '{{json .Config.Cmd}}', 'debian:bookworm'])), ['bash']);
  const bad = await berth(d, ['image', 'bootstrap', 'debian:nosuchsuite']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown Debian suite "nosuchsuite"/);
});
