/**
 * `docker update`'s rules, as pure functions: which fields a request may change (the cgroup
 * limits and the restart policy), what it may not (a restart policy on an `--rm` container, a
 * memory limit above the swap limit already set), and the host config that results. Last,
 * `applyUpdate` applies the result to the running task and the record.
 */
import { invalidArgument } from '../../errdefs/index.ts';
import { checkRootless } from './rootless.ts';
import { resourcesFor } from './spec.ts';
import { validateUpdateTypes } from './request-shape.ts';
import { hostConfigWarnings, validateHostConfig } from './hostconfig.ts';
import { cgroupVersion } from '../../oci/index.ts';
import type { HostConfig } from '../../api/types/index.ts';
import type { ContainerContext } from './context.ts';
import type { ContainerRecord } from './types.ts';

/** The fields of `POST /containers/{id}/update` Berth applies. */
const UPDATABLE = [
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpusetCpus',
  'CpusetMems',
  'PidsLimit',
] as const;
export type UpdateRequest = Partial<Pick<HostConfig, (typeof UPDATABLE)[number] | 'RestartPolicy'>>;

/** Throws Docker's error for an update request of the wrong shape. */
export function checkUpdateRequest(u: UpdateRequest): void {
  if (typeof u !== 'object' || u === null || Array.isArray(u))
    throw invalidArgument('invalid update config: expected a JSON object');
  validateUpdateTypes(u);
}

/** The host config after update `u`; throws Docker's error, and changes nothing, for a refused one. */
export function updatedHostConfig(current: HostConfig, u: UpdateRequest): HostConfig {
  const next: HostConfig = { ...current };
  for (const k of UPDATABLE) {
    if (u[k] !== undefined && u[k] !== null) (next as Record<string, unknown>)[k] = u[k];
  }
  if (u.RestartPolicy && (u.RestartPolicy.Name || u.RestartPolicy.MaximumRetryCount)) {
    if (current.AutoRemove && u.RestartPolicy.Name && u.RestartPolicy.Name !== 'no') {
      throw invalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    next.RestartPolicy = {
      Name: u.RestartPolicy.Name || 'no',
      MaximumRetryCount: u.RestartPolicy.MaximumRetryCount ?? 0,
    };
  }
  if (u.Memory && !u.MemorySwap && (current.MemorySwap ?? 0) > 0 && u.Memory > current.MemorySwap!) {
    throw invalidArgument(
      'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time',
    );
  }
  validateHostConfig(next, { update: true });
  return next;
}

/**
 * Applies update `u` to container `c` under its lock: the new limits at once to a running
 * task (and kept for its next start), a task created ahead dropped (`dropPrepared`: the start
 * creates it anew with them); a refused change changes nothing.
 */
export function applyUpdate(
  ctx: ContainerContext,
  c: ContainerRecord,
  u: UpdateRequest,
  dropPrepared: (c: ContainerRecord) => Promise<void>,
): Promise<{ Warnings: string[] }> {
  return ctx.locks.run(c.Id, async () => {
    // dockerd warns of the update's own fields (and drops what the host cannot do).
    const warnings = hostConfigWarnings(u as HostConfig);
    const next = updatedHostConfig(c.HostConfig, u);
    if (ctx.d.rootless) checkRootless(next, cgroupVersion());
    // A task created ahead has the old limits: the start creates it anew.
    await dropPrepared(c);
    const resources = resourcesFor(next, {
      liftPids: u.PidsLimit !== undefined && u.PidsLimit !== null && u.PidsLimit <= 0,
    });
    if (c.State.Running && !c.State.Restarting) {
      await ctx
        .runtime(c)
        .update(c.Id, resources)
        .catch((e: Error) => {
          throw invalidArgument(`Cannot update container ${c.Id}: ${e.message}`, e);
        });
    }
    c.HostConfig = next;
    ctx.store.save(c);
    ctx.emit(c, 'update');
    return { Warnings: warnings };
  });
}
