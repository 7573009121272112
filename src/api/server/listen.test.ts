import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { close, listen } from './index.ts';
import { Router } from './router.ts';

test("the API socket queues a thousand connections made while the daemon's event loop is busy: none is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-listen-'));
  const sock = join(dir, 'api.sock');
  const l = await listen(new Router(), `unix://${sock}`);
  try {
    // A client of its own (as the docker CLI is) that connects a thousand times at once.
    const client = spawn(
      process.execPath,
      [
        '-e',
        `const net = require('net'); let ok = 0, refused = 0, n = 0;
         console.log('ready');
         setTimeout(() => { for (let i = 0; i < 1000; i++) {
           const s = net.connect(process.argv[1]);
           s.on('connect', () => { ok++; s.destroy(); if (++n === 1000) console.log(JSON.stringify({ ok, refused })); });
           s.on('error', () => { refused++; if (++n === 1000) console.log(JSON.stringify({ ok, refused })); });
         } }, 200);`,
        sock,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const done = new Promise((r) => client.once('exit', r));
    client.stdout!.on('data', (d) => {
      // The event loop held while the client connects: nothing is accepted meanwhile.
      if (!out) {
        const until = Date.now() + 1500;
        while (Date.now() < until);
      }
      out += d;
    });
    await done;
    assert.deepEqual(JSON.parse(out.split('\n')[1]!), { ok: 1000, refused: 0 });
  } finally {
    await close(l);
    rmSync(dir, { recursive: true, force: true });
  }
});
