/**
 * IPv4 and IPv6 addresses and prefixes as big integers, one set of rules for both families:
 * parsing (with Docker's messages), the canonical text form (RFC 5952 for IPv6: lower case,
 * the longest run of zero groups shortened to `::`), containment and overlap. IPAM and user
 * networks work on these; `cidr.ts` keeps the IPv4-as-number helpers the default bridge and
 * the port proxies use.
 */
import { invalidArgument } from '../errdefs/index.ts';

export type Family = 4 | 6;

export interface Prefix {
  family: Family;
  /** The network address (host bits cleared). */
  base: bigint;
  /** Prefix length: 0–32 or 0–128. */
  bits: number;
}

export const familyBits = (f: Family): number => (f === 4 ? 32 : 128);

/** Parses an IPv4 or IPv6 address; undefined when it is neither. */
export function tryParseAddr(s: string): { family: Family; value: bigint } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const p = s.split('.').map(Number);
    if (p.some((x) => x > 255)) return undefined;
    return { family: 4, value: BigInt(((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) };
  }
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let text = s;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d{1,3}(\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const tail = tryParseAddr(v4[1]!);
    if (!tail) return undefined;
    const n = Number(tail.value);
    text = `${text.slice(0, v4.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return { family: 6, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

export function parseAddr(s: string): { family: Family; value: bigint } {
  const a = tryParseAddr(s);
  if (!a) throw invalidArgument(`invalid IP address: ${s}`);
  return a;
}

export function formatAddr(family: Family, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 255n)).join('.');
  const g = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of two or more zero groups, the first of equals, becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

const mask = (family: Family, bits: number): bigint => {
  const total = BigInt(familyBits(family));
  return ((1n << total) - 1n) ^ ((1n << (total - BigInt(bits))) - 1n);
};

/** Parses `addr/len`; the host bits are cleared in `base`, kept in `ip`. */
export function parsePrefix(cidr: string): Prefix & { ip: bigint } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const a = m && tryParseAddr(m[1]!);
  const bits = m ? Number(m[2]) : NaN;
  if (!a || bits > familyBits(a.family)) throw invalidArgument(`invalid CIDR address: ${cidr}`);
  return { family: a.family, base: a.value & mask(a.family, bits), bits, ip: a.value };
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddr(p.family, p.base)}/${p.bits}`;
}

/** How many addresses the prefix spans. */
export function prefixSize(p: Prefix): bigint {
  return 1n << BigInt(familyBits(p.family) - p.bits);
}

export function lastAddr(p: Prefix): bigint {
  return p.base + prefixSize(p) - 1n;
}

export function contains(p: Prefix, family: Family, v: bigint): boolean {
  return family === p.family && (v & mask(p.family, p.bits)) === p.base;
}

/** Does one prefix contain the other, or the other the one (same family only)? */
export function overlaps(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask(a.family, bits)) === (b.base & mask(b.family, bits));
}

/** Is `inner` inside `outer` (equal included)? */
export function within(inner: Prefix, outer: Prefix): boolean {
  return inner.family === outer.family && inner.bits >= outer.bits && contains(outer, inner.family, inner.base);
}
