/**
 * Checks DESIGN.md's module boundaries: a module imports another only through its index.ts,
 * and only from a layer below its own (or the same layer, for services).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../src');
const LAYERS: Record<string, number> = {
  cli: 6,
  compose: 6,
  ui: 6,
  client: 5,
  'api/types': 5,
  daemon: 4,
  'api/server': 4,
  services: 3,
  images: 2,
  build: 2,
  oci: 2,
  runtime: 2,
  network: 2,
  volumes: 2,
  registry: 2,
  events: 2,
  content: 1,
  snapshots: 1,
  metadata: 1,
  archive: 1,
  host: 0,
  spec: 0,
  errdefs: 0,
};

function moduleOf(file: string): string | undefined {
  const rel = relative(SRC, file).split('/');
  if (rel[0] === 'api' || rel[0] === 'services') return rel.length > 2 ? `${rel[0]}/${rel[1]}` : rel[0];
  return rel.length > 1 ? rel[0] : undefined;
}

function layerOf(mod: string): number | undefined {
  return LAYERS[mod] ?? LAYERS[mod.split('/')[0]!];
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const problems: string[] = [];
for (const file of walk(SRC)) {
  const from = moduleOf(file);
  if (!from) continue;
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/g)) {
    const target = resolve(dirname(file), m[1]!);
    const to = moduleOf(target);
    if (!to || to === from) continue;
    const isTest = file.endsWith('.test.ts');
    const fromLayer = layerOf(from);
    const toLayer = layerOf(to);
    if (!target.endsWith('/index.ts') || relative(join(SRC, to), target) !== 'index.ts') {
      problems.push(`${relative(SRC, file)}: deep import of ${relative(SRC, target)} (use ${to}/index.ts)`);
    }
    if (!isTest && fromLayer !== undefined && toLayer !== undefined && toLayer > fromLayer) {
      problems.push(`${relative(SRC, file)}: ${from} (layer ${fromLayer}) imports ${to} (layer ${toLayer}) from above`);
    }
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('import boundaries: ok');
