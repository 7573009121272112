/** berthd's log lines: `time level msg`, to stderr, filtered by --log-level. */
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export class Logger {
  private readonly min: number;
  constructor(level: Level) {
    this.min = LEVELS.indexOf(level);
  }
  private write(level: Level, msg: string): void {
    if (LEVELS.indexOf(level) < this.min) return;
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
