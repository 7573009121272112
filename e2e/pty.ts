/**
 * A real pseudo-terminal for e2e tests: runs a command under util-linux `script`, which gives it
 * a pty, so the `docker` CLI sees a terminal (raw mode, window size, escape keys). Tests wait for
 * output and type input like a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export class Terminal {
  private readonly proc: ChildProcess;
  private out = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number>;

  /** `shellCommand` runs under `sh -c` inside the terminal, with the given rows and columns. */
  constructor(shellCommand: string, env: NodeJS.ProcessEnv, size = { rows: 24, cols: 80 }) {
    const cmd = `stty rows ${size.rows} cols ${size.cols}; ${shellCommand}`;
    this.proc = spawn('script', ['-qefc', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const onData = (c: Buffer) => {
      this.out += c.toString('utf8');
      for (const w of [...this.waiters]) w();
    };
    this.proc.stdout!.on('data', onData);
    this.proc.stderr!.on('data', onData);
    this.exited = new Promise((resolve) =>
      this.proc.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
    );
  }

  /** Everything the terminal showed so far. */
  get output(): string {
    return this.out;
  }

  /** Waits until the output (after `from`) matches `re`; fails with the output on a timeout. */
  async expect(re: RegExp, timeoutMs = 15_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.out.slice(from));
      if (m) return m[0];
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`terminal did not show ${re} within ${timeoutMs} ms; it showed:\n${JSON.stringify(this.out)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done() {
          clearTimeout(t);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.waiters;
        waiters.add(done);
      });
    }
  }

  /** Types `text` (escape sequences such as `\x03` for Ctrl-C included). */
  send(text: string): void {
    this.proc.stdin!.write(text);
  }

  /** Waits for the command to end and returns its exit code; kills it after `timeoutMs`. */
  async wait(timeoutMs = 15_000): Promise<number> {
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }
}
