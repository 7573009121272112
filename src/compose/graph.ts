/**
 * The dependency graph of a project's services: `depends_on`, plus the implicit edges of
 * `network_mode: service:x`. Start order puts every service after what it depends on (ties by
 * name, so the order is stable); stop order is the reverse. A cycle is an error naming it.
 */
import type { Service } from './model.ts';

function deps(s: Service, all: Readonly<Record<string, Service>>): string[] {
  const out = Object.keys(s.depends_on ?? {}).filter((d) => all[d]);
  if (s.network_mode?.startsWith('service:')) {
    const d = s.network_mode.slice(8);
    if (all[d] && !out.includes(d)) out.push(d);
  }
  return out.sort();
}

/** Service names in start order; throws on a cycle. */
export function dependencyOrder(services: Readonly<Record<string, Service>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, path: string[]) => {
    const st = state.get(n);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...path.slice(path.indexOf(n)), n];
      throw new Error(`dependency cycle detected: ${cycle.join(' -> ')}`);
    }
    state.set(n, 'visiting');
    for (const d of deps(services[n]!, services)) visit(d, [...path, n]);
    state.set(n, 'done');
    order.push(n);
  };
  for (const n of Object.keys(services).sort()) visit(n, []);
  return order;
}

/** The services `names` need, themselves included, in start order. */
export function withDependencies(services: Readonly<Record<string, Service>>, names: readonly string[]): string[] {
  const want = new Set<string>();
  const add = (n: string) => {
    if (want.has(n) || !services[n]) return;
    want.add(n);
    for (const d of deps(services[n]!, services)) add(d);
  };
  names.forEach(add);
  return dependencyOrder(services).filter((n) => want.has(n));
}
