/**
 * What a berth-vm VM is made of on this host, and what it runs on: qemu, virtiofsd, the guest
 * kernel and initramfs `npm run setup` puts in `build/vm/` (Debian's cloud kernel, fetched
 * with apt-get download and unpacked with dpkg-deb, never installed; the initramfs holds
 * berth-vm-agent and the kernel modules it loads), the shim, and the accelerator: KVM when
 * /dev/kvm opens, TCG (emulation) otherwise. Each can be overridden by an environment variable
 * (`BERTH_VM_KERNEL`, `BERTH_VM_INITRD`, `BERTH_VM_QEMU`, `BERTH_VM_VIRTIOFSD`,
 * `BERTH_VM_SHIM`, `BERTH_VM_ACCEL=kvm|tcg` — nested KVM that hangs is a reason for the last).
 */
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../errdefs/index.ts';

export interface VmAssets {
  shim: string;
  qemu: string;
  virtiofsd: string;
  kernel: string;
  initrd: string;
  /** The guest kernel's release (`6.1.0-…-cloud-amd64`), as setup recorded it. */
  release: string;
}

/** The checkout's build directory, where setup compiles the C helpers and puts the guest's files. */
export const BUILD_DIR = join(import.meta.dirname, '..', '..', 'build');

async function executable(p: string): Promise<boolean> {
  return fs.access(p, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function readable(p: string): Promise<boolean> {
  return fs.access(p, constants.R_OK).then(
    () => true,
    () => false,
  );
}

/** The assets, or FailedPrecondition naming what is missing and how to get it. */
export async function findAssets(env: NodeJS.ProcessEnv = process.env): Promise<VmAssets> {
  const vm = join(BUILD_DIR, 'vm');
  const a: VmAssets = {
    shim: env.BERTH_VM_SHIM || join(BUILD_DIR, 'berth-vm-shim'),
    qemu: env.BERTH_VM_QEMU || '/usr/bin/qemu-system-x86_64',
    virtiofsd: env.BERTH_VM_VIRTIOFSD || '/usr/lib/qemu/virtiofsd',
    kernel: env.BERTH_VM_KERNEL || join(vm, 'vmlinuz'),
    initrd: env.BERTH_VM_INITRD || join(vm, 'initramfs.img'),
    release: '',
  };
  const missing: string[] = [];
  for (const [what, p] of [
    ['the shim', a.shim],
    ['qemu', a.qemu],
    ['virtiofsd', a.virtiofsd],
  ] as const)
    if (!(await executable(p))) missing.push(`${what} (${p})`);
  for (const [what, p] of [
    ['the guest kernel', a.kernel],
    ['the initramfs', a.initrd],
  ] as const)
    if (!(await readable(p))) missing.push(`${what} (${p})`);
  if (missing.length)
    throw failedPrecondition(`berth-vm is not set up: missing ${missing.join(', ')}: run npm run setup`);
  a.release = (await fs.readFile(join(vm, 'kernel.release'), 'utf8').catch(() => '')).trim();
  return a;
}

/** KVM when /dev/kvm can be opened for reading and writing (or BERTH_VM_ACCEL says), else TCG. */
export async function detectAccel(env: NodeJS.ProcessEnv = process.env): Promise<'kvm' | 'tcg'> {
  if (env.BERTH_VM_ACCEL === 'kvm' || env.BERTH_VM_ACCEL === 'tcg') return env.BERTH_VM_ACCEL;
  try {
    const fh = await fs.open('/dev/kvm', 'r+');
    await fh.close();
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

/** The host's TSC frequency in kHz, from /proc/cpuinfo (TCG's guest TSC runs at the host's rate). */
export function tscKhzOf(cpuinfo: string): number | undefined {
  const m = cpuinfo.match(/^cpu MHz\s*:\s*([\d.]+)/m);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

export async function hostTscKhz(): Promise<number | undefined> {
  return tscKhzOf(await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => ''));
}
