/**
 * Docker's detach keys: a client attached with a TTY leaves (the container running) by typing a
 * key sequence, `ctrl-p,ctrl-q` unless the client or the daemon chose another.
 */
import { invalidArgument } from '../../errdefs/index.ts';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/**
 * Parses Docker's detach key notation: comma-separated keys, each a single character or
 * `ctrl-<c>` with `c` one of a–z, `@`, `[`, `\`, `]`, `^`, `_`.
 */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) {
      out.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(k);
    if (!m) throw invalidArgument(`Invalid detach keys (${spec}) provided`);
    const c = m[1]!;
    if (/^[a-z]$/i.test(c)) out.push(c.toLowerCase().charCodeAt(0) - 96);
    else if ('@[\\]^_'.includes(c)) out.push(c.charCodeAt(0) - 64);
    else throw invalidArgument(`Invalid detach keys (${spec}) provided`);
  }
  if (out.length === 0) throw invalidArgument(`Invalid detach keys (${spec}) provided`);
  return Buffer.from(out);
}

/**
 * Watches input for the detach sequence. `push` returns the bytes to pass on (a partial match
 * is held back until the next chunk shows whether it was the sequence) and whether the
 * sequence completed; bytes after the sequence are dropped, as Docker does.
 */
export class DetachScanner {
  private readonly keys: Buffer;
  private held = 0;

  constructor(keys: Buffer) {
    this.keys = keys;
  }

  push(chunk: Buffer): { pass: Buffer; detached: boolean } {
    const pass: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { pass: Buffer.from(pass), detached: true };
        continue;
      }
      // Not the sequence after all: what was held back goes through, then this byte is looked at anew.
      for (let i = 0; i < this.held; i++) pass.push(this.keys[i]!);
      this.held = 0;
      if (b === this.keys[0]) this.held = 1;
      else pass.push(b);
      if (this.held === this.keys.length) return { pass: Buffer.from(pass), detached: true };
    }
    return { pass: Buffer.from(pass), detached: false };
  }
}
