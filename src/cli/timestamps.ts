/**
 * docker's timetypes.GetTimestamp: `--since`/`--until` values as the API wants them. A Go
 * duration ("42m") counts back from now; RFC 3339 dates and times (a missing zone means local
 * time) become "<seconds>.<nanoseconds>"; a unix timestamp passes through.
 */
import { parseGoDuration } from './flagvalues.ts';
import { StatusError } from './cli.ts';
import type { Flags } from './flags.ts';

export function getTimestamp(value: string, now = Date.now()): string {
  if (value !== '0') {
    try {
      const d = parseGoDuration(value);
      return String(Math.floor((now - d / 1e6) / 1000));
    } catch {
      // not a duration
    }
  }
  if (/^\d+(\.\d{1,9})?$/.test(value)) return value;
  let v = value;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) v += 'T00:00:00';
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(v)) v += ':00:00';
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v)) v += ':00';
  let nanos = 0;
  const frac = /\.(\d+)/.exec(v);
  if (frac) nanos = Number(frac[1]!.slice(0, 9).padEnd(9, '0'));
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(ms))
    throw new Error(`failed to parse value as time or duration: "${value}"`);
  const secs = Math.floor(ms / 1000);
  return `${secs}.${String(nanos).padStart(9, '0')}`;
}

/**
 * The `--since`/`--until` flag `name` as getTimestamp makes it, undefined when not given; a value
 * it cannot read ends the command with status 1 and the message `wordError` words (`logs` names
 * the flag, `events` does not, as in the docker CLI).
 */
export function timestampFlag(f: Flags, name: string, wordError = (message: string) => message): string | undefined {
  const v = f.str(name);
  if (!v) return undefined;
  try {
    return getTimestamp(v);
  } catch (e) {
    throw new StatusError(1, wordError((e as Error).message));
  }
}
