/** berthd's log lines: `time level msg`, to stderr, filtered by --log-level. */
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

/**
 * Whether stderr still has a reader. When it goes away (the terminal berthd was started from,
 * a test process that died, journald restarting under systemd) a write fails with EPIPE, which
 * the stream emits as an 'error'. Unheard, that was an uncaught exception, whose log line was
 * the next EPIPE, for ever: a daemon that spun a CPU on its own error lines and no longer
 * answered nor heeded SIGTERM. Like dockerd, which ignores SIGPIPE, berthd goes on without its
 * log lines.
 */
let outputGone = false;
let watching = false;
function watchOutput(): void {
  if (watching) return;
  watching = true;
  process.stderr.on('error', () => {
    outputGone = true;
  });
}

export class Logger {
  private readonly min: number;
  constructor(level: Level) {
    this.min = LEVELS.indexOf(level);
    watchOutput();
  }
  private write(level: Level, msg: string): void {
    if (LEVELS.indexOf(level) < this.min || outputGone) return;
    process.stderr.write(`time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`);
  }
  enabled(level: Level): boolean {
    return LEVELS.indexOf(level) >= this.min;
  }
  debug(m: string): void {
    this.write('debug', m);
  }
  info(m: string): void {
    this.write('info', m);
  }
  warn(m: string): void {
    this.write('warn', m);
  }
  error(m: string): void {
    this.write('error', m);
  }
}
