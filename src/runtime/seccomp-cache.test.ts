import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeccompCache, specText, type SpecWithSeccomp } from './seccomp-cache.ts';

const ANNOTATION = 'run.oci.seccomp_bpf_data';
// Two linux.seccomp sections as oci/seccompFor makes them: the same rules, another default errno
// (containers-common's ENOSYS against Docker's EPERM) — a changed profile must not reuse a filter.
const section = (errno: number) => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: errno,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }],
});
const spec = (errno: number): SpecWithSeccomp => ({ linux: { seccomp: section(errno) } });

test('a compiled filter is reused for the same seccomp section only, and survives a new cache over the same directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runtime = join(dir, 'crun');
  writeFileSync(runtime, 'a runtime binary');
  const bpf = join(dir, 'seccomp.bpf');
  writeFileSync(bpf, Buffer.alloc(16, 7)); // two instructions
  const cache = new SeccompCache(join(dir, 'cache'), [runtime]);

  const first = spec(1);
  const key = await cache.annotate(first);
  assert.ok(key, 'not known yet: a key to learn under');
  assert.equal(first.annotations, undefined);
  await cache.learn(key, bpf);
  assert.deepEqual(readdirSync(join(dir, 'cache')), [`${key}.bpf`]);

  const again = spec(1);
  assert.equal(await cache.annotate(again), undefined);
  assert.equal(again.annotations?.[ANNOTATION], Buffer.alloc(16, 7).toString('base64'));

  const changed = spec(38);
  const other = await cache.annotate(changed);
  assert.ok(other && other !== key, 'another profile, another key');
  assert.equal(changed.annotations, undefined, "the other profile's filter is not reused");

  const restarted = new SeccompCache(join(dir, 'cache'), [runtime]);
  const later = spec(1);
  assert.equal(await restarted.annotate(later), undefined);
  assert.ok(later.annotations?.[ANNOTATION], 'read back from the directory');

  // no seccomp (--privileged, unconfined): nothing to do
  assert.equal(await cache.annotate({ linux: {} }), undefined);
  // a file that is not a whole number of instructions is not learnt
  writeFileSync(bpf, Buffer.alloc(13));
  await cache.learn(other, bpf);
  assert.ok(await cache.annotate(spec(38)));
});

test('config.json for crun: with the compiled filter it goes without the rules, the rest of the section kept; the spec given is left whole', () => {
  const known = { ...spec(1), process: { args: ['sh'] }, annotations: { [ANNOTATION]: 'AAAA', other: 'x' } };
  const written = JSON.parse(specText(known));
  assert.deepEqual(written.linux.seccomp, {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64'],
  });
  assert.deepEqual(written.annotations, known.annotations);
  assert.deepEqual(written.process, known.process);
  assert.equal(known.linux?.seccomp && 'syscalls' in (known.linux.seccomp as object), true, 'not changed in place');

  // Without the filter crun compiles the rules: all of them are written.
  assert.deepEqual(JSON.parse(specText(spec(1))), spec(1));
  assert.deepEqual(JSON.parse(specText({ linux: {}, annotations: { [ANNOTATION]: 'AAAA' } })), {
    linux: {},
    annotations: { [ANNOTATION]: 'AAAA' },
  });
});
