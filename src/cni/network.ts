/**
 * Pod networking that runs the CNI plugins: the calls plan.ts plans, each plugin binary started
 * through src/host with its environment and its configuration on stdin, its result read off
 * stdout, its error object turned into an error naming the plugin. The loopback plugin brings
 * `lo` up in every sandbox first, as containerd's and CRI-O's sandboxes do.
 *
 * The configuration directory is read at each setUp and status (kubelet polls Status; a network
 * dropped in later is used), but DEL and CHECK use the network as it was at ADD (records.ts).
 * One sandbox's calls run one at a time (a KeyedLock per sandbox id); different sandboxes'
 * run side by side, as host-local serializes its own allocations with a file lock.
 */
import { promises as fs } from 'node:fs';
import { KeyedLock } from '../async/index.ts';
import {
  BerthError,
  categoryOf,
  failedPrecondition,
  internal,
  invalidArgument,
  messageOf,
  notFound,
} from '../errdefs/index.ts';
import type { Runner } from '../host/index.ts';
import { networkNotReady } from './config.ts';
import { listPlugins, loadCni } from './load.ts';
import type {
  NetworkStatus,
  PodNetworking,
  SandboxNetwork,
  SandboxNetworkIds,
  SandboxNetworkRequest,
} from './networking.ts';
import {
  DEFAULT_IFNAME,
  loopbackCalls,
  planCalls,
  stdinFor,
  type CniCommand,
  type PluginCall,
  type PodNetwork,
} from './plan.ts';
import { RecordStore, type SandboxRecord } from './records.ts';
import { parseResult, pluginFailure, podIps } from './result.ts';

export interface CniNetworkOptions {
  host: Runner;
  /** `--cni-conf-dir`. */
  confDir: string;
  /** `--cni-bin-dir`, in order. */
  binDirs: readonly string[];
  /** Where each sandbox's record is kept (`<data-root>/cni/results`). */
  stateDir: string;
  /** How long one plugin may run; containerd gives the whole setup no limit, kubelet 4 minutes. */
  pluginTimeoutMs?: number;
}

/** A plugin's error, said as containerd says it: which sandbox, which network, then libcni's words. */
function failed(what: string, id: string, net: string, e: unknown): Error {
  const cat = categoryOf(e);
  return new BerthError(cat, `failed to ${what} network "${net}" for sandbox "${id}": ${messageOf(e)}`, {
    cause: e,
  });
}

export class CniNetwork implements PodNetworking {
  private readonly locks = new KeyedLock();
  private readonly records: RecordStore;

  private readonly o: CniNetworkOptions;

  constructor(o: CniNetworkOptions) {
    this.o = o;
    this.records = new RecordStore(o.stateDir);
  }

  async status(): Promise<NetworkStatus> {
    const s = await loadCni(this.o.confDir, this.o.binDirs);
    const missing = [...s.missing];
    if (s.network && !s.available.has('loopback')) missing.push('loopback');
    const nr = networkNotReady(s, this.o.confDir, missing);
    return nr ? { ready: false, ...nr } : { ready: true, reason: '', message: '' };
  }

  async kept(): Promise<SandboxNetworkIds[]> {
    const out: SandboxNetworkIds[] = [];
    for (const id of await this.records.list()) {
      const rec = await this.records.get(id);
      if (!rec) continue;
      const { containerId, netnsPath, ifName, podName, podNamespace, podUid } = rec.request;
      out.push({ containerId, netnsPath, podName, podNamespace, podUid, ...(ifName ? { ifName } : {}) });
    }
    return out;
  }

  setUp(req: SandboxNetworkRequest): Promise<SandboxNetwork> {
    return this.locks.run(req.containerId, async () => {
      const had = await this.records.get(req.containerId);
      if (had?.result !== undefined) return answer(had, req.ifName);
      // An ADD that never finished (berthd died in it): undone first, so its address is not kept.
      if (had) await this.del(withIds(had.request, req), had).catch(() => {});
      const s = await loadCni(this.o.confDir, this.o.binDirs);
      const nr = networkNotReady(s, this.o.confDir, s.missing);
      if (!s.network || nr) throw failedPrecondition(`network is not ready: ${nr?.message ?? 'no network'}`);
      const net = s.network;
      const netns = await identity(req.netnsPath);
      if (!netns)
        throw invalidArgument(`network namespace "${req.netnsPath}" of sandbox "${req.containerId}" does not exist`);
      if (sameAs(netns, await identity('/proc/self/ns/net')))
        throw invalidArgument(
          `"${req.netnsPath}" is the host's network namespace: a host-network sandbox gets no CNI network`,
        );
      const pod = podOf(req);
      // Planned before anything runs, so a missing binary fails with nothing to undo.
      const lo = loopbackCalls('ADD', pod, s.binDirs, s.available);
      const calls = planCalls('ADD', net, pod, s.binDirs, s.available);
      const rec: SandboxRecord = { request: req, network: net, netns };
      await this.records.put(req.containerId, rec);
      try {
        await this.runAll('ADD', lo);
        rec.result = await this.runAll('ADD', calls);
      } catch (e) {
        // What was added (an address, a veth, rules) is taken back, as containerd's
        // RunPodSandbox does on failure; the plugin's error is the one the caller sees.
        await this.del(req, rec)
          .then(() => this.records.remove(req.containerId))
          .catch(() => {});
        throw failed('set up', req.containerId, net.name, e);
      }
      if (rec.result === undefined) rec.result = { cniVersion: net.cniVersion };
      await this.records.put(req.containerId, rec);
      return answer(rec, req.ifName);
    });
  }

