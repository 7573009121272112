/**
 * Kubernetes resource quantities (`128Mi`, `1.5G`, `500m`, `2e3`): parsed exactly (integers
 * scaled, not floats: `0.1` CPU must be 100 millicores, not 101) and rounded up as the API
 * server rounds them, and written back in the shortest form Kubernetes would print.
 */

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/**
 * The quantity times `scale`, rounded up (bytes: scale 1; millicores: scale 1000); undefined
 * when `q` is not a quantity.
 */
export function parseQuantity(q: string | number, scale = 1): number | undefined {
  const s = String(q).trim();
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E))?$/.exec(s);
  if (!m || (!m[2] && !m[3])) return undefined;
  const [, sign, whole = '', frac = '', bin, exp, dec] = m;
  let num = BigInt(`${whole || '0'}${frac}`) * BigInt(scale);
  let den = 10n ** BigInt(frac.length);
  let e = exp ? parseInt(exp.slice(1), 10) : dec !== undefined ? DECIMAL[dec]! : 0;
  if (bin) num *= 1024n ** BigInt(BINARY[bin]!);
  if (e >= 0) num *= 10n ** BigInt(e);
  else den *= 10n ** BigInt(-e);
  const v = (num + den - 1n) / den;
  return Number(sign === '-' ? -v : v);
}

/** Bytes as Kubernetes prints them: the largest binary unit that divides them (`128Mi`), else bytes. */
export function formatBytes(bytes: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let u = 0;
  let v = bytes;
  while (v >= 1024 && v % 1024 === 0 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v}${units[u]}`;
}

/** Millicores as Kubernetes prints them: whole cores (`2`) or millicores (`500m`). */
export function formatMillis(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}
