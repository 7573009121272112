/**
 * Daemons side by side on one host choose their subnets under one lock (src/network/netlock.ts):
 * two berthds started at once, each then creating user networks at once, get default bridges
 * and networks whose subnets overlap nowhere, and every network's embedded DNS answers on its
 * gateway. Without the lock both daemons read the same routes and took the same free /16: the
 * second daemon's DNS could not bind the gateway (EADDRINUSE), and a container there resolved
 * nothing. Traffic goes only to containers these daemons made.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, docker, dockerOk, startDaemonWithBusybox, type Daemon } from './harness.ts';

const daemons: Daemon[] = [];
after(async () => {
  for (const d of daemons) await cleanup(d);
});

/** An IPv4 CIDR as the first and last address, as numbers. */
function range(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/');
  const base = ip!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return [base - (base % size), base - (base % size) + size - 1];
}

test('two daemons started at once, each creating networks at once, get disjoint subnets, and every network answers DNS', async () => {
  const per = 4;
  const started = await Promise.allSettled(
    ['a', 'b'].map((x) => startDaemonWithBusybox(['--bridge', `bs${x}${process.pid % 100000}`])),
  );
  for (const s of started) if (s.status === 'fulfilled') daemons.push(s.value);
  for (const s of started) if (s.status === 'rejected') throw s.reason;

  const nets = daemons.flatMap((d, i) => Array.from({ length: per }, (_, k) => ({ d, name: `sn${i}${k}` })));
  const created = await Promise.all(nets.map(({ d, name }) => docker(d, ['network', 'create', name])));
  created.forEach((r, i) => assert.equal(r.code, 0, `network create ${nets[i]!.name}: ${r.stderr}`));

  const subnets: Array<{ what: string; subnet: string }> = [];
  for (const [i, d] of daemons.entries())
    for (const name of ['bridge', ...nets.filter((n) => n.d === d).map((n) => n.name)]) {
      const s = (
        await dockerOk(d, ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', name])
      ).trim();
      subnets.push({ what: `daemon ${i} network ${name}`, subnet: s });
    }
  for (const [i, a] of subnets.entries())
    for (const b of subnets.slice(i + 1)) {
      const [a0, a1] = range(a.subnet);
      const [b0, b1] = range(b.subnet);
      assert.ok(a1 < b0 || b1 < a0, `${a.what} (${a.subnet}) overlaps ${b.what} (${b.subnet})`);
    }

  // Each network's DNS is its own daemon's: a container there finds its own name.
  const looked = await Promise.all(
    nets.map(({ d, name }) =>
      docker(d, ['run', '--rm', '--network', name, '--name', `q-${name}`, 'busybox', 'nslookup', `q-${name}`], {
        timeoutMs: 60_000,
      }),
    ),
  );
  looked.forEach((r, i) =>
    assert.match(r.stdout, new RegExp(`Name:\\s+q-${nets[i]!.name}`), `${nets[i]!.name}: ${r.stdout}${r.stderr}`),
  );
  for (const d of daemons) assert.doesNotMatch(d.log(), /embedded DNS on/);
});
