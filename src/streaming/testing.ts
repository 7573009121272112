/**
 * A StreamingRuntime for tests, with commands whose output says what the protocol carried:
 * `cat` copies stdin to stdout until stdin ends (exit 0); `exit N` ends with N; `echo A B`
 * writes "A B\n" to stdout and "err\n" to stderr; `sleep N` runs N seconds or until its signal
 * kills it (then listed in `killed`); `flood N` writes N bytes; `size` waits for a terminal size and
 * prints "WxH\n"; `fail` throws. attach writes "attached\n", then copies stdin like `cat`.
 * portForward connects to 127.0.0.1:<port> — a local server stands for the pod's.
 */
import { connect } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import type { StreamingRuntime } from './server.ts';
import { runZ } from './spdy.ts';
import { SPDY_DICTIONARY } from './spdy-dictionary.ts';
import {
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  FrameParser,
  type Headers,
  type SpdyFrame,
} from './spdy-frames.ts';

function copy(from: Readable | undefined, to: Writable | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!from) return resolve();
    from.on('data', (c: Buffer) => to?.write(c));
    from.once('end', () => resolve());
    from.once('close', () => resolve());
  });
}

export function fakeStreamingRuntime(): StreamingRuntime & { calls: string[]; killed: string[] } {
  const calls: string[] = [];
  const killed: string[] = [];
  return {
    calls,
    killed,
    async exec(req, io, signal) {
      calls.push(`exec ${req.containerId} ${req.cmd.join(' ')}`);
      const [cmd, ...args] = req.cmd;
      switch (cmd) {
        case 'cat':
          await copy(io.stdin, io.stdout);
          return 0;
        case 'exit':
          return Number(args[0] ?? 0);
        case 'echo':
          io.stdout?.write(`${args.join(' ')}\n`);
          io.stderr?.write('err\n');
          return 0;
        case 'sleep':
          // Runs until killed: the signal is the kill.
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, Number(args[0] ?? 60) * 1000);
            signal.addEventListener('abort', () => {
              clearTimeout(t);
              resolve();
            });
          });
          killed.push(req.containerId);
          return signal.aborted ? 137 : 0;
        case 'flood':
          io.stdout?.write(Buffer.alloc(Number(args[0]), 'x'));
          return 0;
        case 'size':
          return await new Promise<number>((resolve) =>
            io.onResize((s) => {
              io.stdout?.write(`${s.width}x${s.height}\n`);
              resolve(0);
            }),
          );
        default:
          throw new Error(`executable file not found in $PATH: "${cmd}"`);
      }
    },
    async attach(req, io) {
      calls.push(`attach ${req.containerId}`);
      io.stdout?.write('attached\n');
      await copy(io.stdin, io.stdout);
    },
    async portForward(sandbox, port, stream: Duplex, signal) {
      calls.push(`portforward ${sandbox} ${port}`);
      const sock = connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      signal.addEventListener('abort', () => sock.destroy());
      await new Promise<void>((resolve) => {
        stream.pipe(sock);
        sock.pipe(stream);
        sock.once('close', () => resolve());
        stream.once('end', () => sock.end());
      });
    },
  };
}

const hex = (s: string) => Buffer.from(s, 'hex');

/**
 * What crictl 1.26.1 (client-go 0.26 over moby/spdystream 0.2) sent after its upgrade request,
 * recorded from the wire (a proxy between it and this server, against the fake runtime above):
 * - EXEC_CAT: `printf 'hello\n' | crictl exec -i c1 cat` — streams error(1), stdin(3),
 *   stdout(5), stderr(7); "hello\n" on stdin, then stdin's FIN;
 * - EXEC_EXIT: `crictl exec c1 exit 3` — error(1), stdout(3), stderr(5);
 * - EXEC_TTY: `crictl exec -it c1 size` in a 100x30 terminal — error(1), stdin(3), stdout(5),
 *   resize(7) carrying {"Width":100,"Height":30}, then a byte of stdin;
 * - PORT_FORWARD: `crictl port-forward p1 28081:18081` and one connection sending "ping" —
 *   error(1, port 18081, requestID 0, FIN at once), data(3), "ping", data's FIN, then GOAWAY.
 * The header blocks are compressed by Go's zlib with the SPDY dictionary: decoding them is the
 * point of these.
 */
export const CRICTL_SPDY = {
  EXEC_CAT: hex(
    '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ff' +
      'ff800300010000001700000003000000000000c22e555c92929907000000ffff80030001000000190000000500000000' +
      '0000c22ac5565c92925f5a02000000ffff800300010000001500000007000000000000c229975a5404000000ffff0000' +
      '00030000000668656c6c6f0a0000000301000000',
  ),
  EXEC_EXIT: hex(
    '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ff' +
      'ff800300010000001900000003000000000000c22ac5565c92925f5a02000000ffff8003000100000015000000050000' +
      '00000000c229975a5404000000ffff',
  ),
  EXEC_TTY: hex(
    '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ff' +
      'ff800300010000001700000003000000000000c22e555c92929907000000ffff80030001000000190000000500000000' +
      '0000c22ac5565c92925f5a02000000ffff800300010000001800000007000000000000c22e57945a9c59950a000000ff' +
      'ff000000070000001a7b225769647468223a3130302c22486569676874223a33307d0a000000030000000100',
  ),
  PORT_FORWARD: hex(
    '800300010000003f0000000100000000000078f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45a024cc' +
      '6a686160014aa09c459078cc04a56f460300000000ffff00000001010000008003000100000018000000030000000000' +
      '00c2aa1b54102512a119000000ffff000000030000000470696e67000000030100000080030007000000080000000000' +
      '000000',
  ),
};

/** The upgrade request client-go sends, for a path on this server. */
export function spdyUpgradeRequest(path: string, protocols: string[]): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\n` +
    `Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n` +
    protocols.map((p) => `X-Stream-Protocol-Version: ${p}\r\n`).join('') +
    '\r\n'
  );
}

/** A SPDY peer's frames, with header blocks decompressed (one zlib stream, as on the wire). */
export async function readSpdyFrames(bytes: Buffer): Promise<Array<SpdyFrame & { headers?: Headers }>> {
  const inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  const out: Array<SpdyFrame & { headers?: Headers }> = [];
  for (const f of new FrameParser().push(bytes)) {
    if ('headerBlock' in f) out.push({ ...f, headers: decodeHeaderBlock(await runZ(inflate, f.headerBlock)) });
    else out.push(f);
  }
  inflate.close();
  return out;
}

/** A client's SPDY frames: SYN_STREAMs with compressed headers (one zlib stream), DATA as given. */
export async function writeSpdyFrames(
  frames: Array<{ open: number; headers: Headers; fin?: boolean } | { data: number; bytes: Buffer; fin?: boolean }>,
): Promise<Buffer> {
  const deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
  const out: Buffer[] = [];
  for (const f of frames) {
    if ('open' in f)
      out.push(
        encodeFrame({
          type: 'syn_stream',
          streamId: f.open,
          associatedId: 0,
          priority: 0,
          fin: f.fin ?? false,
          unidirectional: false,
          headerBlock: await runZ(deflate, encodeHeaderBlock(f.headers)),
        }),
      );
    else out.push(encodeFrame({ type: 'data', streamId: f.data, fin: f.fin ?? false, data: f.bytes }));
  }
  deflate.close();
  return Buffer.concat(out);
}
