/** Just enough of DNS (RFC 1035) for the embedded server: read one question, answer A records. */

export interface Question {
  name: string;
  type: number;
  /** Where the question section ends in the query. */
  end: number;
}

/** The first question of a standard query, or undefined for anything else. */
export function parseQuery(msg: Buffer): Question | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== 0 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let i = 12;
  for (;;) {
    if (i >= msg.length) return undefined;
    const len = msg[i]!;
    if (len === 0) {
      i++;
      break;
    }
    if (len & 0xc0 || i + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  if (i + 4 > msg.length) return undefined;
  return { name: labels.join('.'), type: msg.readUInt16BE(i), end: i + 4 };
}

/** A response to `query` with the given A records (rcode 0 = NOERROR, 3 = NXDOMAIN). */
export function buildAnswer(query: Buffer, q: Question, ips: string[], rcode: number): Buffer {
  const head = Buffer.from(query.subarray(0, q.end));
  const rd = head.readUInt16BE(2) & 0x0100;
  head.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | (rcode & 0xf), 2); // QR, AA, RD as asked, RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(ips.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const answers = ips.map((ip) => {
    const a = Buffer.alloc(16);
    a.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    a.writeUInt16BE(1, 2); // A
    a.writeUInt16BE(1, 4); // IN
    a.writeUInt32BE(600, 6);
    a.writeUInt16BE(4, 10);
    ip.split('.').forEach((b, k) => a.writeUInt8(Number(b), 12 + k));
    return a;
  });
  return Buffer.concat([head, ...answers]);
}
