import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthSettings, onUnhealthy } from './monitor.ts';
import type { ContainerRecord } from '../containers/index.ts';

const withCheck = (Healthcheck: object | undefined) => ({ Config: { Healthcheck } }) as unknown as ContainerRecord;

test('health settings: CMD, CMD-SHELL, NONE, and Docker defaults in milliseconds', () => {
  assert.equal(healthSettings(withCheck(undefined)), undefined);
  assert.equal(healthSettings(withCheck({ Test: ['NONE'] })), undefined);
  assert.equal(healthSettings(withCheck({ Test: [] })), undefined);
  assert.deepEqual(healthSettings(withCheck({ Test: ['CMD', 'curl', '-f', 'http://localhost/'] })), {
    cmd: ['curl', '-f', 'http://localhost/'],
    intervalMs: 30_000,
    timeoutMs: 30_000,
    startPeriodMs: 0,
    startIntervalMs: 30_000,
    retries: 3,
  });
  const shell = healthSettings(
    withCheck({
      Test: ['CMD-SHELL', 'test -e /ok || exit 1'],
      Interval: 2e9,
      Timeout: 5e8,
      StartPeriod: 1e10,
      StartInterval: 1e8,
      Retries: 5,
    }),
  )!;
  assert.deepEqual(shell.cmd, ['/bin/sh', '-c', 'test -e /ok || exit 1']);
  assert.deepEqual(
    [shell.intervalMs, shell.timeoutMs, shell.startPeriodMs, shell.startIntervalMs, shell.retries],
    [2000, 500, 10_000, 100, 5],
  );
});

test('a container labelled io.berth.health-on-failure=restart is restarted when unhealthy; others are left alone', () => {
  assert.equal(onUnhealthy({ Config: { Labels: { 'io.berth.health-on-failure': 'restart' } } } as never), 'restart');
  assert.equal(onUnhealthy({ Config: { Labels: {} } } as never), 'none');
  assert.equal(onUnhealthy({ Config: {} } as never), 'none');
});
