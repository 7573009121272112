/**
 * The docker-bench-security checks (v1.6.0 numbering, tests/2_*, 3_*, 5_* and 99_*) that apply
 * to a daemon, run against a berthd this script starts, with pass/fail per check.
 *
 *   bin/node bench/security-checks.ts              # a default berthd and a default container
 *   bin/node bench/security-checks.ts --hardened   # the opt-in hardening flags too
 *   bin/node bench/security-checks.ts --markdown   # the table for docs/security.md
 *
 * The daemon is berthd with its defaults plus what the checks need to have something to look
 * at: a TCP listener with --tlsverify and certificates made as Docker's "Protect the Docker
 * daemon socket" makes them (keys 0400, certificates 0444), and a registry CA in a certs.d.
 * It runs on a temporary data root with its socket, on loopback only, and everything it made is
 * removed at the end. Checks look at what the daemon does (the container's /proc status and
 * limits, file modes, a refused TLS client) where docker-bench only greps flags.
 *
 * Kinds: a `default` check must pass on a default berthd; an `opt-in` check is a choice Docker
 * also leaves to the user (inter-container traffic, memory limits, read-only root, …): shown as
 * OPT-IN by default and checked with --hardened, which turns each on; `n/a` says why a check
 * does not apply to Berth. Exit status 1 when any check fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { capsFromMask, DEFAULT_CAPABILITIES } from '../src/oci/index.ts';
import { makePki, type Pki } from '../src/tls/testing.ts';
import { DATA_ROOT_ENTRIES } from '../src/daemon/dataroot.ts';
import { freePort } from '../e2e/harness.ts';

const REPO = resolve(import.meta.dirname, '..');
const DOCKER = process.env.DOCKER_CLI ?? '/usr/local/bin/docker';
const hardened = process.argv.includes('--hardened');
const markdown = process.argv.includes('--markdown');

type Kind = 'default' | 'opt-in' | 'n/a';
type Verdict = { ok: boolean; note?: string };

interface Facts {
  argv: string[];
  info: Record<string, any>;
  version: Record<string, any>;
  pki: Pki;
  sock: string;
  dataRoot: string;
  execRoot: string;
  certsDirs: string[];
  group: string;
  /** The container under test: inspect, and its process's /proc status and limits. */
  c: Record<string, any>;
  status: string;
  limits: string;
  /** Whether a TLS client without a certificate got an HTTP answer from the TCP listener. */
  unauthenticatedAnswered: boolean;
  apparmor: boolean;
  selinux: boolean;
}

interface Check {
  id: string;
  title: string;
  kind: Kind;
  /** For opt-in checks: what turns it on. For n/a checks: why it does not apply. */
  how?: string;
  run?: (f: Facts) => Verdict;
}

