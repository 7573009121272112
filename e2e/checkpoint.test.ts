/**
 * Checkpoint and restore through the docker CLI (berthd --experimental, as dockerd needs):
 * a gVisor container counting once a second is checkpointed, stops, and started from the
 * checkpoint goes on counting from where it was — also after `berth container checkpoint
 * --export` and `berth container restore --import` into a second daemon, with the file it
 * wrote; a runc counter goes on from its checkpoint too, through CRIU 4.1 (setup fetches it
 * from Debian trixie), and where CRIU cannot (crun built without it, no CRIU 4.1) the refusal says why, as docker
 * info does. Needs root and runsc.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startDaemonWithBusybox,
  cleanup,
  berth,
  docker,
  dockerOk,
  eventually,
  freePort,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

const usable = process.getuid?.() === 0 && existsSync('/usr/bin/runsc');
const skip = usable ? false : 'needs root and runsc';
const COUNTER = 'i=0; while true; do echo $i; i=$((i+1)); sleep 1; done';

let d: Daemon;
before(async () => {
  if (usable)
    d = await startDaemonWithBusybox([
      '--experimental',
      '--bridge',
      `bcp${process.pid % 100000}`,
      '--bip',
      `${await reserveSubnet()}.1/24`,
    ]);
});
after(() => cleanup(d));

const numbers = async (id: string, on = d) =>
  (await dockerOk(on, ['logs', id])).trim().split('\n').filter(Boolean).map(Number);

test(
  'a gVisor counter checkpointed and started from its checkpoint goes on from its value, its port served again',
  { skip },
  async () => {
    const port = await freePort();
    // The counter also serves its log over HTTP; nothing connects before the checkpoint (gVisor
    // refuses to save an open TCP connection).
    const id = (
      await dockerOk(d, [
        'run',
        '-d',
        '-p',
        `127.0.0.1:${port}:80`,
        '--runtime',
        'runsc',
        'busybox',
        'sh',
        '-c',
        `mkdir /w; httpd -p 80 -h /w; ${COUNTER.replace('echo $i;', 'echo $i; echo $i >> /w/index.html;')}`,
      ])
    ).trim();
    await eventually(async () => (await numbers(id)).length >= 3, 30_000, 200);
    await dockerOk(d, ['checkpoint', 'create', id, 'cp1']);
    assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', id])).trim(), 'false');
    assert.match(await dockerOk(d, ['checkpoint', 'ls', id]), /cp1/);
    const before = await numbers(id);
    await dockerOk(d, ['start', '--checkpoint', 'cp1', id]);
    await eventually(async () => (await numbers(id)).length >= before.length + 2, 30_000, 200);
    const after = await numbers(id);
    const served = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    assert.match(served, new RegExp(`^0\n1\n(.*\n)*${before.at(-1)! + 1}\n`), served);
    // The log goes on from the last value: no second 0, no gap.
    assert.deepEqual(
      after,
      after.map((_, i) => i),
      after.join(' '),
    );
    await dockerOk(d, ['checkpoint', 'rm', id, 'cp1']);
    assert.doesNotMatch(await dockerOk(d, ['checkpoint', 'ls', id]), /cp1/);
    await dockerOk(d, ['rm', '-f', id]);
  },
);

test(
  'a runc counter checkpointed through CRIU goes on from its value; where CRIU cannot (crun without it), the refusal says why, as docker info does',
  { skip },
  async () => {
    const warnings = JSON.parse(await dockerOk(d, ['info', '--format', '{{json .Warnings}}'])) as string[];
    const cannot = (runtime: string) => warnings.some((w) => w.includes(`runtime ${runtime} cannot checkpoint`));
    for (const runtime of ['runc', 'crun']) {
      const id = (await dockerOk(d, ['run', '-d', '--runtime', runtime, 'busybox', 'sh', '-c', COUNTER])).trim();
      try {
        await eventually(async () => (await numbers(id)).length >= 2, 30_000, 200);
        const r = await docker(d, ['checkpoint', 'create', id, 'cp1']);
        if (cannot(runtime)) {
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /cannot checkpoint|CRIU/);
          continue;
        }
        // setup fetches CRIU 4.1 from Debian trixie; bookworm's 3.17 fails on these kernels.
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', id])).trim(), 'false');
        const before = await numbers(id);
        await dockerOk(d, ['start', '--checkpoint', 'cp1', id]);
        await eventually(async () => (await numbers(id)).length >= before.length + 2, 30_000, 200);
        const after = await numbers(id);
        assert.deepEqual(
          after,
          after.map((_, i) => i),
          after.join(' '),
        );
      } finally {
        await docker(d, ['rm', '-f', id]);
      }
    }
    // Here (Debian 12's crun, without CRIU; CRIU 4.1 from setup) runc can and crun cannot.
    if (existsSync(join(import.meta.dirname, '..', 'build', 'trixie', 'criu'))) {
      assert.ok(!cannot('runc'), warnings.join('\n'));
    }
  },
);

test(
  'an exported checkpoint imported into a second daemon goes on counting there, with the files it wrote',
  { skip },
  async () => {
    const d2 = await startDaemonWithBusybox(['--experimental']);
    const tmp = mkdtempSync(join(tmpdir(), 'berth-cp-export-'));
    // Removed in `finally` too: a runsc sandbox outlives a failed assertion, and the harness's
    // cleanup knows runc's and crun's state, not runsc's.
    const made: [Daemon, string][] = [];
    try {
      const id = (
        await dockerOk(d, [
          'run',
          '-d',
          '--runtime',
          'runsc',
          'busybox',
          'sh',
          '-c',
          `echo moved > /marker; ${COUNTER}`,
        ])
      ).trim();
      made.push([d, id]);
      await eventually(async () => (await numbers(id)).length >= 3, 30_000, 200);
      const file = join(tmp, 'counter.tar');
      const out = await berth(d, ['container', 'checkpoint', '--export', file, id, 'move']);
      assert.equal(out.code, 0, out.stderr);
      const before = await numbers(id);
      const r = await berth(d2, ['container', 'restore', '--import', file]);
      assert.equal(r.code, 0, r.stderr);
      const id2 = r.stdout.trim();
      made.push([d2, id2]);
      assert.equal((await dockerOk(d2, ['inspect', '-f', '{{.HostConfig.Runtime}}', id2])).trim(), 'runsc');
      const there = await eventually(
        async () => {
          const n = await numbers(id2, d2);
          return n.length >= 2 ? n : undefined;
        },
        30_000,
        200,
      );
      assert.equal(there![0], before.at(-1)! + 1, `${before.join(' ')} | ${there!.join(' ')}`);
      assert.equal((await dockerOk(d2, ['exec', id2, 'cat', '/marker'])).trim(), 'moved');
      await dockerOk(d, ['rm', '-f', id]);
      await dockerOk(d2, ['rm', '-f', id2]);
    } finally {
      for (const [daemon, cid] of made) await docker(daemon, ['rm', '-f', cid]).catch(() => {});
      rmSync(tmp, { recursive: true, force: true });
      await cleanup(d2);
    }
  },
);
