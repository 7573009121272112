/**
 * Just enough of DNS (RFC 1035, RFC 3596) for the embedded server: read one question, answer
 * A and AAAA records.
 */
import { parseAddr } from './ip.ts';

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

/** One record of an answer: an A (type 1) with an IPv4 address, or an AAAA (28) with an IPv6 one. */
export interface Answer {
  type: 1 | 28;
  address: string;
}

/** A response to `query` with the given records (rcode 0 = NOERROR, 2 = SERVFAIL, 3 = NXDOMAIN). */
export function buildAnswer(query: Buffer, q: Question, answers: readonly Answer[], rcode: number): Buffer {
  const head = Buffer.from(query.subarray(0, q.end));
  const rd = head.readUInt16BE(2) & 0x0100;
  head.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | (rcode & 0xf), 2); // QR, AA, RD as asked, RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const records = answers.map((a) => {
    const len = a.type === 1 ? 4 : 16;
    const r = Buffer.alloc(12 + len);
    r.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    r.writeUInt16BE(a.type, 2);
    r.writeUInt16BE(1, 4); // IN
    r.writeUInt32BE(600, 6);
    r.writeUInt16BE(len, 10);
    const v = parseAddr(a.address).value;
    for (let i = 0; i < len; i++) r[12 + i] = Number((v >> BigInt(8 * (len - 1 - i))) & 0xffn);
    return r;
  });
  return Buffer.concat([head, ...records]);
}
