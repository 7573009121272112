/**
 * Docker's seccomp profile format (the default one ships in Debian's containers-common) turned
 * into the OCI `linux.seccomp` for this host's architecture and the container's capabilities.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { invalidArgument } from '../errdefs/index.ts';
import type { Seccomp, SeccompSyscall } from './types.ts';

export const DEFAULT_PROFILE_PATH = '/usr/share/containers/seccomp.json';

interface Rule {
  names?: string[];
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompSyscall['args'] | null;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

interface Profile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }>;
  architectures?: string[];
  flags?: string[];
  syscalls?: Rule[];
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: 'x86', s390x: 's390x', ppc64: 'ppc64le' };
const SCMP_ARCH: Record<string, string> = { amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', x86: 'SCMP_ARCH_X86', s390x: 'SCMP_ARCH_S390X', ppc64le: 'SCMP_ARCH_PPC64LE' };

let defaultProfile: Profile | undefined;

function loadDefault(): Profile {
  defaultProfile ??= JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8')) as Profile;
  return defaultProfile;
}

function kernelAtLeast(min: string): boolean {
  const [a, b] = os.release().split(/[.-]/).map(Number);
  const [c, d] = min.split('.').map(Number);
  return a! > c! || (a === c && b! >= d!);
}

/**
 * The OCI seccomp section for `caps` (the container's effective capabilities). `profileJson` is a
 * user profile (`--security-opt seccomp=<file>`, sent by the client as JSON); absent means the
 * default profile.
 */
export function seccompFor(caps: readonly string[], profileJson?: string): Seccomp {
  let p: Profile;
  if (profileJson !== undefined) {
    try {
      p = JSON.parse(profileJson) as Profile;
    } catch (e) {
      throw invalidArgument(`decoding seccomp profile failed: ${(e as Error).message}`, e);
    }
    if (typeof p.defaultAction !== 'string') throw invalidArgument('decoding seccomp profile failed: defaultAction is required');
  } else p = loadDefault();
  const native = GO_ARCH[process.arch] ?? process.arch;
  let architectures: string[] = [];
  const entry = p.archMap?.find((a) => a.architecture === SCMP_ARCH[native]);
  if (entry) architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  else if (p.architectures) architectures = p.architectures;
  const syscalls: SeccompSyscall[] = [];
  for (const r of p.syscalls ?? []) {
    const inc = r.includes ?? {};
    const exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(native)) continue;
    if (exc.arches?.length && exc.arches.includes(native)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) continue;
    if (exc.caps?.length && exc.caps.some((c) => caps.includes(c))) continue;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel)) continue;
    const names = r.names ?? (r.name ? [r.name] : []);
    if (!names.length) continue;
    const s: SeccompSyscall = { names, action: r.action };
    if (r.errnoRet !== undefined) s.errnoRet = r.errnoRet;
    if (r.args?.length) s.args = r.args;
    syscalls.push(s);
  }
  const out: Seccomp = { defaultAction: p.defaultAction, architectures, syscalls };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.flags?.length) out.flags = p.flags;
  return out;
}
