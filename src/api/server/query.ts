/**
 * Query parameters as dockerd reads them, so that every value it accepts is accepted here and
 * what it refuses is refused: clients send what works against dockerd (testcontainers asks for
 * `logs?tail=-1` on every wait, the Python SDK sends `True`), and some rely on a refusal.
 *
 * The rules are moby's `api/server/httputils` (BoolValue, Int64ValueOrZero), Go's strconv
 * (Atoi, ParseInt) and `api/types/time.ParseTimestamps`, checked against dockerd 20.10's answers.
 * Each function is pure and takes the raw value; `null` means the parameter is absent.
 */
import { invalidArgument } from '../../errdefs/index.ts';

/**
 * httputils.BoolValue: false for "", "0", "no", "false" and "none" in any case (spaces around
 * ignored), true for anything else — "1", "True", "yes", "on", even "2" or "x". An absent
 * parameter is `absent` (BoolValueOrDefault); a present but empty one is false.
 */
export function boolValue(raw: string | null, absent = false): boolean {
  if (raw === null) return absent;
  const s = raw.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Go's strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else (no
 * spaces, no fraction, no hex), within int64. `fn` names the Go function for the message.
 */
export function parseInt64(raw: string, fn = 'strconv.ParseInt'): number {
  if (!/^[+-]?\d+$/.test(raw)) throw invalidArgument(`${fn}: parsing ${goQuote(raw)}: invalid syntax`);
  const n = BigInt(raw);
  if (n < INT64_MIN || n > INT64_MAX) throw invalidArgument(`${fn}: parsing ${goQuote(raw)}: value out of range`);
  return Number(n);
}

/** strconv.Atoi, as dockerd reads `t`, `limit`, `h`, `w`. */
export function atoi(raw: string): number {
  return parseInt64(raw, 'strconv.Atoi');
}

/** An integer parameter that may be absent or empty (then undefined), else Atoi's. */
export function optionalInt(raw: string | null): number | undefined {
  return raw === null || raw === '' ? undefined : atoi(raw);
}

/** httputils.Int64ValueOrZero: what does not parse is 0, never an error (build's `memory`...). */
export function int64OrZero(raw: string | null): number {
  if (raw === null) return 0;
  try {
    return parseInt64(raw);
  } catch {
    return 0;
  }
}

/**
 * `tail` of the logs: a number of lines; anything that is not one (`all`, `-1`, `abc`, `3.5`)
 * and any negative number means every line, as dockerd's `strconv.Atoi` fallback has it.
 * Undefined is every line.
 */
export function logsTail(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  let n: number;
  try {
    n = atoi(raw);
  } catch {
    return undefined;
  }
  return n < 0 ? undefined : n;
}

/**
 * timetypes.ParseTimestamps: `<seconds>[.<fraction>]`, each part a Go integer (a sign allowed,
 * `-1` included; a fraction of fewer than nine digits is scaled to nanoseconds). Dates and
 * durations are the client's to convert (the docker CLI and Go's client do). Nanoseconds.
 */
export function unixTimestamp(raw: string): number {
  const dot = raw.indexOf('.');
  const secs = parseInt64(dot < 0 ? raw : raw.slice(0, dot));
  if (dot < 0) return secs * 1e9;
  const frac = raw.slice(dot + 1);
  const n = parseInt64(frac);
  return secs * 1e9 + Math.trunc(n * 10 ** (9 - frac.length));
}

/** Go's %q for the ASCII a client sends: the value in double quotes, `"` and `\` escaped. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}
