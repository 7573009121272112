/**
 * Which host port a published port with none given (`-p 8081`, `-P`) takes, as dockerd's
 * portallocator chooses it: from the kernel's ephemeral range (`ip_local_port_range`, 32768–60999
 * on most hosts; 49153–65535 when it cannot be read, moby's fallback), counting up from the last
 * port handed out for that protocol and address, wrapping at the end, skipping the ones in use.
 * So a fresh daemon's first container gets 32768, the next 32769, and a port just released is
 * not handed out again at once (a client still talking to the old container does not reach the
 * new one). Letting the kernel pick (bind to port 0) gave ports from anywhere in the range.
 *
 *     const a = new PortAllocator({ first: 32768, last: 60999 });
 *     a.candidates('tcp', '0.0.0.0', (p) => inUse(p)).next().value; // 32768
 */
import { readFileSync } from 'node:fs';

export interface PortRange {
  first: number;
  last: number;
}

/** moby's defaults when /proc cannot be read. */
const FALLBACK: PortRange = { first: 49153, last: 65535 };

/** "32768\t60999\n" → {32768, 60999}; anything else → undefined. */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  return first >= 1 && last <= 65535 && first <= last ? { first, last } : undefined;
}

/** The host's ephemeral port range, read once per daemon. */
export function ephemeralRange(path = '/proc/sys/net/ipv4/ip_local_port_range'): PortRange {
  try {
    return parsePortRange(readFileSync(path, 'utf8')) ?? FALLBACK;
  } catch {
    return FALLBACK;
  }
}

export class PortAllocator {
  private readonly range: PortRange;
  /** The last port handed out, by `proto/address`. */
  private readonly lastGiven = new Map<string, number>();

  constructor(range: PortRange) {
    this.range = range;
  }

  /**
   * The ports to try, in dockerd's order, each recorded as handed out when it is yielded (a bind
   * that then fails moves on to the next, as moby's retries do). `busy`: held by a container.
   */
  *candidates(proto: string, ip: string, busy: (port: number) => boolean): Generator<number> {
    const { first, last } = this.range;
    const key = `${proto}/${ip}`;
    let port = this.lastGiven.get(key) ?? last;
    for (let n = last - first + 1; n > 0; n--) {
      port = port >= last ? first : port + 1;
      if (busy(port)) continue;
      this.lastGiven.set(key, port);
      yield port;
    }
  }
}
