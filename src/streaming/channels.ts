/**
 * Kubernetes' stream protocols above the transports, as kubelet's streaming server speaks
 * them (k8s.io/kubelet/pkg/cri/streaming): which sub-protocol versions exist, how one is agreed
 * on, what goes on the error stream when a command ends, and the terminal sizes of the resize
 * stream. Pure: no I/O here.
 *
 * - SPDY (`X-Stream-Protocol-Version`): `v4.channel.k8s.io` down to `channel.k8s.io` for exec
 *   and attach, one SPDY stream per standard stream, named by its `streamType` header;
 *   `portforward.k8s.io` for port forwarding, a data and an error stream per connection.
 * - WebSocket (`Sec-WebSocket-Protocol`): every message starts with its channel's byte, 0 stdin,
 *   1 stdout, 2 stderr, 3 error, 4 resize; `v5.channel.k8s.io` adds 255, "close the channel
 *   named in the next byte" (a client's end of stdin). The `base64.` variants send text: the
 *   channel as an ASCII digit, then the data in base64.
 */

/** SPDY sub-protocols for exec and attach, newest first (Berth's order of preference). */
export const SPDY_REMOTECOMMAND = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
export const SPDY_PORTFORWARD = ['portforward.k8s.io'];

/** WebSocket sub-protocols for exec and attach. */
export const WS_REMOTECOMMAND = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
];
/** WebSocket sub-protocols for port forwarding. */
export const WS_PORTFORWARD = [
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
];

export const Channel = { STDIN: 0, STDOUT: 1, STDERR: 2, ERROR: 3, RESIZE: 4, CLOSE: 255 } as const;

/** SPDY `streamType` header values. */
export const StreamType = {
  STDIN: 'stdin',
  STDOUT: 'stdout',
  STDERR: 'stderr',
  ERROR: 'error',
  RESIZE: 'resize',
  DATA: 'data',
} as const;

/**
 * The protocol both sides speak: the client's first choice the server knows (apimachinery's
 * httpstream.Handshake and wsstream's handshake both go by the client's order). A client
 * that names none gets the oldest, unversioned one; `undefined` means there is no common one.
 */
export function negotiate(offered: readonly string[], supported: readonly string[]): string | undefined {
  if (offered.length === 0) return supported.filter((p) => !isBase64Protocol(p)).at(-1);
  return offered.find((p) => supported.includes(p));
}

export function isBase64Protocol(p: string): boolean {
  return p.includes('base64.');
}

/** Whether a version reports exit codes as a Status object (v4 on) rather than as text. */
export function reportsStatus(p: string): boolean {
  return p.startsWith('v4.') || p.startsWith('v5.');
}

export function supportsStreamClose(p: string): boolean {
  return p === 'v5.channel.k8s.io';
}

/** SPDY exec and attach before v3 have no resize stream; v1 sends stderr even with a tty. */
export function spdyHasResize(p: string): boolean {
  return p === 'v3.channel.k8s.io' || p === 'v4.channel.k8s.io';
}

/**
 * What the error stream carries when a command ends, for a v4/v5 client: a metav1.Status
 * (client-go reads `status`, `reason` and the `ExitCode` cause). Older clients get the error's
 * text, and nothing on success.
 */
export function exitStatus(protocol: string, exitCode: number | undefined, error?: string): Buffer | undefined {
  if (!reportsStatus(protocol)) {
    if (error) return Buffer.from(error);
    if (exitCode) return Buffer.from(`command terminated with non-zero exit code: ${exitCode}`);
    return undefined;
  }
  if (error) return Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: error }));
  if (!exitCode) return Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }));
  return Buffer.from(
    JSON.stringify({
      metadata: {},
      status: 'Failure',
      message: `command terminated with non-zero exit code: exit code ${exitCode}`,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
    }),
  );
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * The resize stream: client-go writes one JSON object per size (`{"Width":80,"Height":24}`,
 * each followed by a newline on SPDY; one per message on WebSocket). Bytes go in as they come,
 * whole sizes come out; a size that is not one (zero, negative, garbage) is skipped.
 */
export class ResizeDecoder {
  private buf = '';

  push(chunk: Buffer | string): TerminalSize[] {
    this.buf += chunk.toString();
    const out: TerminalSize[] = [];
    for (;;) {
      const end = objectEnd(this.buf);
      if (end < 0) break;
      const text = this.buf.slice(this.buf.indexOf('{'), end);
      this.buf = this.buf.slice(end);
      try {
        const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
        const width = Number(v.Width);
        const height = Number(v.Height);
        if (
          Number.isInteger(width) &&
          Number.isInteger(height) &&
          width > 0 &&
          height > 0 &&
          width < 65536 &&
          height < 65536
        )
          out.push({ width, height });
      } catch {
        // Not JSON: dropped, as kubelet logs and goes on.
      }
    }
    if (this.buf.length > 4096) this.buf = '';
    return out;
  }
}

/** Where the first whole `{...}` in s ends (after it), or -1; leading junk is skipped over. */
function objectEnd(s: string): number {
  const start = s.indexOf('{');
  if (start < 0) return -1;
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

/** A port forward's first two bytes on each WebSocket channel: the port, little endian. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}
