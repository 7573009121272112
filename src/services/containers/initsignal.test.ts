import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catches, initDropsSignal } from './initsignal.ts';

const status = (nspid: string, sigcgt: string) =>
  `Name:\ttop\nState:\tS (sleeping)\nNSpid:\t${nspid}\nSigIgn:\t0000000000000000\nSigCgt:\t${sigcgt}\n`;

test("a SIGTERM to a container's PID 1 without a handler is dropped; with one, or to another process, it is not", () => {
  // SIGTERM is 15: bit 14 (0x4000).
  assert.equal(initDropsSignal(status('4242\t1', '0000000000000000'), 15), true);
  assert.equal(initDropsSignal(status('4242\t1', '0000000000004000'), 15), false);
  assert.equal(initDropsSignal(status('4242\t7', '0000000000000000'), 15), false);
  // The host's own namespace (one field): no namespace init to drop it.
  assert.equal(initDropsSignal(status('1', '0000000000000000'), 15), false);
  // SIGKILL always arrives.
  assert.equal(initDropsSignal(status('4242\t1', '0000000000000000'), 9), false);
});

test('the SigCgt mask names the signals a process catches', () => {
  assert.equal(catches(status('1', '0000000000004002'), 2), true);
  assert.equal(catches(status('1', '0000000000004002'), 15), true);
  assert.equal(catches(status('1', '0000000000004002'), 1), false);
  assert.equal(catches('Name:\tx\n', 15), false);
});