const mode = (p: string) => statSync(p).mode & 0o7777;
const owner = (p: string) => ({ uid: statSync(p).uid, gid: statSync(p).gid });
const octal = (m: number) => m.toString(8).padStart(4, '0');
const flag = (f: Facts, name: string) => f.argv.some((a) => a === name || a.startsWith(`${name}=`));
const hc = (f: Facts) => f.c.HostConfig ?? {};
const capEff = (f: Facts) => capsFromMask(BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(f.status)?.[1] ?? '0'}`));
const ok = (cond: boolean, note?: string): Verdict => ({ ok: cond, note });

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith(suffix)) out.push(join(e.parentPath, e.name));
  return out;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Mode no looser than `max` (docker-bench compares the octal numbers; so does this). */
const atMost = (p: string, max: number) => mode(p) <= max && (mode(p) & ~max) === 0;

const CHECKS: Check[] = [
  // ------------------------------------------------------------ 2: daemon configuration
  {
    id: '2.1',
    title: 'Run the Docker daemon as a non-root user, if possible',
    kind: 'n/a',
    how: 'bin/berthd-rootless (checked by e2e/rootless.test.ts); this script drives a root berthd',
  },
  {
    id: '2.2',
    title: 'Ensure network traffic is restricted between containers on the default bridge',
    kind: 'opt-in',
    how: 'berthd --icc=false',
    run: (f) => ok(f.argv.includes('--icc=false')),
  },
  {
    id: '2.3',
    title: "Ensure the logging level is set to 'info'",
    kind: 'default',
    run: (f) =>
      ok(!flag(f, '--log-level') && !flag(f, '-l') && !flag(f, '--debug') && !flag(f, '-D') && f.info.Debug === false),
  },
  {
    id: '2.4',
    title: 'Ensure Docker is allowed to make changes to iptables',
    kind: 'default',
    run: (f) => ok(!f.argv.includes('--iptables=false')),
  },
  {
    id: '2.5',
    title: 'Ensure insecure registries are not used',
    kind: 'default',
    run: (f) => ok(!flag(f, '--insecure-registry'), 'loopback registries are insecure by default, as in dockerd'),
  },
  {
    id: '2.6',
    title: 'Ensure aufs storage driver is not used',
    kind: 'default',
    run: (f) => ok(f.info.Driver === 'overlay2', `storage driver ${f.info.Driver}`),
  },
  {
    id: '2.7',
    title: 'Ensure TLS authentication for Docker daemon is configured',
    kind: 'default',
    run: (f) =>
      ok(
        f.argv.includes('--tlsverify') && !f.unauthenticatedAnswered,
        'TCP listener with --tlsverify; a client without a certificate got no answer',
      ),
  },
  {
    id: '2.8',
    title: 'Ensure the default ulimit is configured appropriately',
    kind: 'default',
    run: (f) => {
      const m = /^Max open files\s+(\d+)\s+(\d+)/m.exec(f.limits);
      return ok(!!m && Number(m[1]) === 1024 && Number(m[2]) <= 524288, `container nofile ${m?.[1]}:${m?.[2]}`);
    },
  },
  {
    id: '2.9',
    title: 'Enable user namespace support',
    kind: 'n/a',
    // Not turned on by --hardened: it makes a system user, which e2e/userns.test.ts owns.
    how: 'berthd --userns-remap default (checked by e2e/userns.test.ts, not here: it creates the dockremap user)',
  },
  {
    id: '2.10',
    title: 'Ensure the default cgroup usage has been confirmed',
    kind: 'default',
    run: (f) => ok(!flag(f, '--cgroup-parent') && !hc(f).CgroupParent),
  },
  {
    id: '2.11',
    title: 'Ensure base device size is not changed until needed',
    kind: 'default',
    run: (f) => ok(!flag(f, '--storage-opt')),
  },
  {
    id: '2.12',
    title: 'Ensure that authorization for Docker client commands is enabled',
    kind: 'n/a',
    how: 'Berth has no authorization plugins; access is the socket group and mutual TLS',
  },
  {
    id: '2.13',
    title: 'Ensure centralized and remote logging is configured',
    kind: 'n/a',
    how: 'Berth has no remote log drivers (json-file, local, none)',
  },
  {
    id: '2.14',
    title: 'Ensure containers are restricted from acquiring new privileges',
    kind: 'opt-in',
    how: 'berthd --no-new-privileges',
    run: (f) => ok(f.argv.includes('--no-new-privileges')),
  },
  {
    id: '2.15',
    title: 'Ensure live restore is enabled',
    kind: 'opt-in',
    how: 'berthd --live-restore',
    run: (f) => ok(f.info.LiveRestoreEnabled === true),
  },
  {
    id: '2.16',
    title: 'Ensure Userland Proxy is Disabled',
    kind: 'n/a',
    how: 'Berth publishes ports only through its userland proxy (no hairpin NAT to fall back on)',
  },
  {
    id: '2.17',
    title: 'Ensure that a daemon-wide custom seccomp profile is applied if appropriate',
    kind: 'default',
    run: (f) =>
      ok(
        (f.info.SecurityOptions ?? []).some((o: string) => o.startsWith('name=seccomp')) &&
          /^Seccomp:\s*2/m.test(f.status),
        "Docker's default profile, in filter mode in the container",
      ),
  },
  {
    id: '2.18',
    title: 'Ensure that experimental features are not implemented in production',
    kind: 'default',
    run: (f) => ok(f.version.Server?.Experimental !== true),
  },
  // ------------------------------------------------------------ 3: files
  {
    id: '3.1',
    title: 'Ensure that the docker.service file ownership is set to root:root',
    kind: 'n/a',
    how: 'Berth ships no systemd unit',
  },
  {
    id: '3.2',
    title: 'Ensure that docker.service file permissions are appropriately set',
    kind: 'n/a',
    how: 'Berth ships no systemd unit',
  },
  {
    id: '3.3',
    title: 'Ensure that docker.socket file ownership is set to root:root',
    kind: 'n/a',
    how: 'Berth ships no systemd unit',
  },
  {
    id: '3.4',
    title: 'Ensure that docker.socket file permissions are set to 644 or more restrictive',
    kind: 'n/a',
    how: 'Berth ships no systemd unit',
  },
  {
    id: '3.5',
    title: 'Ensure that the /etc/docker directory ownership is set to root:root (and /etc/berth)',
    kind: 'default',
    run: () => {
      const dirs = ['/etc/docker', '/etc/berth'].filter(existsSync);
      return ok(
        dirs.every((d) => owner(d).uid === 0 && owner(d).gid === 0),
        dirs.length ? dirs.join(', ') : 'neither exists',
      );
    },
  },
  {
    id: '3.6',
    title: 'Ensure that /etc/docker directory permissions are set to 755 or more restrictively (and /etc/berth)',
    kind: 'default',
    run: () => {
      const dirs = ['/etc/docker', '/etc/berth'].filter(existsSync);
      return ok(
        dirs.every((d) => atMost(d, 0o755)),
        dirs.map((d) => `${d} ${octal(mode(d))}`).join(', ') || 'neither exists',
      );
    },
  },
  {
    id: '3.7',
    title: 'Ensure that registry certificate file ownership is set to root:root',
    kind: 'default',
    run: (f) => {
      const crts = f.certsDirs.flatMap((d) => filesUnder(d, '.crt'));
      return ok(
        crts.length > 0 && crts.every((p) => owner(p).uid === 0 && owner(p).gid === 0),
        `${crts.length} file(s)`,
      );
    },
  },
  {
    id: '3.8',
    title: 'Ensure that registry certificate file permissions are set to 444 or more restrictively',
    kind: 'default',
    run: (f) => {
      const crts = f.certsDirs.flatMap((d) => filesUnder(d, '.crt'));
      return ok(crts.length > 0 && crts.every((p) => atMost(p, 0o444)), crts.map((p) => octal(mode(p))).join(', '));
    },
  },
  ...(
    [
      ['3.9', '3.10', 'TLS CA certificate', (f: Facts) => f.pki.ca, 0o444],
      ['3.11', '3.12', 'Docker server certificate', (f: Facts) => f.pki.serverCert, 0o444],
      ['3.13', '3.14', 'Docker server certificate key', (f: Facts) => f.pki.serverKey, 0o400],
    ] as const
  ).flatMap(([own, perm, what, file, max]): Check[] => [
    {
      id: own,
      title: `Ensure that ${what} file ownership is set to root:root`,
      kind: 'default',
      run: (f) => ok(owner(file(f)).uid === 0 && owner(file(f)).gid === 0),
    },
    {
      id: perm,
      title: `Ensure that ${what} file permissions are set to ${octal(max).slice(1)}${max === 0o400 ? '' : ' or more restrictively'}`,
      kind: 'default',
      run: (f) => ok(atMost(file(f), max), octal(mode(file(f)))),
    },
  ]),
  {
    id: '3.15',
    title: 'Ensure that the Docker socket file ownership is set to root:docker (berth: root:berth)',
    kind: 'default',
    run: (f) => {
      const gid = Number(spawnSync('getent', ['group', f.group], { encoding: 'utf8' }).stdout.split(':')[2]);
      return ok(owner(f.sock).uid === 0 && owner(f.sock).gid === gid && gid > 0, `group ${f.group} (${gid})`);
    },
  },
  {
    id: '3.16',
    title: 'Ensure that the Docker socket file permissions are set to 660 or more restrictively',
    kind: 'default',
    run: (f) => ok(atMost(f.sock, 0o660), octal(mode(f.sock))),
  },
  {
    id: '3.17',
    title: 'Ensure that the daemon.json file ownership is set to root:root',
    kind: 'n/a',
    how: 'berthd has no configuration file',
  },
  {
    id: '3.18',
    title: 'Ensure that daemon.json file permissions are set to 644 or more restrictive',
    kind: 'n/a',
    how: 'berthd has no configuration file',
  },
  {
    id: '3.19',
    title: 'Ensure that the /etc/default/docker file ownership is set to root:root',
    kind: 'n/a',
    how: 'no /etc/default file',
  },
  {
    id: '3.20',
    title: 'Ensure that the /etc/default/docker file permissions are set to 644 or more restrictively',
    kind: 'n/a',
    how: 'no /etc/default file',
  },
  {
    id: '3.21',
    title: 'Ensure that the /etc/sysconfig/docker file permissions are set to 644 or more restrictively',
    kind: 'n/a',
    how: 'no /etc/sysconfig file',
  },
  {
    id: '3.22',
    title: 'Ensure that the /etc/sysconfig/docker file ownership is set to root:root',
    kind: 'n/a',
    how: 'no /etc/sysconfig file',
  },
  {
    id: '3.23',
    title:
      'Ensure that the Containerd socket file ownership is set to root:root (berth: the exec root, where conmon keeps its sockets)',
    kind: 'default',
    run: (f) => ok(owner(f.execRoot).uid === 0 && owner(f.execRoot).gid === 0),
  },
  {
    id: '3.24',
    title:
      'Ensure that the Containerd socket file permissions are set to 660 or more restrictively (berth: exec root 0700)',
    kind: 'default',
    run: (f) => ok(mode(f.execRoot) === 0o700, octal(mode(f.execRoot))),
  },
  {
    id: '3.B1',
    title: 'Berth: the data root is root:root 0711, as dockerd makes /var/lib/docker',
    kind: 'default',
    run: (f) => ok(owner(f.dataRoot).uid === 0 && mode(f.dataRoot) === 0o711, octal(mode(f.dataRoot))),
  },
  {
    id: '3.B2',
    title: 'Berth: nothing directly under the data root can be read or written by others (metadata.db 0600)',
    kind: 'default',
    run: (f) => {
      const open = readdirSync(f.dataRoot).filter((n) => mode(join(f.dataRoot, n)) & 0o006);
      const db = mode(join(f.dataRoot, 'metadata.db'));
      const known = Object.keys(DATA_ROOT_ENTRIES).filter((n) => existsSync(join(f.dataRoot, n))).length;
      return ok(
        open.length === 0 && db === 0o600,
        open.length ? `open: ${open.join(', ')}` : `${known} entries checked`,
      );
    },
  },
  // ------------------------------------------------------------ 5: container runtime
  {
    id: '5.1',
    title: 'Ensure swarm mode is not Enabled, if not needed',
    kind: 'default',
    run: (f) => ok(f.info.Swarm?.LocalNodeState === 'inactive'),
  },
  {
    id: '5.2',
    title: 'Ensure that, if applicable, an AppArmor Profile is enabled',
    kind: 'default',
    run: (f) =>
      f.apparmor
        ? ok(!!f.c.AppArmorProfile, 'AppArmor is enabled on this host')
        : ok(true, 'AppArmor is not enabled on this host'),
  },
  {
    id: '5.3',
    title: 'Ensure that, if applicable, SELinux security options are set',
    kind: 'default',
    run: (f) =>
      f.selinux
        ? ok(false, 'SELinux is enabled and Berth sets no labels')
        : ok(true, 'SELinux is not enabled on this host'),
  },
  {
    id: '5.4',
    title: 'Ensure that Linux kernel capabilities are restricted within containers',
    kind: 'default',
    run: (f) => {
      const extra = capEff(f).filter((c) => !DEFAULT_CAPABILITIES.includes(c));
      return ok(
        !(hc(f).CapAdd ?? []).length && extra.length === 0,
        extra.length ? `extra: ${extra.join(' ')}` : "Docker's default set",
      );
    },
  },
  {
    id: '5.5',
    title: 'Ensure that privileged containers are not used',
    kind: 'default',
    run: (f) => ok(hc(f).Privileged === false),
  },
  {
    id: '5.6',
    title: 'Ensure sensitive host system directories are not mounted on containers',
    kind: 'default',
    run: (f) => {
      const sensitive = ['/', '/boot', '/dev', '/etc', '/lib', '/proc', '/sys', '/usr'];
      return ok(!(f.c.Mounts ?? []).some((m: { Source?: string }) => sensitive.includes(m.Source ?? '')));
    },
  },
  {
    id: '5.7',
    title: 'Ensure sshd is not run within containers',
    kind: 'default',
    run: (f) =>
      ok(
        !spawnSync(DOCKER, ['-H', `unix://${f.sock}`, 'exec', f.c.Id, 'ps'], { encoding: 'utf8' }).stdout.includes(
          'sshd',
        ),
      ),
  },
  {
    id: '5.8',
    title: 'Ensure privileged ports are not mapped within containers',
    kind: 'default',
    run: (f) => ok(!publishedHostPorts(f).some((p) => p.port > 0 && p.port < 1024)),
  },
  { id: '5.9', title: 'Ensure that only needed ports are open on the container', kind: 'n/a', how: 'a manual review' },
  {
    id: '5.10',
    title: "Ensure that the host's network namespace is not shared",
    kind: 'default',
    run: (f) => ok(hc(f).NetworkMode !== 'host'),
  },
  {
    id: '5.11',
    title: 'Ensure that the memory usage for containers is limited',
    kind: 'opt-in',
    how: 'docker run --memory',
    run: (f) => ok(hc(f).Memory > 0),
  },
  {
    id: '5.12',
    title: 'Ensure that CPU priority is set appropriately on containers',
    kind: 'opt-in',
    how: 'docker run --cpu-shares',
    run: (f) => ok(hc(f).CpuShares > 0 && hc(f).CpuShares !== 1024),
  },
  {
    id: '5.13',
    title: "Ensure that the container's root filesystem is mounted as read only",
    kind: 'opt-in',
    how: 'docker run --read-only',
    run: (f) => ok(hc(f).ReadonlyRootfs === true),
  },
  {
    id: '5.14',
    title: 'Ensure that incoming container traffic is bound to a specific host interface',
    kind: 'default',
    run: (f) =>
      ok(
        !publishedHostPorts(f).some((p) => !p.ip || p.ip === '0.0.0.0' || p.ip === '::'),
        `${publishedHostPorts(f).length} published`,
      ),
  },
  {
    id: '5.15',
    title: "Ensure that the 'on-failure' container restart policy is set to '5'",
    kind: 'default',
    run: (f) => ok(hc(f).RestartPolicy?.Name !== 'on-failure' || hc(f).RestartPolicy?.MaximumRetryCount === 5),
  },
  {
    id: '5.16',
    title: "Ensure that the host's process namespace is not shared",
    kind: 'default',
    run: (f) => ok(hc(f).PidMode !== 'host'),
  },
  {
    id: '5.17',
    title: "Ensure that the host's IPC namespace is not shared",
    kind: 'default',
    run: (f) => ok(hc(f).IpcMode !== 'host'),
  },
  {
    id: '5.18',
    title: 'Ensure that host devices are not directly exposed to containers',
    kind: 'default',
    run: (f) => ok(!(hc(f).Devices ?? []).length),
  },
  {
    id: '5.19',
    title: 'Ensure that the default ulimit is overwritten at runtime if needed',
    kind: 'default',
    run: (f) => ok((hc(f).Ulimits ?? []).length > 0, "berthd's default shown in inspect, as dockerd merges it"),
  },
  {
    id: '5.20',
    title: 'Ensure mount propagation mode is not set to shared',
    kind: 'default',
    run: (f) =>
      ok(
        !(f.c.Mounts ?? []).some(
          (m: { Propagation?: string }) => m.Propagation === 'shared' || m.Propagation === 'rshared',
        ),
      ),
  },
  {
    id: '5.21',
    title: "Ensure that the host's UTS namespace is not shared",
    kind: 'default',
    run: (f) => ok(hc(f).UTSMode !== 'host'),
  },
  {
    id: '5.22',
    title: 'Ensure the default seccomp profile is not Disabled',
    kind: 'default',
    run: (f) =>
      ok(
        !(hc(f).SecurityOpt ?? []).some((o: string) => /seccomp[=:]unconfined/.test(o)) &&
          /^Seccomp:\s*2/m.test(f.status),
      ),
  },
  {
    id: '5.23',
    title: 'Ensure that docker exec commands are not used with the privileged option',
    kind: 'n/a',
    how: 'needs the audit log of exec commands',
  },
  {
    id: '5.24',
    title: 'Ensure that docker exec commands are not used with the user=root option',
    kind: 'n/a',
    how: 'needs the audit log of exec commands',
  },
  { id: '5.25', title: 'Ensure that cgroup usage is confirmed', kind: 'default', run: (f) => ok(!hc(f).CgroupParent) },
  {
    id: '5.26',
    title: 'Ensure that the container is restricted from acquiring additional privileges',
    kind: 'opt-in',
    how: 'berthd --no-new-privileges, or --security-opt no-new-privileges',
    run: (f) => ok(/^NoNewPrivs:\s*1/m.test(f.status)),
  },
  {
    id: '5.27',
    title: 'Ensure that container health is checked at runtime',
    kind: 'opt-in',
    how: 'docker run --health-cmd',
    run: (f) => ok(!!f.c.State?.Health?.Status),
  },
  {
    id: '5.28',
    title: 'Ensure that Docker commands always make use of the latest version of their image',
    kind: 'n/a',
    how: 'a manual review',
  },
  {
    id: '5.29',
    title: 'Ensure that the PIDs cgroup limit is used',
    kind: 'opt-in',
    how: 'docker run --pids-limit',
    run: (f) => ok(hc(f).PidsLimit > 0),
  },
  {
    id: '5.30',
    title: "Ensure that Docker's default bridge 'docker0' is not used (berth: berth0)",
    kind: 'opt-in',
    how: 'docker run --network <user network>',
    run: (f) => ok(!['default', 'bridge'].includes(hc(f).NetworkMode)),
  },
  {
    id: '5.31',
    title: "Ensure that the host's user namespaces are not shared",
    kind: 'default',
    run: (f) => ok(hc(f).UsernsMode !== 'host'),
  },
  {
    id: '5.32',
    title: 'Ensure that the Docker socket is not mounted inside any containers',
    kind: 'default',
    run: (f) => ok(!(f.c.Mounts ?? []).some((m: { Source?: string }) => /(docker|berth)\.sock$/.test(m.Source ?? ''))),
  },
  // ------------------------------------------------------------ 99: community checks
  ...(['CAP_DAC_READ_SEARCH', 'CAP_SYS_MODULE', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] as const).map((cap, i): Check => ({
    id: `99.${i + 2}`,
    title: `Ensure that ${cap} Linux kernel capability is disabled`,
    kind: 'default',
    run: (f) => ok(!capEff(f).includes(cap)),
  })),
];

