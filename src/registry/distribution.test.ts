/**
 * The distribution suite (conformance.ts) against both registries Berth's tests use: the
 * in-memory fake and berth-registry (server and storage over a temporary root).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Htpasswd } from './index.ts';
import { distributionSuite, startFakeRegistry, startTestRegistry } from './testing.ts';

distributionSuite('in-memory fake registry', async (o) => {
  const reg = await startFakeRegistry(o.basicAuth ? { auth: { scheme: 'basic', ...o.basicAuth } } : {});
  return { port: Number(reg.host.split(':')[1]), close: () => reg.close() };
});

distributionSuite('berth-registry', async (o) => {
  if (!o.basicAuth) return startTestRegistry();
  // An htpasswd file as `htpasswd -B` writes it (cost 4 keeps the test fast).
  const dir = await mkdtemp(join(tmpdir(), 'berth-suite-'));
  const file = join(dir, 'htpasswd');
  const hash = bcrypt.hashSync(o.basicAuth.password, 4).replace(/^\$2[ab]\$/, '$2y$');
  await writeFile(file, `${o.basicAuth.username}:${hash}\n`);
  const reg = await startTestRegistry({ server: { htpasswd: await Htpasswd.load(file) } });
  return {
    port: reg.port,
    async close() {
      await reg.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
