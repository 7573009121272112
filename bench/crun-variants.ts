/**
 * The variants of one runtime spec that bench/crun-create.sh times crun's create of: the spec
 * as Berth wrote it for a pooled sandbox (`base`), then the same with one feature out each, so
 * that each variant's CPU less the base's is what that feature costs a create.
 *
 *   bin/node bench/crun-variants.ts <config.json> <out-dir> <old-id> <new-id> <rootfs>
 *
 * Writes <out-dir>/<variant>/config.json for each variant and prints the variants' names, one a
 * line. The spec's container ID (<old-id>, in its cgroup path and the binds of its cgroup and
 * /etc files) is replaced by <new-id>, its bundle's files are looked for in <out-dir>/files,
 * and its root is <rootfs> (absolute: one copy of the image's tree for every variant).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [configPath, outDir, oldId, newId, rootfs] = process.argv.slice(2);
if (!configPath || !outDir || !oldId || !newId || !rootfs)
  throw new Error('usage: crun-variants.ts <config.json> <out-dir> <old-id> <new-id> <rootfs>');

interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}
// The spec as JSON, loosely typed: each variant edits a deep copy.
type Spec = any;

const bundleDir = configPath.replace(/\/config\.json$/, '');
const text = readFileSync(configPath, 'utf8')
  .split(bundleDir + '/')
  .join(join(outDir, 'files') + '/')
  .split(oldId)
  .join(newId);
const base: Spec = JSON.parse(text);
base.root = { ...base.root, path: rootfs };

const withoutMount = (pred: (m: Mount) => boolean) => (s: Spec) => {
  s.mounts = (s.mounts as Mount[]).filter((m) => !pred(m));
};
const isMask = (m: Mount) => m.type === 'bind' && !!m.source?.endsWith('/masked');

const variants: Record<string, (s: Spec) => void> = {
  base: () => {},
  // crun refuses a net.* sysctl without a network namespace of the container's own.
  'no-netns': (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    for (const k of Object.keys(s.linux.sysctl ?? {})) if (k.startsWith('net.')) delete s.linux.sysctl[k];
  },
  'no-seccomp-annotation': (s) => {
    delete s.annotations?.['run.oci.seccomp_bpf_data'];
  },
  'no-seccomp': (s) => {
    delete s.annotations?.['run.oci.seccomp_bpf_data'];
    delete s.linux.seccomp;
  },
  // The compiled filter kept, the profile's rules out of the JSON crun parses (crun reads only
  // the flags beside the annotation).
  'seccomp-rules-out-of-json': (s) => {
    if (s.linux.seccomp) s.linux.seccomp = { defaultAction: s.linux.seccomp.defaultAction };
  },
  // The profile's JSON kept, the kernel given one instruction (RET ALLOW) instead of the filter:
  // what attaching the filter costs.
  'seccomp-one-insn': (s) => {
    s.annotations = { ...s.annotations, 'run.oci.seccomp_bpf_data': 'BgAAAAAA/38=' };
  },
  'no-maskedPaths': (s) => {
    s.linux.maskedPaths = [];
  },
  'no-mask-binds': withoutMount(isMask),
  'no-readonlyPaths': (s) => {
    s.linux.readonlyPaths = [];
  },
  'no-device-rules': (s) => {
    s.linux.resources.devices = [];
  },
  'no-resources': (s) => {
    s.linux.resources = {};
  },
  'no-rlimits': (s) => {
    delete s.process.rlimits;
  },
  'no-sysctl': (s) => {
    delete s.linux.sysctl;
  },
  'no-caps': (s) => {
    delete s.process.capabilities;
  },
  'no-additionalGids': (s) => {
    delete s.process.user.additionalGids;
  },
  'no-proc': withoutMount((m) => m.destination === '/proc'),
  'no-dev': withoutMount((m) => m.destination === '/dev'),
  'no-dev-pts': withoutMount((m) => m.destination === '/dev/pts'),
  'no-dev-shm': withoutMount((m) => m.destination === '/dev/shm'),
  'no-dev-mqueue': withoutMount((m) => m.destination === '/dev/mqueue'),
  'no-sys': withoutMount((m) => m.destination === '/sys'),
  'no-sys-fs-cgroup': withoutMount((m) => m.destination.startsWith('/sys/fs/cgroup')),
  'no-cgroup-binds': withoutMount((m) => m.destination.startsWith('/sys/fs/cgroup/')),
  'no-etc-binds': withoutMount((m) => m.destination.startsWith('/etc/')),
  'no-pidns': (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  },
  'no-ipcns': (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'ipc');
  },
  'no-utsns': (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'uts');
    delete s.hostname;
  },
};

const only = process.env.VARIANTS?.split(/[ ,]+/).filter(Boolean);
for (const [name, edit] of Object.entries(variants)) {
  if (only && name !== 'base' && !only.includes(name)) continue;
  const spec = structuredClone(base);
  edit(spec);
  mkdirSync(join(outDir, name), { recursive: true });
  writeFileSync(join(outDir, name, 'config.json'), JSON.stringify(spec));
  console.log(name);
}
