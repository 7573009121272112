/**
 * Checks DESIGN.md's module boundaries:
 * - every folder under src/ is a module in the layer table below (a new folder must be placed);
 * - a module imports another only through its index.ts, and only from a layer below its own (or
 *   the same layer, for services);
 * - test support (fakes, fixtures) is a module's `testing.ts`: test code (`*.test.ts` and other
 *   `testing.ts` files) may import another module's, no other file may import any, so a fake
 *   can never reach the daemon through a production `index.ts`;
 * - no import cycles: neither between modules nor between files. Type-only imports are erased
 *   before anything runs, so they do not count; every other import does.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../src');
const LAYERS: Record<string, number> = {
  cli: 6,
  compose: 6,
  kube: 6,
  ui: 6,
  client: 5,
  daemon: 4,
  'api/server': 4,
  cri: 4,
  services: 3,
  images: 2,
  dockerfile: 2,
  oci: 2,
  runtime: 2,
  network: 2,
  volumes: 2,
  registry: 2,
  trust: 2,
  events: 2,
  vm: 2,
  streaming: 2,
  cni: 2,
  content: 1,
  snapshots: 1,
  metadata: 1,
  archive: 1,
  async: 0,
  fs: 0,
  host: 0,
  spec: 0,
  tls: 0,
  errdefs: 0,
  // The Engine API's wire shapes: the services' views, the routes and the client all use them.
  'api/types': 0,
};

/** Folders whose sub-folders are the modules (`services/containers`, `api/server`). */
const GROUPS = new Set(['api', 'services']);

function moduleOf(file: string): string | undefined {
  const rel = relative(SRC, file).split('/');
  if (GROUPS.has(rel[0]!)) return rel.length > 2 ? `${rel[0]}/${rel[1]}` : rel[0];
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

// Every module has a place in the table.
for (const name of readdirSync(SRC)) {
  if (!statSync(join(SRC, name)).isDirectory()) continue;
  const mods = GROUPS.has(name)
    ? readdirSync(join(SRC, name))
        .filter((n) => statSync(join(SRC, name, n)).isDirectory())
        .map((n) => `${name}/${n}`)
    : [name];
  for (const mod of mods) {
    if (layerOf(mod) === undefined) {
      problems.push(
        `src/${mod}: a module missing from the layer table (scripts/lint-imports.ts, docs/architecture.md)`,
      );
    }
  }
}

/** Value imports between files, and between modules, of non-test code. */
const fileEdges = new Map<string, Set<string>>();
const moduleEdges = new Map<string, Set<string>>();
const addEdge = (edges: Map<string, Set<string>>, a: string, b: string) => {
  let s = edges.get(a);
  if (!s) edges.set(a, (s = new Set()));
  s.add(b);
};

/** A module's test-support entry: `<module>/testing.ts`. */
const isTesting = (file: string) => file.endsWith('/testing.ts');

for (const file of walk(SRC)) {
  const from = moduleOf(file);
  const isTest = file.endsWith('.test.ts');
  const isTestCode = isTest || isTesting(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(import|export)(\s+type\b)?[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const typeOnly = Boolean(m[2]);
    const target = resolve(dirname(file), m[3]!);
    const to = moduleOf(target);
    if (!isTest && !typeOnly) addEdge(fileEdges, file, target);
    if (isTesting(target) && !isTestCode) {
      problems.push(`${relative(SRC, file)}: imports ${relative(SRC, target)}, which is test support (tests only)`);
    }
    if (!from || !to || to === from) continue;
    if (!isTest && !typeOnly) addEdge(moduleEdges, from, to);
    const fromLayer = layerOf(from);
    const toLayer = layerOf(to);
    const entry = relative(join(SRC, to), target);
    if (entry !== 'index.ts' && entry !== 'testing.ts') {
      problems.push(`${relative(SRC, file)}: deep import of ${relative(SRC, target)} (use ${to}/index.ts)`);
    }
    if (!isTest && fromLayer !== undefined && toLayer !== undefined && toLayer > fromLayer) {
      problems.push(`${relative(SRC, file)}: ${from} (layer ${fromLayer}) imports ${to} (layer ${toLayer}) from above`);
    }
  }
}

/** Strongly connected components with more than one member (Tarjan's algorithm). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

for (const scc of cycles(moduleEdges)) problems.push(`import cycle between modules: ${scc.join(' → ')}`);
for (const scc of cycles(fileEdges)) {
  problems.push(`import cycle between files: ${scc.map((f) => relative(SRC, f)).join(' → ')}`);
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('import boundaries: ok');
