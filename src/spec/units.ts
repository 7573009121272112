/**
 * go-units sizes as the docker CLI prints them (`docker images`, `docker stats`, `system df`):
 * shared by every client (the `berth` CLI, the dashboard) so both print the same text.
 */

/** Go's `%.<prec>g`: shortest of %e/%f with trailing zeros removed. */
export function goG(x: number, prec: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  const p = Math.max(prec, 1);
  const [mant, expStr] = x.toExponential(p - 1).split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= p) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const sign = exp < 0 ? '-' : '+';
    return `${m}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const fixed = x.toFixed(Math.max(0, p - 1 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]!];
}

/** go-units HumanSizeWithPrecision: `docker images` uses 3 digits ("1.98MB"), HumanSize 4. */
export function humanSize(bytes: number, precision = 3): string {
  const [n, u] = sizeAndUnit(bytes, 1000, DECIMAL);
  return `${goG(n, precision)}${u}`;
}

/** go-units BytesSize: binary units, 4 digits ("540KiB", "23.54GiB"). */
export function bytesSize(bytes: number): string {
  const [n, u] = sizeAndUnit(bytes, 1024, BINARY);
  return `${goG(n, 4)}${u}`;
}
