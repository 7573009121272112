import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { is } from '../../errdefs/index.ts';
import { tellZygote, zygoteReady } from './zygote.ts';

/** A container directory with an empty root; `fifo` the path of the zygote's FIFO in it. */
function bundle(): { dir: string; fifo: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-zygote-'));
  mkdirSync(join(dir, 'rootfs'));
  return {
    dir,
    fifo: join(dir, 'rootfs', '.berth-zygote-go'),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const mkfifo = (path: string) => assert.equal(spawnSync('mkfifo', ['-m', '600', path]).status, 0);

test("a byte reaches a zygote waiting on its FIFO, which sees no end of file from berthd's close", () => {
  const b = bundle();
  try {
    mkfifo(b.fifo);
    // As berth-zygote holds it: read-write (here non-blocking, to read back without waiting).
    const zygote = openSync(b.fifo, constants.O_RDWR | constants.O_NONBLOCK);
    assert.equal(tellZygote(b.dir, 'c1', 'c'), true);
    assert.equal(tellZygote(b.dir, 'c1', 'g'), true);
    const buf = Buffer.alloc(4);
    assert.equal(readSync(zygote, buf), 2);
    assert.equal(buf.toString('latin1', 0, 2), 'cg');
    assert.throws(() => readSync(zygote, buf), { code: 'EAGAIN' }, 'no end of file: the zygote waits on');
    closeSync(zygote);
  } finally {
    b.done();
  }
});

test("a zygote gone (nobody reading the FIFO) fails the start as crun's FIFO would; no FIFO is no zygote to tell; nothing else is written to", () => {
  const b = bundle();
  try {
    mkfifo(b.fifo);
    assert.throws(
      () => tellZygote(b.dir, 'c1', 'g'),
      (e: Error) =>
        is(e, 'FailedPrecondition') && /start container "c1": container process is already dead/.test(e.message),
    );
    rmSync(b.fifo);
    // No FIFO: a sandbox whose zygote waits at the runtime's exec FIFO (its making did not start it).
    assert.equal(tellZygote(b.dir, 'c1', 'g'), false);
    // An image's own file or link at the FIFO's path is never written, nor followed out of the root.
    writeFileSync(b.fifo, '');
    assert.throws(() => tellZygote(b.dir, 'c1', 'g'), /not a FIFO/);
    rmSync(b.fifo);
    const host = join(b.dir, 'host-file');
    writeFileSync(host, '');
    symlinkSync(host, b.fifo);
    assert.throws(() => tellZygote(b.dir, 'c1', 'g'), /ELOOP/);
    assert.equal(spawnSync('stat', ['-c', '%s', host], { encoding: 'utf8' }).stdout.trim(), '0');
  } finally {
    b.done();
  }
});

test('a sandbox is ready once its zygote holds the FIFO; its process ending first fails the making', async () => {
  const b = bundle();
  try {
    // The zygote makes its FIFO a moment after its start.
    setTimeout(() => mkfifo(b.fifo), 20);
    let zygote: number | undefined;
    setTimeout(() => (zygote = openSync(b.fifo, constants.O_RDWR | constants.O_NONBLOCK)), 60);
    await zygoteReady(b.dir, process.pid, 5_000);
    assert.ok(zygote !== undefined, 'ready only once the FIFO has its reader');
    closeSync(zygote!);
    // A process that has ended (a child reaped) never makes it ready.
    const gone = spawnSync('true').pid;
    await assert.rejects(zygoteReady(b.dir, gone, 5_000), /its zygote ended before it was ready/);
  } finally {
    b.done();
  }
});
