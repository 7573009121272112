/**
 * The e2e tests' subnets (harness-subnet.ts): two test processes asking at once never get the
 * same /24, a subnet is free again once its process is gone, and routed subnets are skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { hostRoutes, overlaps } from './harness-subnet.ts';

/** A process that reserves a subnet searching from `start` and says which, holding it until its stdin closes. */
function asker(start: number): { proc: ChildProcess; subnet: Promise<string> } {
  const script = `
    const { reserveSubnet } = await import(${JSON.stringify(join(import.meta.dirname, 'harness-subnet.ts'))});
    console.log(await reserveSubnet({ start: ${start} }));
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const subnet = new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    proc.once('exit', (code) => reject(new Error(`asker exited ${code} before answering`)));
  });
  return { proc, subnet };
}

test('two test processes asking for a subnet at once, from the same first candidate, get different ones', async () => {
  // Far from the start of the pool, where other files' random searches seldom are.
  const start = 40 * 256 + 17;
  const askers = [asker(start), asker(start), asker(start)];
  try {
    const got = await Promise.all(askers.map((a) => a.subnet));
    assert.equal(new Set(got).size, 3, got.join(' '));
    for (const s of got) assert.match(s, /^10\.2\d\d\.\d{1,3}$/);

    // Freed with its process: another asker from the same start gets the one it held (the first
    // free candidate from there again).
    const first = askers[0]!;
    first.proc.stdin!.end();
    await once(first.proc, 'exit');
    const again = asker(start);
    askers.push(again);
    assert.equal(await again.subnet, await first.subnet);
  } finally {
    for (const a of askers) if (a.proc.exitCode === null) a.proc.stdin!.end();
    await Promise.all(askers.map((a) => (a.proc.exitCode === null ? once(a.proc, 'exit') : undefined)));
  }
});

test('a subnet the host routes is never handed out: routes are read from /proc/net/route and compared by prefix', () => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'bx1\t0007D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'bx2\t0000DB0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'bx3\t8008DD0A\t00000000\t0001\t0\t0\t0\t80FFFFFF\t0\t0\t0',
  ].join('\n');
  const routes = hostRoutes(table);
  assert.equal(routes.length, 3, 'the default route is left out');
  const routed = (net: string) => routes.some((r) => overlaps(r, net));
  assert.ok(routed('10.213.7'), 'the same /24');
  assert.ok(!routed('10.213.8'));
  assert.ok(routed('10.219.200'), 'inside a /16');
  assert.ok(routed('10.221.8'), 'a /25 inside it');
  assert.ok(!routed('10.221.9'));
});
