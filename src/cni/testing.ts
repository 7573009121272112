/**
 * What tests of the modules above use and production code never does: pod networking that
 * runs no plugin. It hands out 10.231.0.x addresses per sandbox, records the calls, and can be
 * told to fail, so sandbox code can be tested without root.
 */
import { execFileSync } from 'node:child_process';
import type {
  NetworkStatus,
  PodNetworking,
  SandboxNetwork,
  SandboxNetworkIds,
  SandboxNetworkRequest,
} from './networking.ts';

export class FakePodNetworking implements PodNetworking {
  readonly calls: Array<{ op: 'setUp' | 'tearDown' | 'check'; containerId: string; netnsPath: string }> = [];
  /** Sandboxes set up and not torn down, by id. */
  readonly attached = new Map<string, SandboxNetworkRequest>();
  /** The next setUp throws this. */
  failSetUp?: Error;
  networkStatus: NetworkStatus = { ready: true, reason: '', message: '' };
  private next = 2;
  private readonly given = new Map<string, SandboxNetwork>();

  async setUp(req: SandboxNetworkRequest): Promise<SandboxNetwork> {
    this.calls.push({ op: 'setUp', containerId: req.containerId, netnsPath: req.netnsPath });
    if (this.failSetUp) {
      const e = this.failSetUp;
      this.failSetUp = undefined;
      throw e;
    }
    const had = this.given.get(req.containerId);
    if (had) return had;
    const ip = `10.231.0.${this.next++}`;
    const ifName = req.ifName ?? 'eth0';
    const net: SandboxNetwork = {
      ips: [ip],
      interfaces: [{ name: ifName, sandbox: req.netnsPath }],
      dns: {},
      result: {
        cniVersion: '1.0.0',
        interfaces: [{ name: ifName, sandbox: req.netnsPath }],
        ips: [{ address: `${ip}/16`, gateway: '10.231.0.1', interface: 0 }],
        routes: [],
        dns: {},
      },
    };
    this.given.set(req.containerId, net);
    this.attached.set(req.containerId, req);
    return net;
  }

  async tearDown(ids: SandboxNetworkIds): Promise<void> {
    this.calls.push({ op: 'tearDown', containerId: ids.containerId, netnsPath: ids.netnsPath });
    this.given.delete(ids.containerId);
    this.attached.delete(ids.containerId);
  }

  async check(ids: SandboxNetworkIds): Promise<void> {
    this.calls.push({ op: 'check', containerId: ids.containerId, netnsPath: ids.netnsPath });
  }

  async kept(): Promise<SandboxNetworkIds[]> {
    return [...this.attached.values()].map(({ containerId, netnsPath, podName, podNamespace, podUid }) => ({
      containerId,
      netnsPath,
      podName,
      podNamespace,
      podUid,
    }));
  }

  async status(): Promise<NetworkStatus> {
    return this.networkStatus;
  }
}

/** The host's nat table as iptables-save prints it (what the plugins' rules are checked against). */
export function natRules(): string {
  return execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' });
}

/** An iptables-save rule back into arguments (quoted comments kept whole, unescaped). */
export function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!,
  );
}

/**
 * portmap's shared nat chains, which it makes on first use and never removes: removed (with the
 * jumps to them) when they were not there in `natBefore` and no pod's mapping is left in them.
 * `also`: further chains of the test's own to flush and delete.
 */
export function removePortmapChains(natBefore: string, also: Iterable<string> = []): void {
  const now = natRules();
  const chains = new Set(also);
  const dnatUsed = now.split('\n').some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT '));
  for (const c of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'])
    if (!natBefore.includes(`:${c} `) && now.includes(`:${c} `) && !dnatUsed) {
      for (const l of now.split('\n').filter((l) => l.startsWith('-A ') && l.endsWith(`-j ${c}`)))
        execFileSync('iptables', ['-t', 'nat', '-D', ...splitRule(l.slice(3))], { stdio: 'ignore' });
      chains.add(c);
    }
  for (const c of chains) {
    execFileSync('iptables', ['-t', 'nat', '-F', c], { stdio: 'ignore' });
    execFileSync('iptables', ['-t', 'nat', '-X', c], { stdio: 'ignore' });
  }
}
