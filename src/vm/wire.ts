/**
 * The wire of vm-wire.h, in TypeScript: records (`key=value` strings each ending in a NUL
 * byte — what START and EXEC carry and what shim.conf holds) and frames (type, session,
 * length, payload). `berth-vm start` speaks it to the shim's control socket; the C programs
 * speak it to each other. Keep the two in step: the byte layout is in vm-wire.h.
 *
 * @example
 *   const payload = encodeRecords([['arg', 'sh'], ['arg', '-c'], ['env', 'PATH=/bin']]);
 *   socket.write(encodeFrame(FrameType.Start, 0, payload));
 */

export const FrameType = {
  Start: 'S',
  Exec: 'E',
  Stdin: 'I',
  StdinEof: 'D',
  Signal: 'K',
  WinSize: 'W',
  Ps: 'L',
  Ready: 'Y',
  Started: 'P',
  Failed: 'F',
  Stdout: '1',
  Stderr: '2',
  Exit: 'X',
  Procs: 'T',
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export interface Frame {
  type: string;
  session: number;
  payload: Buffer;
}

export const FRAME_HEADER = 9;
export const FRAME_MAX = 1 << 20;

/** One record: a key and its value (neither may hold a NUL byte; the key no `=`). */
export type Rec = readonly [key: string, value: string];

/** Records as the C side reads them: `key=value\0` each, in order (later ones may repeat keys). */
export function encodeRecords(records: readonly Rec[]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of records) {
    if (!k || k.includes('=') || k.includes('\0')) throw new Error(`bad record key ${JSON.stringify(k)}`);
    if (v.includes('\0')) throw new Error(`the value of ${k} holds a NUL byte`);
    parts.push(Buffer.from(`${k}=${v}\0`, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** The records of a payload, in order; a record without `=` is skipped, as the C side does. */
export function decodeRecords(b: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] !== 0) continue;
    const rec = b.subarray(start, i).toString('utf8');
    start = i + 1;
    const eq = rec.indexOf('=');
    if (eq > 0) out.push([rec.slice(0, eq), rec.slice(eq + 1)]);
  }
  return out;
}

export function encodeFrame(type: string, session: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (type.length !== 1) throw new Error(`bad frame type ${JSON.stringify(type)}`);
  if (payload.length > FRAME_MAX) throw new Error(`frame of ${payload.length} bytes is too large`);
  const h = Buffer.alloc(FRAME_HEADER);
  h[0] = type.charCodeAt(0);
  h.writeUInt32BE(session >>> 0, 1);
  h.writeUInt32BE(payload.length, 5);
  return Buffer.concat([h, payload]);
}

/** Cuts a byte stream into frames: feed it chunks, take the whole frames it has. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the frames now complete. Throws on a frame larger than FRAME_MAX. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buf.length >= FRAME_HEADER) {
      const len = this.buf.readUInt32BE(5);
      if (len > FRAME_MAX) throw new Error(`frame of ${len} bytes is too large`);
      if (this.buf.length < FRAME_HEADER + len) break;
      frames.push({
        type: String.fromCharCode(this.buf[0]!),
        session: this.buf.readUInt32BE(1),
        payload: Buffer.from(this.buf.subarray(FRAME_HEADER, FRAME_HEADER + len)),
      });
      this.buf = this.buf.subarray(FRAME_HEADER + len);
    }
    return frames;
  }
}
