import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runcWording, execFailureCode } from './exec-errors.ts';

test('crun messages are put in runc words, with Docker exit codes', () => {
  const nf = runcWording(
    'create container "x": executable file `nosuchcommand` not found in $PATH: No such file or directory',
    'nosuchcommand',
  );
  assert.equal(nf, 'exec: "nosuchcommand": executable file not found in $PATH');
  assert.equal(execFailureCode(nf), 127);
  const abs = runcWording(
    'executable file `/nonexistent` not found in $PATH: No such file or directory',
    '/nonexistent',
  );
  assert.equal(abs, 'exec: "/nonexistent": stat /nonexistent: no such file or directory');
  assert.equal(execFailureCode(abs), 127);
  const perm = runcWording('create container "x": open executable: Permission denied', '/etc/passwd');
  assert.equal(perm, 'exec: "/etc/passwd": permission denied');
  assert.equal(execFailureCode(perm), 126);
  assert.equal(runcWording('open executable: Operation not permitted', '/etc'), 'exec: "/etc": permission denied');
});

test('runc messages keep their words; anything else is left alone', () => {
  const m = 'runc create failed: unable to start container process: exec: "foo": executable file not found in $PATH';
  assert.equal(runcWording(m, 'foo'), 'exec: "foo": executable file not found in $PATH');
  assert.equal(runcWording('cgroup: no space left', 'x'), 'cgroup: no space left');
  assert.equal(execFailureCode('cgroup: no space left'), 128);
});
