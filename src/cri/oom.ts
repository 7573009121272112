/**
 * The lowest oom_score_adj the daemon can give its containers. The kernel lets a process lower
 * its score below the one it was started with only with CAP_SYS_RESOURCE, which the daemons of
 * these VMs lack; kubelet asks -998 for sandboxes and critical pods. As containerd's
 * `restrict_oom_score_adj`, what is asked below the floor is raised to it (containers.ts).
 */
import { promises as fs } from 'node:fs';

const CAP_SYS_RESOURCE = 24n;

/** -1000 with CAP_SYS_RESOURCE, else the daemon's own oom_score_adj. */
export async function ownOomScoreAdj(): Promise<number> {
  const status = await fs.readFile('/proc/self/status', 'utf8').catch(() => '');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (capEff && (BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) return -1000;
  const own = await fs.readFile('/proc/self/oom_score_adj', 'utf8').catch(() => '0');
  return Number(own.trim()) || 0;
}
