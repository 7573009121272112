/**
 * What plugins answer: a result on stdout (CNI spec "Result" — 1.0.0, 0.4.0 and 0.3.x have
 * `interfaces` and `ips` with an interface index; 0.1.0/0.2.0 have `ip4`/`ip6`), or on failure
 * a non-zero exit with an error object (`code`, `msg`, `details`). Both are normalized here,
 * and the pod's addresses are read off the result as containerd does: the IPs of the sandbox's
 * interface, IPv4 first (CRI's PodIP, then additional_ips).
 */
import { internal, invalidArgument } from '../errdefs/index.ts';

export interface CniIp {
  /** CIDR form, `10.88.0.5/16`. */
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: Array<{ dst: string; gw?: string }>;
  dns: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

export function parseResult(stdout: string): CniResult {
  let raw: any;
  try {
    raw = JSON.parse(stdout);
  } catch (e) {
    throw invalidArgument(`cni: a plugin's result is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw invalidArgument("cni: a plugin's result is not an object");
  const cniVersion = String(raw.cniVersion ?? '0.1.0');
  if (Array.isArray(raw.ips) || Array.isArray(raw.interfaces)) {
    return {
      cniVersion,
      interfaces: (raw.interfaces ?? []).map((i: any) => ({ name: String(i.name), mac: i.mac, sandbox: i.sandbox })),
      ips: (raw.ips ?? []).map((i: any) => ({
        address: String(i.address),
        gateway: i.gateway,
        interface: typeof i.interface === 'number' ? i.interface : undefined,
      })),
      routes: raw.routes ?? [],
      dns: raw.dns ?? {},
    };
  }
  // 0.1.0 and 0.2.0: one address per family, no interfaces.
  const ips: CniIp[] = [];
  const routes: CniResult['routes'] = [];
  for (const fam of [raw.ip4, raw.ip6]) {
    if (!fam?.ip) continue;
    ips.push({ address: String(fam.ip), gateway: fam.gateway });
    routes.push(...(fam.routes ?? []));
  }
  return { cniVersion, interfaces: [], ips, routes, dns: raw.dns ?? {} };
}

/** The pod's addresses, without their prefix length, IPv4 first. */
export function podIps(r: CniResult, ifName = 'eth0'): string[] {
  const ours = r.ips.filter((ip) => {
    if (ip.interface === undefined) return true;
    const i = r.interfaces[ip.interface];
    return !i || (i.name === ifName && Boolean(i.sandbox));
  });
  const addrs = ours.map((ip) => ip.address.replace(/\/\d+$/, ''));
  return [...addrs.filter((a) => !a.includes(':')), ...addrs.filter((a) => a.includes(':'))];
}

/** A failed plugin, in libcni's words: `plugin type="bridge" failed (add): <msg>: <details>`. */
export function pluginFailure(type: string, cmd: string, exitCode: number, stdout: string, stderr: string): Error {
  let said = stderr.trim() || `exit status ${exitCode}`;
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (e.msg) said = e.details ? `${e.msg}: ${e.details}` : e.msg;
  } catch {
    // Not an error object: stderr or the exit status says it.
  }
  return internal(`plugin type="${type}" failed (${cmd.toLowerCase()}): ${said}`);
}
