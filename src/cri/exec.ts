/**
 * The runtime behind the CRI's Exec and ExecSync for the containers Berth runs: the exec
 * service `docker exec` uses, on the container's Berth ID (as cri-dockerd does with dockerd), so
 * `crictl exec <id>` and `docker exec <id>` start the same kind of process. Its output comes
 * from the exec's log as the Engine API's exec start streams it; stdin and terminal sizes go
 * where `docker exec -it` sends them.
 *
 * An exec whose caller leaves, or whose ExecSync timeout runs out, is killed by the pid its
 * start reported, as the health monitor kills a probe that overran. Attach and PortForward act
 * on CRI containers and sandboxes, which do not exist yet: they are refused here.
 */
import { notImplemented } from '../errdefs/index.ts';
import type { ExecService } from '../services/exec/index.ts';
import type { StreamingRuntime } from '../streaming/index.ts';

function kill(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function execRuntime(execs: ExecService): StreamingRuntime {
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
        if (io.stdin) void execs.attachStdin(e, io.stdin);
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
    async attach() {
      throw notImplemented('attach is not served by Berth yet: it needs CRI containers');
    },
    async portForward() {
      throw notImplemented('port forwarding is not served by Berth yet: it needs pod sandboxes');
    },
  };
}
