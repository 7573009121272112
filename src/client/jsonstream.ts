/**
 * Docker's progress streams (pull, push, build, load, import, events, Berth's bootstrap) are
 * JSON values one after another, usually one a line. This decodes them incrementally, whatever
 * the chunking, whether or not newlines separate them.
 */
import { StreamError } from './errors.ts';
import type { JsonMessage } from '../api/types/index.ts';

/**
 * Yields each JSON value of a byte stream. `transform` may rewrite each value's text before it
 * is parsed (events quote `timeNano`, whose 19 digits a JS number cannot hold).
 */
export async function* jsonValues<T = unknown>(
  src: AsyncIterable<Buffer | string>,
  transform?: (text: string) => string,
): AsyncGenerator<T> {
  const parse = (text: string): T => JSON.parse(transform ? transform(text) : text) as T;
  let buf = '';
  let pos = 0; // where scanning resumes inside buf
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for await (const chunk of src) {
    buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (; pos < buf.length; pos++) {
      const ch = buf[pos]!;
      if (start < 0) {
        if (ch === '{' || ch === '[') {
          start = pos;
          depth = 1;
          inString = false;
          escaped = false;
        } else if (!/\s/.test(ch)) {
          // a bare scalar line (rare): take the rest of the line
          const nl = buf.indexOf('\n', pos);
          if (nl < 0) break;
          const text = buf.slice(pos, nl).trim();
          pos = nl;
          if (text) yield parse(text);
        }
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          const text = buf.slice(start, pos + 1);
          start = -1;
          yield parse(text);
        }
      }
    }
    // drop what has been consumed
    const keep = start >= 0 ? start : pos;
    if (keep > 0) {
      buf = buf.slice(keep);
      pos -= keep;
      if (start >= 0) start = 0;
    }
  }
  const rest = (start >= 0 ? buf.slice(start) : buf.slice(pos)).trim();
  if (rest) yield parse(rest);
}

/** The error a progress message carries, if any, as an ApiError (code: the step's exit code). */
export function messageError(m: JsonMessage): StreamError | undefined {
  if (!m.errorDetail && !m.error) return undefined;
  const message = m.errorDetail?.message || m.error || 'unknown error';
  return new StreamError(message, m.errorDetail?.code ?? 0);
}

/** Progress messages; an error message ends the iteration by throwing it (a StreamError). */
export async function* progressMessages(src: AsyncIterable<Buffer | string>): AsyncGenerator<JsonMessage> {
  for await (const m of jsonValues<JsonMessage>(src)) {
    const err = messageError(m);
    if (err) throw err;
    yield m;
  }
}