function publishedHostPorts(f: Facts): Array<{ ip: string; port: number }> {
  const out: Array<{ ip: string; port: number }> = [];
  for (const bindings of Object.values(f.c.NetworkSettings?.Ports ?? {}) as Array<Array<{
    HostIp: string;
    HostPort: string;
  }> | null>)
    for (const b of bindings ?? []) out.push({ ip: b.HostIp, port: Number(b.HostPort) });
  return out;
}

// ---------------------------------------------------------------- the daemon under test

function docker(sock: string, args: string[]): string {
  const r = spawnSync(DOCKER, ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Does a TLS client without a certificate get any HTTP answer from the listener? */
function answersWithoutCertificate(port: number, ca: string): Promise<boolean> {
  return new Promise((res) => {
    let data = '';
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(ca) });
    s.on('secureConnect', () => s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('data', (c) => (data += c));
    s.on('error', () => res(data.startsWith('HTTP/')));
    s.on('close', () => res(data.startsWith('HTTP/')));
  });
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'berth-security-checks-'));
  const sock = join(work, 'berth.sock');
  const dataRoot = join(work, 'data');
  const execRoot = join(work, 'run');
  const pki = makePki(join(work, 'pki'));
  const certsD = join(work, 'certs.d');
  mkdirSync(join(certsD, '127.0.0.1:5000'), { recursive: true });
  copyFileSync(pki.ca, join(certsD, '127.0.0.1:5000', 'ca.crt'));
  chmodSync(join(certsD, '127.0.0.1:5000', 'ca.crt'), 0o444);
  const port = await freePort();
  const argv = [
    '--data-root',
    dataRoot,
    '--exec-root',
    execRoot,
    '--pidfile',
    join(work, 'berthd.pid'),
    '-H',
    `unix://${sock}`,
    '-H',
    `tcp://127.0.0.1:${port}`,
    '--tlsverify',
    '--tlscacert',
    pki.ca,
    '--tlscert',
    pki.serverCert,
    '--tlskey',
    pki.serverKey,
    '--registry-certs-dir',
    certsD,
    '--bridge',
    'none',
    ...(hardened ? ['--icc=false', '--no-new-privileges', '--live-restore'] : []),
  ];
  const log: Buffer[] = [];
  const daemon = spawn(join(REPO, 'bin/berthd'), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout.on('data', (c: Buffer) => log.push(c));
  daemon.stderr.on('data', (c: Buffer) => log.push(c));
  const containers: string[] = [];
  let network = '';
  try {
    for (let i = 0; ; i++) {
      if (daemon.exitCode !== null) throw new Error(`berthd exited:\n${Buffer.concat(log)}`);
      if (existsSync(sock) && spawnSync(DOCKER, ['-H', `unix://${sock}`, 'version'], { timeout: 10_000 }).status === 0)
        break;
      if (i > 600) throw new Error('berthd did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }
    const boot = spawnSync(
      'curl',
      ['-s', '--unix-socket', sock, '-X', 'POST', 'http://berth/berth/v1/images/bootstrap?image=busybox'],
      { encoding: 'utf8' },
    );
    if (/"error"/.test(boot.stdout) || boot.status !== 0)
      throw new Error(`bootstrap busybox: ${boot.stdout}${boot.stderr}`);
    let runArgs = ['run', '-d', 'busybox', 'sleep', '600'];
    if (hardened) {
      network = `bench-sec-${process.pid}`;
      docker(sock, ['network', 'create', network]);
      const hostPort = await freePort();
      runArgs = [
        'run',
        '-d',
        '--network',
        network,
        '--memory',
        '64m',
        '--cpu-shares',
        '512',
        '--read-only',
        '--pids-limit',
        '100',
      ]
        .concat([
          '--restart',
          'on-failure:5',
          '--health-cmd',
          'true',
          '--health-interval',
          '1s',
          '--security-opt',
          'no-new-privileges',
        ])
        .concat(['-p', `127.0.0.1:${hostPort}:8080`, 'busybox', 'sleep', '600']);
    }
    const id = docker(sock, runArgs).trim();
    containers.push(id);
    if (hardened) await new Promise((r) => setTimeout(r, 2500)); // a first health check
    const c = JSON.parse(docker(sock, ['inspect', id]))[0];
    const pid = c.State.Pid;
    const facts: Facts = {
      argv,
      info: JSON.parse(docker(sock, ['info', '--format', '{{json .}}'])),
      version: JSON.parse(docker(sock, ['version', '--format', '{{json .}}'])),
      pki,
      sock,
      dataRoot,
      execRoot,
      certsDirs: [certsD],
      group: 'berth',
      c,
      status: readFileSync(`/proc/${pid}/status`, 'utf8'),
      limits: readFileSync(`/proc/${pid}/limits`, 'utf8'),
      unauthenticatedAnswered: await answersWithoutCertificate(port, pki.ca),
      apparmor: readOr('/sys/module/apparmor/parameters/enabled').trim() === 'Y',
      selinux: readOr('/sys/fs/selinux/enforce').trim() === '1',
    };
    return report(facts);
  } finally {
    for (const id of containers) spawnSync(DOCKER, ['-H', `unix://${sock}`, 'rm', '-f', id], { timeout: 60_000 });
    if (network) spawnSync(DOCKER, ['-H', `unix://${sock}`, 'network', 'rm', network], { timeout: 60_000 });
    daemon.kill('SIGTERM');
    await new Promise((r) => (daemon.exitCode !== null ? r(undefined) : daemon.once('exit', r)));
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(work));
    for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
    // the user networks' nftables table of a --bridge none daemon, named for its data root
    const table = `berth_nets_${createHash('sha256').update(dataRoot).digest('hex').slice(0, 8)}`;
    spawnSync('nft', ['delete', 'table', 'ip', table], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
}

function report(f: Facts): number {
  let failed = 0;
  const rows: string[][] = [];
  for (const check of CHECKS) {
    let result: string;
    let note = check.how ?? '';
    if (check.kind === 'n/a' || !check.run) result = 'N/A';
    else if (check.kind === 'opt-in' && !hardened) result = 'OPT-IN';
    else {
      let v: Verdict;
      try {
        v = check.run(f);
      } catch (e) {
        v = { ok: false, note: (e as Error).message };
      }
      result = v.ok ? 'PASS' : 'FAIL';
      note = [check.kind === 'opt-in' ? check.how : '', v.note].filter(Boolean).join('; ');
      if (!v.ok) failed++;
    }
    rows.push([check.id, result, check.title, note]);
  }
  const counts = (r: string) => rows.filter((x) => x[1] === r).length;
  if (markdown) {
    process.stdout.write('| check | result | docker-bench-security title | note |\n|---|---|---|---|\n');
    for (const [id, r, t, n] of rows) process.stdout.write(`| ${id} | ${r} | ${t} | ${n} |\n`);
  } else {
    for (const [id, r, t, n] of rows) process.stdout.write(`${id.padEnd(6)}${r.padEnd(8)}${t}${n ? `  [${n}]` : ''}\n`);
  }
  process.stdout.write(
    `\n${hardened ? 'hardened' : 'default'} berthd: ${counts('PASS')} pass, ${counts('FAIL')} fail, ${counts('OPT-IN')} opt-in, ${counts('N/A')} not applicable\n`,
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`security-checks: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
