/**
 * Compiled seccomp filters, reused across containers (crun only).
 *
 * Compiling Docker's default profile (some 400 syscalls, three architectures) is most of what it
 * costs crun to create a container: ~20 ms of a ~50 ms create here. The filter depends only on
 * the spec's `linux.seccomp` (the profile after Berth has applied capabilities and the
 * architecture), so the first container with a given one compiles it — crun leaves the result in
 * its state directory as `seccomp.bpf` — and the next ones hand it to crun ready-made through
 * its `run.oci.seccomp_bpf_data` annotation. The key also covers the crun binary, so an upgrade
 * that compiles differently starts afresh.
 *
 * Lifecycle: one cache per runtime driver; `annotate` (a spec about to be written) or `prepare`
 * (a bundle already written) before a create adds the filter when it is known; `learn` after a successful create stores it.
 * A spec that carries the filter is written without the profile's rules (`specText`): crun reads
 * them only to compile the filter it is then given.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

const ANNOTATION = 'run.oci.seccomp_bpf_data';

/** The parts of an OCI spec the cache reads and writes. */
export type SpecWithSeccomp = { linux?: { seccomp?: unknown }; annotations?: Record<string, string> };
/** A compiled filter larger than this is not a seccomp program (the kernel's limit is 4096 instructions of 8 bytes). */
const MAX_BPF = 4096 * 8;

export class SeccompCache {
  private readonly dir: string;
  private readonly runtimeIdentity: Promise<string>;
  private readonly filters = new Map<string, string>();

  /** `programs`: the runtime's binaries (a wrapper and what it runs), whose identity is part of the key. */
  constructor(dir: string, programs: readonly string[]) {
    this.dir = dir;
    this.runtimeIdentity = Promise.all(
      programs.map((p) =>
        fs.stat(p).then(
          (st) => `${p}:${st.size}:${st.mtimeMs}`,
          () => p,
        ),
      ),
    ).then((x) => x.join('|'));
  }

  /**
   * Looks the bundle's filter up; when known, adds it to config.json as the annotation.
   * Returns the key to `learn` under when it was not known (undefined when there is nothing to do).
   */
  async prepare(bundle: string): Promise<string | undefined> {
    const path = join(bundle, 'config.json');
    const spec = JSON.parse(await fs.readFile(path, 'utf8')) as SpecWithSeccomp;
    const had = spec.annotations?.[ANNOTATION];
    const key = await this.annotate(spec);
    if (!had && spec.annotations?.[ANNOTATION]) await fs.writeFile(path, specText(spec));
    return key;
  }

  /**
   * The same on a spec not yet written: adds the annotation when the filter is known, else
   * returns the key to `learn` under.
   */
  async annotate(spec: SpecWithSeccomp): Promise<string | undefined> {
    if (!spec.linux?.seccomp || spec.annotations?.[ANNOTATION]) return undefined;
    const key = createHash('sha256')
      .update(await this.runtimeIdentity)
      .update('\0')
      .update(JSON.stringify(spec.linux.seccomp))
      .digest('hex');
    const known = this.filters.get(key) ?? (await this.load(key));
    if (!known) return key;
    spec.annotations = { ...(spec.annotations ?? {}), [ANNOTATION]: known };
    return undefined;
  }

  /** Keeps the filter crun compiled for a container created with `key` (its `seccomp.bpf`). */
  async learn(key: string, compiledPath: string): Promise<void> {
    const bpf = await fs.readFile(compiledPath).catch(() => undefined);
    // A seccomp program is a whole number of 8-byte instructions.
    if (!bpf || bpf.length === 0 || bpf.length % 8 !== 0 || bpf.length > MAX_BPF) return;
    const b64 = bpf.toString('base64');
    this.filters.set(key, b64);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `${key}.${process.pid}.tmp`);
    await fs.writeFile(tmp, bpf, { mode: 0o600 });
    await fs.rename(tmp, join(this.dir, `${key}.bpf`));
  }

  private async load(key: string): Promise<string | undefined> {
    const bpf = await fs.readFile(join(this.dir, `${key}.bpf`)).catch(() => undefined);
    if (!bpf || bpf.length === 0 || bpf.length % 8 !== 0 || bpf.length > MAX_BPF) return undefined;
    const b64 = bpf.toString('base64');
    this.filters.set(key, b64);
    return b64;
  }
}

/**
 * The text of config.json for crun: the spec as JSON, but when it carries the compiled filter
 * (the annotation) its `linux.seccomp` goes without the rules (`syscalls`), the rest of the
 * section kept (the default action, the architectures, any flags or listener, which crun still
 * reads). crun 1.8 takes the annotation's program as it is and compiles nothing
 * (libcrun_copy_seccomp, not libcrun_generate_seccomp), so the container's filter is the same
 * bytes either way, and so is what `crun exec` loads later (the `seccomp.bpf` of crun's state).
 * What the rules cost crun is their parse: Docker's profile is some 8 kB of the 25 kB spec, 400
 * names each a string of its own in yajl's tree and then in libocispec's, parsed before the
 * init's clone — about 50 of a create's ~300 page faults here (docs/benchmarks.md, "Where crun's
 * create of a sandbox spends its CPU"). crun's state keeps this copy (`exec` parses it too).
 * `spec` itself is left whole: the warm pool keeps it as the sandbox's and writes it back at the
 * hand-over, and the cache's key is made from its rules.
 */
export function specText(spec: SpecWithSeccomp): string {
  const seccomp = spec.linux?.seccomp as { syscalls?: unknown } | undefined;
  if (!seccomp?.syscalls || !spec.annotations?.[ANNOTATION]) return JSON.stringify(spec);
  const { syscalls: _rules, ...rest } = seccomp;
  return JSON.stringify({ ...spec, linux: { ...spec.linux, seccomp: rest } });
}
