/**
 * Docker's seccomp profile format (the default one is moby's, stated in seccomp-docker.ts)
 * turned into the OCI `linux.seccomp` for one container: this host's architectures, the
 * container's capabilities, the running kernel.
 *
 * A rule is kept when every `includes` condition holds (all its caps are in the bounding set,
 * the host arch is listed, the kernel is at least minKernel) and no `excludes` condition does.
 * The default profile is built once; converting it is a loop over ~60 rules.
 */
import { invalidArgument } from '../errdefs/index.ts';
import { dockerDefaultProfile } from './seccomp-docker.ts';
import { goArch, kernelRelease } from './sysinfo.ts';
import type { Seccomp, SeccompArg, SeccompSyscall } from './types.ts';

interface Filter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

/** One rule of a Docker-format profile. */
export interface ProfileSyscall {
  names?: string[] | null;
  /** Legacy single name; a rule may not have both. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: Filter | null;
  excludes?: Filter | null;
}

/** A Docker-format seccomp profile (moby/profiles seccomp.Seccomp). */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }> | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: ProfileSyscall[] | null;
}

/** Where and what: overridable so tests can ask about other hosts. */
export interface SeccompTarget {
  /** Go's name for the architecture (`amd64`, `arm64`). Default: this host's. */
  arch?: string;
  /** A kernel release (`6.1.0-18-amd64`). Default: the running one. */
  kernel?: string;
}

// The profile's archMap is keyed by libseccomp's name of the native architecture.
const SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64le: 'SCMP_ARCH_MIPSEL64',
  mips: 'SCMP_ARCH_MIPS',
  mipsle: 'SCMP_ARCH_MIPSEL',
  ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
};

let defaultProfile: SeccompProfile | undefined;

/**
 * Docker's default profile, built on first use and kept for the process's life (callers must not
 * change it). Not read from the host: Debian's containers-common ships Podman's, which differs.
 */
export function defaultSeccompProfile(): SeccompProfile {
  defaultProfile ??= dockerDefaultProfile();
  return defaultProfile;
}

/**
 * Parses and checks a Docker-format profile (`--security-opt seccomp=<file>`: the client
 * sends the file's JSON text). Errors are InvalidArgument, worded as Docker's.
 */
export function parseSeccompProfile(json: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(json);
  } catch (e) {
    throw invalidArgument(`decoding seccomp profile failed: ${(e as Error).message}`, e);
  }
  const bad = (why: string) => invalidArgument(`decoding seccomp profile failed: ${why}`);
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw bad('the profile must be a JSON object');
  const prof = p as SeccompProfile;
  if (typeof prof.defaultAction !== 'string' || prof.defaultAction === '') throw bad('defaultAction is required');
  if (prof.architectures?.length && prof.archMap?.length) {
    throw bad(
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }
  if (prof.syscalls != null && !Array.isArray(prof.syscalls)) throw bad('syscalls must be a list');
  for (const r of prof.syscalls ?? []) {
    if (typeof r !== 'object' || r === null || typeof r.action !== 'string')
      throw bad('every syscall rule needs an action');
    if (r.name && r.names?.length)
      throw bad("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
    for (const f of [r.includes?.minKernel, r.excludes?.minKernel]) if (f) parseKernel(f);
  }
  return prof;
}

function parseKernel(v: string): number[] {
  const m = v.match(/^(\d+)(?:\.(\d+))?(?:\.(\d+))?/);
  if (!m) throw invalidArgument(`decoding seccomp profile failed: invalid kernel version: ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function kernelAtLeast(release: string, min: string): boolean {
  const have = parseKernel(release);
  const want = parseKernel(min);
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

/**
 * The OCI seccomp section for a container whose bounding set is `caps`. `profile` is the
 * default profile when absent, else a Docker-format profile (parsed, or its JSON text).
 */
export function seccompFor(
  caps: readonly string[],
  profile?: string | SeccompProfile,
  target: SeccompTarget = {},
): Seccomp {
  const p =
    profile === undefined
      ? defaultSeccompProfile()
      : typeof profile === 'string'
        ? parseSeccompProfile(profile)
        : profile;
  const arch = target.arch ?? goArch();
  const kernel = target.kernel ?? kernelRelease();
  const held = new Set(caps);

  const architectures: string[] = [...(p.architectures ?? [])];
  const native = SCMP_ARCH[arch];
  for (const a of p.archMap ?? []) {
    if (a.architecture === native) architectures.push(a.architecture, ...(a.subArchitectures ?? []));
  }

  const syscalls: SeccompSyscall[] = [];
  for (const r of p.syscalls ?? []) {
    const inc = r.includes ?? {};
    const exc = r.excludes ?? {};
    if (exc.arches?.includes(arch)) continue;
    if (exc.caps?.some((c) => held.has(c))) continue;
    if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) continue;
    if (inc.arches?.length && !inc.arches.includes(arch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => held.has(c))) continue;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) continue;
    const names = r.names?.length ? [...r.names] : r.name ? [r.name] : [];
    if (!names.length) continue;
    const s: SeccompSyscall = { names, action: r.action };
    if (typeof r.errnoRet === 'number') s.errnoRet = r.errnoRet;
    if (r.args?.length)
      s.args = r.args.map((a) => ({
        index: a.index,
        value: a.value,
        ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}),
        op: a.op,
      }));
    syscalls.push(s);
  }

  const out: Seccomp = { defaultAction: p.defaultAction };
  if (typeof p.defaultErrnoRet === 'number') out.defaultErrnoRet = p.defaultErrnoRet;
  if (architectures.length) out.architectures = architectures;
  if (p.flags?.length) out.flags = [...p.flags];
  if (p.listenerPath) out.listenerPath = p.listenerPath;
  if (p.listenerMetadata) out.listenerMetadata = p.listenerMetadata;
  out.syscalls = syscalls;
  return out;
}