  tearDown(ids: SandboxNetworkIds): Promise<void> {
    return this.locks.run(ids.containerId, async () => {
      const rec = await this.records.get(ids.containerId);
      if (rec) {
        await this.del(withIds(rec.request, ids), rec).catch((e) => {
          throw failed('tear down', ids.containerId, rec.network.name, e);
        });
      } else {
        // No record: berthd stopped between the netns and the ADD, or the record is lost. The
        // plugins are told anyway (DEL is idempotent), so an address given is not kept forever.
        const s = await loadCni(this.o.confDir, this.o.binDirs);
        if (s.network && !s.missing.length)
          await this.del(ids, { request: ids, network: s.network }).catch((e) => {
            throw failed('tear down', ids.containerId, s.network!.name, e);
          });
      }
      await this.records.remove(ids.containerId);
    });
  }

  check(ids: SandboxNetworkIds): Promise<void> {
    return this.locks.run(ids.containerId, async () => {
      const rec = await this.records.get(ids.containerId);
      if (rec?.result === undefined) throw notFound(`no network set up for sandbox "${ids.containerId}"`);
      const available = await listPlugins(this.o.binDirs);
      const calls = planCalls('CHECK', rec.network, podOf(withIds(rec.request, ids)), this.o.binDirs, available);
      await this.runAll('CHECK', calls, rec.result).catch((e) => {
        throw failed('check', ids.containerId, rec.network.name, e);
      });
    });
  }

  /**
   * DEL of the network, then of loopback. A namespace that is gone is passed as an empty
   * CNI_NETNS (the spec's "the runtime has no namespace any more"): host-local still releases
   * the address, portmap its rules. So is a path that now names another namespace (a reused
   * pid) or the host's own: bridge would delete that namespace's `eth0`.
   */
  private async del(req: SandboxNetworkIds, rec: SandboxRecord): Promise<void> {
    const netns = (await sameNamespace(req.netnsPath, rec.netns)) ? req.netnsPath : '';
    const pod = podOf(withIds(rec.request, { ...req, netnsPath: netns }));
    const available = await listPlugins(this.o.binDirs);
    await this.runAll('DEL', planCalls('DEL', rec.network, pod, this.o.binDirs, available), rec.result);
    if (netns && available.has('loopback'))
      await this.runAll('DEL', loopbackCalls('DEL', pod, this.o.binDirs, available));
  }

  /**
   * Runs calls in order. For ADD each gets the previous one's result and the last result is
   * answered; DEL and CHECK all get `prev` (the ADD's result). Stops at the first failure, as
   * libcni does.
   */
  private async runAll(cmd: CniCommand, calls: readonly PluginCall[], prev?: unknown): Promise<unknown> {
    let result = prev;
    for (const c of calls) {
      const r = await this.o.host.run(c.binary, [], {
        env: { ...process.env, ...c.env },
        input: stdinFor(c, result),
        allowFailure: true,
        timeoutMs: this.o.pluginTimeoutMs ?? 120_000,
      });
      if (r.code !== 0) throw pluginFailure(c.type, cmd, r.code, r.stdout, r.stderr);
      if (cmd !== 'ADD' || !r.stdout.trim()) continue;
      try {
        result = JSON.parse(r.stdout);
      } catch (e) {
        throw internal(`plugin type="${c.type}" failed (add): its result is not JSON: ${(e as Error).message}`);
      }
    }
    return result;
  }
}

async function identity(path: string): Promise<{ dev: number; ino: number } | undefined> {
  if (!path) return undefined;
  try {
    const st = await fs.stat(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

function sameAs(a: { dev: number; ino: number } | undefined, b: { dev: number; ino: number } | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino;
}

/** Is `path` still the sandbox's namespace (the one ADD saw, when known), and not the host's? */
async function sameNamespace(path: string, atAdd: { dev: number; ino: number } | undefined): Promise<boolean> {
  const now = await identity(path);
  if (!now || sameAs(now, await identity('/proc/self/ns/net'))) return false;
  return !atAdd || sameAs(now, atAdd);
}

/** The kept request with the caller's ids over it (those it gives: a missing ifName keeps the kept one). */
function withIds(kept: SandboxNetworkRequest, ids: SandboxNetworkIds): SandboxNetworkRequest {
  const given = Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined));
  return { ...kept, ...given };
}

function podOf(req: SandboxNetworkRequest): PodNetwork {
  return {
    id: req.containerId,
    netns: req.netnsPath,
    ifName: req.ifName ?? DEFAULT_IFNAME,
    podName: req.podName,
    podNamespace: req.podNamespace,
    podUid: req.podUid,
    portMappings: req.portMappings,
    dns: req.dns,
    bandwidth: req.bandwidth,
  };
}

function answer(rec: SandboxRecord, ifName = DEFAULT_IFNAME): SandboxNetwork {
  const result = parseResult(JSON.stringify(rec.result));
  return { ips: podIps(result, ifName), interfaces: result.interfaces, dns: result.dns, result };
}
