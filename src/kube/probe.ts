/**
 * Probes as Docker health checks, both ways. A container has one health check, run inside it:
 * `exec` runs its command; `httpGet` and `tcpSocket` become commands busybox has (any image
 * with busybox or its applets can run them; Kubernetes' kubelet probes from outside instead):
 *
 *   httpGet   → wget -q -O /dev/null [--no-check-certificate] [--header 'N: v']... URL
 *               (busybox wget fails on HTTP ≥ 400, as the kubelet counts ≥ 400 a failure)
 *   tcpSocket → nc -w TIMEOUT HOST PORT -e true
 *               (busybox nc has no -z: `-e true` runs `true` once connected, so the exit
 *               status is the connect's)
 *
 * The host is `localhost` unless given: the probe runs in the pod's network namespace, where
 * the kubelet would use the pod's address. Timings: period → Interval, timeout → Timeout,
 * failureThreshold → Retries, initialDelaySeconds → StartPeriod. `probeFromHealthcheck` reads
 * these forms back so `kube generate` writes httpGet/tcpSocket probes again, not the commands.
 */
import type { HealthConfig } from '../client/index.ts';
import type { ContainerPort, Probe, ProbeHandler } from './model.ts';

const SECOND = 1e9;

/** The Docker health check of a probe; named ports are looked up in `ports`. */
export function healthcheckFor(probe: Probe, ports: readonly ContainerPort[]): HealthConfig {
  const portOf = (p: number | string) => (typeof p === 'number' ? p : ports.find((x) => x.name === p)!.containerPort);
  const h = probe.handler;
  let test: string[];
  if ('exec' in h) test = ['CMD', ...h.exec.command];
  else if ('httpGet' in h) {
    const g = h.httpGet;
    const host = g.host ?? 'localhost';
    const url = `${g.scheme.toLowerCase()}://${host.includes(':') ? `[${host}]` : host}:${portOf(g.port)}${g.path.startsWith('/') ? '' : '/'}${g.path}`;
    test = [
      'CMD',
      'wget',
      '-q',
      '-O',
      '/dev/null',
      ...(g.scheme === 'HTTPS' ? ['--no-check-certificate'] : []),
      ...g.httpHeaders.flatMap((x) => ['--header', `${x.name}: ${x.value}`]),
      url,
    ];
  } else {
    const t = h.tcpSocket;
    test = [
      'CMD',
      'nc',
      '-w',
      String(probe.timeoutSeconds),
      t.host ?? 'localhost',
      String(portOf(t.port)),
      '-e',
      'true',
    ];
  }
  return {
    Test: test,
    Interval: probe.periodSeconds * SECOND,
    Timeout: probe.timeoutSeconds * SECOND,
    Retries: probe.failureThreshold,
    StartPeriod: probe.initialDelaySeconds * SECOND,
  };
}

/** The probe a health check stands for (undefined for none); whole seconds, rounded up. */
export function probeFromHealthcheck(hc: HealthConfig | undefined | null): Probe | undefined {
  const test = hc?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  const secs = (ns: number | undefined, dflt: number) => (ns && ns > 0 ? Math.max(1, Math.ceil(ns / SECOND)) : dflt);
  // Docker's defaults when the health check leaves a value out
  const timing = {
    initialDelaySeconds: hc!.StartPeriod && hc!.StartPeriod > 0 ? Math.ceil(hc!.StartPeriod / SECOND) : 0,
    periodSeconds: secs(hc!.Interval, 30),
    timeoutSeconds: secs(hc!.Timeout, 30),
    failureThreshold: hc!.Retries && hc!.Retries > 0 ? hc!.Retries : 3,
  };
  let command: string[];
  if (test[0] === 'CMD') command = test.slice(1);
  else if (test[0] === 'CMD-SHELL') command = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else command = test;
  if (command.length === 0) return undefined;
  return { handler: handlerOf(command), ...timing };
}

function handlerOf(cmd: string[]): ProbeHandler {
  if (cmd[0] === 'wget' && cmd[1] === '-q' && cmd[2] === '-O' && cmd[3] === '/dev/null') {
    let i = 4;
    const https = cmd[i] === '--no-check-certificate';
    if (https) i++;
    const headers: { name: string; value: string }[] = [];
    while (cmd[i] === '--header' && i + 1 < cmd.length) {
      const h = cmd[i + 1]!;
      const c = h.indexOf(': ');
      if (c <= 0) return { exec: { command: cmd } };
      headers.push({ name: h.slice(0, c), value: h.slice(c + 2) });
      i += 2;
    }
    const m = i === cmd.length - 1 ? /^(https?):\/\/(\[[^\]]+\]|[^/:]+):(\d+)(\/.*)?$/.exec(cmd[i]!) : null;
    if (m && (m[1] === 'https') === https) {
      const host = m[2]!.replace(/^\[|\]$/g, '');
      return {
        httpGet: {
          path: m[4] ?? '/',
          port: Number(m[3]),
          ...(host !== 'localhost' ? { host } : {}),
          scheme: https ? 'HTTPS' : 'HTTP',
          httpHeaders: headers,
        },
      };
    }
  }
  if (
    cmd.length === 7 &&
    cmd[0] === 'nc' &&
    cmd[1] === '-w' &&
    cmd[5] === '-e' &&
    cmd[6] === 'true' &&
    /^\d+$/.test(cmd[4]!)
  ) {
    const host = cmd[3]!;
    return { tcpSocket: { port: Number(cmd[4]), ...(host !== 'localhost' ? { host } : {}) } };
  }
  return { exec: { command: cmd } };
}
