/**
 * The runtime behind the CRI's Exec and ExecSync for the containers Berth runs: the exec
 * service `docker exec` uses, on the container's Berth ID (as cri-dockerd does with dockerd), so
 * `crictl exec <id>` and `docker exec <id>` start the same kind of process. Its output comes
 * from the exec's log as the Engine API's exec start streams it; stdin and terminal sizes go
 * where `docker exec -it` sends them, but without Docker's detach keys (containerd has none:
 * kubelet's clients send ctrl-p ctrl-q to the process).
 *
 * An exec whose caller leaves, or whose ExecSync timeout runs out, is killed by the pid its
 * start reported, as the health monitor kills a probe that overran.
 *
 * Attach joins a container's own streams as `docker attach` does (its log from now on, its
 * stdin), without Docker's detach keys, which kubelet's clients do not know. PortForward dials
 * the port on the sandbox's address from the host: the pod's network namespace answers there,
 * on the CNI network or Berth's bridge (a host-network sandbox on 127.0.0.1).
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { conflict, notFound } from '../errdefs/index.ts';
import type { ContainerService } from '../services/containers/index.ts';
import type { ExecService } from '../services/exec/index.ts';
import type { StreamingRuntime } from '../streaming/index.ts';
import type { CriPods } from './pods.ts';
import { sandboxIps } from './sandboxes.ts';

function kill(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function execRuntime(
  execs: ExecService,
  cri?: { pods: CriPods; containers: ContainerService },
): StreamingRuntime {
  return {
    async exec(req, io, signal) {
      const { Id } = execs.create(req.containerId, {
        Cmd: req.cmd,
        AttachStdin: req.stdin,
        AttachStdout: req.stdout,
        AttachStderr: req.stderr,
        Tty: req.tty,
      });
      const e = await execs.start(Id);
      const ac = new AbortController();
      const onAbort = () => {
        ac.abort();
        kill(e.Pid);
      };
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort);
      try {
        io.onResize((s) => void execs.resize(Id, s.height, s.width).catch(() => {}));
        // No detach keys: ctrl-p ctrl-q are the process's, as with containerd.
        if (io.stdin) void execs.attachStdin(e, io.stdin, { detachKeys: false });
        try {
          for await (const entry of execs.output(e, ac.signal)) {
            // A terminal has one stream; without one, each goes where it was asked for.
            const w = req.tty || entry.stream === 'stdout' ? io.stdout : io.stderr;
            if (w && !w.write(entry.data)) await new Promise((r) => w.once('drain', r));
          }
        } catch (err) {
          if ((err as Error).name !== 'AbortError') throw err;
        }
        return await e.exit!;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    async attach(req, io, signal) {
      if (!cri) throw notFound(`container "${req.containerId}" not found`);
      const svc = cri.containers;
      const c = svc.get(req.containerId);
      if (!c.State.Running) throw conflict(`container "${req.containerId}" is not running`);
      io.onResize((s) => void svc.resize(c.Id, s.height, s.width).catch(() => {}));
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      signal.addEventListener('abort', onAbort);
      try {
        const untilExit = svc.nextExit(c.Id);
        if (io.stdin) void svc.attachStdin(c.Id, io.stdin, Buffer.alloc(0)).catch(() => {});
        const entries = svc.logs(c, { follow: true, since: new Date(), signal: ac.signal, untilExit });
        try {
          for await (const entry of entries) {
            const w = req.tty || entry.stream === 'stdout' ? io.stdout : io.stderr;
            if (w && !w.write(entry.data)) await new Promise((r) => w.once('drain', r));
          }
        } catch (err) {
          if ((err as Error).name !== 'AbortError') throw err;
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    async portForward(podSandboxId, port, stream, signal) {
      if (!cri) throw notFound(`sandbox "${podSandboxId}" not found`);
      const { meta, infra } = cri.pods.sandbox(podSandboxId);
      if (!infra?.State.Running) throw conflict(`sandbox "${podSandboxId}" is not running`);
      const host = meta.namespaces.network === 'NODE' ? '127.0.0.1' : sandboxIps(meta, infra)[0];
      if (!host) throw conflict(`sandbox "${podSandboxId}" has no network address`);
      await pipeTo(connect({ host, port }), stream, signal);
    },
  };
}

/** Copies both ways between the client's stream and the connection until either side ends. */
function pipeTo(sock: Duplex, stream: Duplex, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let connected = false;
    const done = (err?: Error) => {
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err && !connected) reject(err);
      else resolve();
    };
    const onAbort = () => done();
    signal.addEventListener('abort', onAbort);
    sock.once('connect', () => {
      connected = true;
      stream.pipe(sock);
      sock.pipe(stream);
    });
    sock.once('error', (e) => done(e));
    sock.once('close', () => done());
    stream.once('close', () => done());
  });
}
