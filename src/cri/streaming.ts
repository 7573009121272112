/**
 * The RuntimeService's Exec, Attach and PortForward: each checks its request and answers the
 * URL of the streaming server (src/streaming) where the client then streams, as kubelet
 * expects. What runs behind those URLs is the StreamingRuntime the server was given; the
 * daemon wires one in once CRI containers and pod sandboxes exist.
 */
import type { StreamingServer } from '../streaming/index.ts';
import type { Handlers } from './server.ts';

interface ExecReq {
  container_id: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}
type AttachReq = Omit<ExecReq, 'cmd'>;
interface PortForwardReq {
  pod_sandbox_id: string;
  port: number[];
}

export function streamingHandlers(s: StreamingServer): Handlers {
  return {
    async Exec(r: ExecReq) {
      return {
        url: s.exec({
          containerId: r.container_id,
          cmd: r.cmd,
          tty: r.tty,
          stdin: r.stdin,
          stdout: r.stdout,
          stderr: r.stderr,
        }),
      };
    },
    async Attach(r: AttachReq) {
      return {
        url: s.attach({ containerId: r.container_id, tty: r.tty, stdin: r.stdin, stdout: r.stdout, stderr: r.stderr }),
      };
    },
    async PortForward(r: PortForwardReq) {
      return { url: s.portForward({ podSandboxId: r.pod_sandbox_id, ports: r.port.map(Number) }) };
    },
  };
}
