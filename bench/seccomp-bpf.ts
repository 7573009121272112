/**
 * Runs a seccomp BPF program (classic BPF, as the kernel's seccomp takes it) on a syscall the
 * way the kernel does, to compare two programs without trusting their generator — every syscall
 * number of x86-64, x32 and i386 (and a foreign architecture), and for the numbers whose answer
 * reads an argument, the argument values their comparisons turn on — and to count the runs of
 * consecutive syscall numbers that get one answer (what a layout by ranges would have to test).
 * bench/seccomp-layout.sh uses it on libseccomp's two layouts of Docker's profile.
 *
 *   bin/node bench/seccomp-bpf.ts compare <a.bpf> <b.bpf>    the syscalls they answer differently
 *   bin/node bench/seccomp-bpf.ts runs <a.bpf>               runs of one answer, per architecture
 */
import { readFileSync } from 'node:fs';

/** What the kernel gives a filter: struct seccomp_data. */
export interface SyscallData {
  nr: number;
  arch: number;
  /** The six arguments, each as its low and high 32 bits (the only way a filter reads them). */
  args?: ReadonlyArray<readonly [lo: number, hi: number]>;
  ip?: readonly [lo: number, hi: number];
}

export const AUDIT_ARCH = { x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7 } as const;
/** x32's syscalls are x86-64's arch with this bit in the number. */
export const X32_SYSCALL_BIT = 0x40000000;

/** The program's instructions: [code, jt, jf, k]. */
export function instructions(bpf: Buffer): Array<[number, number, number, number]> {
  if (bpf.length === 0 || bpf.length % 8 !== 0) throw new Error(`not a BPF program: ${bpf.length} bytes`);
  const out: Array<[number, number, number, number]> = [];
  for (let o = 0; o < bpf.length; o += 8)
    out.push([bpf.readUInt16LE(o), bpf.readUInt8(o + 2), bpf.readUInt8(o + 3), bpf.readUInt32LE(o + 4)]);
  return out;
}

/** The 32-bit word at `offset` of seccomp_data (little-endian, as on x86-64). */
function word(d: SyscallData, offset: number): number {
  if (offset === 0) return d.nr >>> 0;
  if (offset === 4) return d.arch >>> 0;
  if (offset === 8 || offset === 12) return ((d.ip ?? [0, 0])[(offset - 8) / 4] ?? 0) >>> 0;
  const i = (offset - 16) >> 3;
  if (offset % 4 !== 0 || i < 0 || i > 5) throw new Error(`load outside seccomp_data: ${offset}`);
  return ((d.args?.[i] ?? [0, 0])[(offset % 8) / 4] ?? 0) >>> 0;
}

/**
 * The filter's return value for `d`, and whether it read an argument (a program's answer for a
 * syscall that reads none does not depend on them). Throws on what the kernel would refuse.
 */
export function runFilter(prog: ReadonlyArray<[number, number, number, number]>, d: SyscallData) {
  let a = 0;
  let x = 0;
  const mem = new Array<number>(16).fill(0);
  let readArgs = false;
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, jt, jf, k] = prog[pc]!;
    const src = code & 0x08 ? x : k; // BPF_X or BPF_K
    switch (code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        if (k >= 8) readArgs = true;
        a = word(d, k);
        break;
      case 0x00: // BPF_LD | BPF_IMM
        a = k >>> 0;
        break;
      case 0x01: // BPF_LDX | BPF_IMM
        x = k >>> 0;
        break;
      case 0x60: // BPF_LD | BPF_MEM
        a = mem[k]!;
        break;
      case 0x61: // BPF_LDX | BPF_MEM
        x = mem[k]!;
        break;
      case 0x02: // BPF_ST
        mem[k] = a;
        break;
      case 0x03: // BPF_STX
        mem[k] = x;
        break;
      case 0x07: // BPF_MISC | BPF_TAX
        x = a;
        break;
      case 0x87: // BPF_MISC | BPF_TXA
        a = x;
        break;
      case 0x16: // BPF_RET | BPF_A
        return { action: a >>> 0, readArgs };
      case 0x06: // BPF_RET | BPF_K
        return { action: k >>> 0, readArgs };
      case 0x05: // BPF_JMP | BPF_JA
        pc += k;
        break;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
      case 0x1d:
        pc += a === src >>> 0 ? jt : jf;
        break;
      case 0x25: // BPF_JGT
      case 0x2d:
        pc += a > src >>> 0 ? jt : jf;
        break;
      case 0x35: // BPF_JGE
      case 0x3d:
        pc += a >= src >>> 0 ? jt : jf;
        break;
      case 0x45: // BPF_JSET
      case 0x4d:
        pc += (a & src) !== 0 ? jt : jf;
        break;
      case 0x54: // BPF_ALU | BPF_AND
      case 0x5c:
        a = (a & src) >>> 0;
        break;
      case 0x44: // BPF_ALU | BPF_OR
      case 0x4c:
        a = (a | src) >>> 0;
        break;
      case 0x04: // BPF_ALU | BPF_ADD
      case 0x0c:
        a = (a + src) >>> 0;
        break;
      case 0x14: // BPF_ALU | BPF_SUB
      case 0x1c:
        a = (a - src) >>> 0;
        break;
      case 0x64: // BPF_ALU | BPF_LSH
      case 0x6c:
        a = (a << (src & 31)) >>> 0;
        break;
      case 0x74: // BPF_ALU | BPF_RSH
      case 0x7c:
        a = a >>> (src & 31);
        break;
      default:
        throw new Error(`instruction ${pc}: code 0x${code.toString(16)} not handled`);
    }
  }
  throw new Error('ran off the end of the program');
}

