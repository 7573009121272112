/**
 * Where the time of one `docker run --rm` goes: a timestamping proxy between the docker CLI
 * and a daemon's socket notes each request's first line and each answer's first bytes, and
 * the CLI's own start and end are timed around them. Prints the median of each phase.
 *
 *   bin/node bench/run-phases.ts <daemon.sock> [runs] [-- docker run arguments]
 *
 * The phases: the CLI's start (spawn → first request), `_ping`, create, the CLI between
 * create's answer and attach, attach and wait (their round trips up to start's request),
 * start, the run (start's answer → wait's body: the process runs, exits, the exit is noticed,
 * the container removed), and the CLI's exit after it.
 *
 * PHASES_REST_MS=<ms>: each run begins that long after the last one's CLI exited (default 0:
 * back to back, the last run's clean-up and the pool's refill still under way).
 */
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [target, runsArg, ...rest] = process.argv.slice(2);
if (!target) throw new Error('usage: run-phases.ts <daemon.sock> [runs] [-- docker run args]');
const runs = Number(runsArg ?? 20);
const args = rest[0] === '--' ? rest.slice(1) : ['--rm', '--network', 'none', 'busybox', 'true'];
const dir = mkdtempSync(join(tmpdir(), 'berth-phases-'));
const sock = join(dir, 'proxy.sock');

type Mark = [number, string];
let marks: Mark[] = [];
const server = createServer((c) => {
  const s = connect(target);
  let waitConn = false;
  c.on('data', (d) => {
    const line = d.toString('latin1').split('\r\n')[0]!;
    const m = /^[A-Z]+ \S*?\/(_ping|containers\/create|containers\/\w+\/(attach|wait|start))/.exec(line);
    if (m) {
      const what = m[2] ?? m[1]!.replace('containers/', '');
      waitConn = what === 'wait';
      marks.push([performance.now(), `>${what}`]);
    }
    s.write(d);
  });
  s.on('data', (d) => {
    const head = d.toString('latin1', 0, 12);
    if (head.startsWith('HTTP/')) marks.push([performance.now(), '<http']);
    else if (waitConn) marks.push([performance.now(), '<waitbody']);
    c.write(d);
  });
  c.on('end', () => s.end());
  s.on('end', () => c.end());
  c.on('error', () => s.destroy());
  s.on('error', () => c.destroy());
});
await new Promise<void>((r) => server.listen(sock, r));

function runOnce(): Promise<Record<string, number>> {
  marks = [];
  const t0 = performance.now();
  const p = spawn('docker', ['-H', `unix://${sock}`, 'run', ...args], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    p.on('exit', (code) => {
      const end = performance.now();
      if (code !== 0) return reject(new Error(`docker run exited ${code}`));
      const at = (name: string, after = 0) => marks.find(([t, n]) => n === name && t >= after)?.[0] ?? NaN;
      const answer = (req: string) => at('<http', at(req));
      const start = at('>start');
      const body = at('<waitbody', answer('>start'));
      resolve({
        'cli start': at('>_ping') - t0,
        ping: answer('>_ping') - at('>_ping'),
        'cli before create': at('>create') - answer('>_ping'),
        create: answer('>create') - at('>create'),
        'cli, attach, wait': start - answer('>create'),
        start: answer('>start') - start,
        'run, exit, removal': body - answer('>start'),
        'cli exit': end - body,
        total: end - t0,
      });
    });
  });
}

const samples: Record<string, number>[] = [];
const restMs = Number(process.env.PHASES_REST_MS ?? 0);
for (let i = 0; i < runs + 2; i++) {
  if (restMs) await new Promise((r) => setTimeout(r, restMs));
  const s = await runOnce();
  if (i >= 2) samples.push(s); // two warm-ups
}
server.close();
rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const k of Object.keys(samples[0]!))
  console.log(
    `${k.padEnd(20)} ${median(samples.map((s) => s[k]!))
      .toFixed(1)
      .padStart(7)} ms`,
  );
