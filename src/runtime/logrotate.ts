/**
 * `--log-opt max-size=… max-file=N` keeps the N-1 full files before the log, as `<log>.1` (the
 * newest) … `<log>.<N-1>`, the way Docker's json-file driver does. berth-monitor rotates them
 * itself (`--log-max-files`, berth-monitor.c's rotate_log), with no moment at which a line is
 * only in an unlinked file. conmon has no such option: it caps the log at max-size by renaming
 * an empty file over it (`--log-size-max`), and LogRotator, in berthd, keeps what it replaced.
 *
 * LogRotator (conmon only): the content of the file conmon replaces survives through a hard
 * link, `<log>.live`, made to each new log file once inotify on the log's directory tells of
 * it: when conmon renames its fresh file over the log, the link still holds the old one, which
 * then moves to `<log>.1`. Should conmon replace the log twice before the rotator runs (a busy
 * machine), the file between had no link and its lines are lost: the reason berth-monitor
 * rotates on its own.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export class LogRotator {
  private readonly path: string;
  private readonly maxFiles: number;
  private watcher?: FSWatcher;
  private ino = -1;
  private busy: Promise<void> = Promise.resolve();

  constructor(path: string, maxFiles: number) {
    this.path = path;
    this.maxFiles = maxFiles;
  }

  start(): void {
    if (this.maxFiles < 2 || this.watcher) return;
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), (_event, file) => {
      if (file === null || file === name) this.check();
    });
    this.watcher.on('error', () => {});
    this.check();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private check(): void {
    this.busy = this.busy.then(() => this.rotateIfReplaced()).catch(() => {});
  }

  private async rotateIfReplaced(): Promise<void> {
    const st = await fs.stat(this.path).catch(() => undefined);
    if (!st || st.ino === this.ino) return;
    const live = `${this.path}.live`;
    const held = await fs.stat(live).catch(() => undefined);
    if (held && held.ino !== st.ino && held.size > 0) {
      // The log was replaced: what `.live` still holds is the newest old file.
      await fs.rm(`${this.path}.${this.maxFiles - 1}`, { force: true });
      for (let k = this.maxFiles - 2; k >= 1; k--)
        await fs.rename(`${this.path}.${k}`, `${this.path}.${k + 1}`).catch(() => {});
      await fs.rename(live, `${this.path}.1`);
    } else {
      await fs.rm(live, { force: true });
    }
    await fs.link(this.path, live).catch(() => {});
    this.ino = st.ino;
  }
}

/** The rotated files of a log, oldest first (`<log>.<N-1>` … `<log>.1`). */
export async function rotatedLogs(path: string): Promise<string[]> {
  const base = basename(path);
  const names = await fs.readdir(dirname(path)).catch(() => [] as string[]);
  const nums = names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((k) => Number.isInteger(k) && k > 0);
  return nums.sort((a, b) => b - a).map((k) => `${path}.${k}`);
}