/** Every jump and load constant of the programs, and its neighbours: the values their comparisons turn on. */
function interestingWords(...progs: ReadonlyArray<ReadonlyArray<[number, number, number, number]>>): number[] {
  const s = new Set<number>([0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]);
  for (const p of progs)
    for (const [code, , , k] of p)
      if ((code & 0x07) === 0x05 || (code & 0x07) === 0x04)
        for (const v of [k, k - 1, k + 1, ~k, k & (k - 1), k | (k + 1)]) s.add(v >>> 0);
  return [...s];
}

/** A deterministic source of numbers, so that a failure can be run again. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

export interface Difference {
  data: SyscallData;
  a: number;
  b: number;
}

/**
 * The syscalls on which two programs answer differently (empty when they agree): every number
 * below `maxNr` (and x32's, and a few at the ends of the range) on each architecture, with all
 * arguments 0; then, for each syscall whose answer reads an argument in either program, every
 * interesting word in each half of each argument alone and `samples` random mixes of them.
 */
export function compareFilters(
  bpfA: Buffer,
  bpfB: Buffer,
  o: { arches?: readonly number[]; maxNr?: number; samples?: number } = {},
): Difference[] {
  const pa = instructions(bpfA);
  const pb = instructions(bpfB);
  const arches = o.arches ?? Object.values(AUDIT_ARCH);
  const maxNr = o.maxNr ?? 1024;
  const words = interestingWords(pa, pb);
  const rnd = lcg(0x5eccc0);
  const out: Difference[] = [];
  const check = (data: SyscallData) => {
    const ra = runFilter(pa, data);
    const rb = runFilter(pb, data);
    if (ra.action !== rb.action) out.push({ data, a: ra.action, b: rb.action });
    return ra.readArgs || rb.readArgs;
  };
  const numbers: number[] = [];
  for (let nr = 0; nr < maxNr; nr++) numbers.push(nr, (nr | X32_SYSCALL_BIT) >>> 0);
  numbers.push(0x3fffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff);
  const zero: Array<[number, number]> = [0, 1, 2, 3, 4, 5].map(() => [0, 0]);
  for (const arch of arches)
    for (const nr of numbers) {
      if (!check({ nr, arch, args: zero })) continue;
      for (let i = 0; i < 6; i++)
        for (const half of [0, 1])
          for (const w of words) {
            const args = zero.map((p) => [...p] as [number, number]);
            args[i]![half] = w;
            check({ nr, arch, args });
          }
      for (let n = 0; n < (o.samples ?? 500); n++) {
        const pick = () => (rnd() % 5 === 0 ? rnd() : words[rnd() % words.length]!);
        check({ nr, arch, args: zero.map(() => [pick(), rnd() % 2 ? 0 : pick()] as [number, number]) });
      }
    }
  return out;
}

/** Runs of consecutive syscall numbers below 1024 with one answer (an argument-reading one its own), per architecture. */
export function answerRuns(bpf: Buffer): Record<string, { runs: number; readingArgs: number }> {
  const p = instructions(bpf);
  const out: Record<string, { runs: number; readingArgs: number }> = {};
  for (const [name, arch, bit] of [
    ['x86_64', AUDIT_ARCH.x86_64, 0],
    ['x32', AUDIT_ARCH.x86_64, X32_SYSCALL_BIT],
    ['i386', AUDIT_ARCH.i386, 0],
  ] as const) {
    let runs = 0;
    let readingArgs = 0;
    let prev = '';
    for (let nr = 0; nr < 1024; nr++) {
      const r = runFilter(p, { nr: (nr | bit) >>> 0, arch });
      if (r.readArgs) readingArgs++;
      const k = r.readArgs ? `args ${nr}` : String(r.action);
      if (k !== prev) runs++;
      prev = k;
    }
    out[name] = { runs, readingArgs };
  }
  return out;
}

if (import.meta.main) {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === 'compare' && a && b) {
    const diffs = compareFilters(readFileSync(a), readFileSync(b));
    console.log(`${diffs.length} syscalls answered differently`);
    for (const d of diffs.slice(0, 10)) console.log(JSON.stringify(d));
    process.exitCode = diffs.length ? 1 : 0;
  } else if (cmd === 'runs' && a) {
    for (const [arch, r] of Object.entries(answerRuns(readFileSync(a))))
      console.log(`${arch}: ${r.runs} runs of one answer over 0..1023, ${r.readingArgs} numbers reading an argument`);
  } else {
    console.error('usage: seccomp-bpf.ts compare <a.bpf> <b.bpf> | runs <a.bpf>');
    process.exitCode = 2;
  }
}
