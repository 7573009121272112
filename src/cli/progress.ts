/**
 * Draws JSON progress streams (pull, push, load, import, build, bootstrap) the way the docker
 * CLI's jsonmessage package does: on a terminal one line per layer id, redrawn in place with a
 * progress bar; elsewhere only the status lines, no bars.
 */
import type { JsonMessage, ProgressDetail } from '../client/index.ts';
import { humanSize } from './format.ts';

export interface ProgressOut {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Go's time.Duration.String() for whole seconds. */
export function goDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/** jsonmessage.JSONProgress.String(): "[=====>    ]  1.2MB/4.5MB 3s". */
export function progressString(p: ProgressDetail, width: number, now = Date.now()): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  const hs = (n: number) => humanSize(n, 4);
  if (total <= 0) {
    return p.units ? `${current} ${p.units}` : hs(current).padStart(8);
  }
  let percentage = Math.floor(Math.floor((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = '';
  if (width > 110) bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  let numbers = '';
  if (!p.hidecounts) {
    if (!p.units) numbers = current > total ? hs(current).padStart(8) : `${hs(current).padStart(8)}/${hs(total)}`;
    else numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
  }
  let left = '';
  if (current > 0 && p.start && p.start > 0 && percentage < 50) {
    const fromStart = now / 1000 - p.start;
    const perEntry = fromStart / current;
    const remaining = Math.floor((total - current) * perEntry);
    if (width > 50) left = ` ${goDuration(remaining)}`;
  }
  return bar + numbers + left;
}

function hasProgress(m: JsonMessage): boolean {
  return m.progressDetail !== undefined && m.progressDetail !== null;
}

function display(m: JsonMessage, out: ProgressOut, tty: boolean, width: number): void {
  let endl = '';
  const prog = hasProgress(m) ? progressString(m.progressDetail!, width) : '';
  if (tty && !m.stream && hasProgress(m)) {
    out.write('\x1b[2K\r');
    endl = '\r';
  } else if (hasProgress(m) && prog !== '') {
    return; // no bars off a terminal
  }
  if (m.id) out.write(`${m.id}: `);
  if (m.from) out.write(`(from ${m.from}) `);
  if (hasProgress(m) && tty) out.write(`${m.status ?? ''} ${prog}${endl}`);
  else if (m.progress) out.write(`${m.status ?? ''} ${m.progress}${endl}`);
  else if (m.stream) out.write(`${m.stream}${endl}`);
  else out.write(`${m.status ?? ''}${endl}\n`);
}

/**
 * Renders a progress stream; aux messages (image IDs) go to `onAux`. A StreamError thrown by
 * the iterator (an error message in the stream) propagates to the caller after the lines before it.
 */
export async function displayJsonMessages(
  messages: AsyncIterable<JsonMessage>,
  out: ProgressOut,
  onAux?: (m: JsonMessage) => void,
): Promise<void> {
  const tty = !!out.isTTY;
  const width = tty ? out.columns || 80 : 200;
  let ids = new Map<string, number>();
  for await (const m of messages) {
    if (m.aux) {
      onAux?.(m);
      continue;
    }
    let diff = 0;
    if (m.id && (hasProgress(m) || m.progress)) {
      let line = ids.get(m.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(m.id, line);
        if (tty) out.write('\n');
      }
      diff = ids.size - line;
      if (tty && diff > 0) out.write(`\x1b[${diff}A`);
    } else {
      ids = new Map();
    }
    display(m, out, tty, width);
    if (m.id && tty && diff > 0) out.write(`\x1b[${diff}B`);
  }
}
