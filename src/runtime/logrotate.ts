/**
 * `--log-opt max-size=… max-file=N`: conmon caps the log at max-size by replacing the file with
 * an empty one (`--log-size-max`); the rotator keeps the N-1 files before it, as
 * `<log>.1` (the newest) … `<log>.<N-1>`, the way Docker's json-file driver does.
 *
 * The content of the file conmon replaces survives through a hard link, `<log>.live`, made to
 * each new log file as soon as it appears: when conmon renames its fresh file over the log,
 * the link still holds the old one, which then moves to `<log>.1`. inotify on the log's
 * directory tells us of the replacement; nothing is polled.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
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

/**
 * The rotated files of a log, oldest first (`<log>.<N-1>` … `<log>.1`), then `<log>.live` while
 * it holds a file conmon has replaced and the rotator has yet to move to `.1`: the rotator
 * follows conmon a moment later (longer under load), and a reader that left `.live` out then
 * missed a whole file of lines.
 */
export async function rotatedLogs(path: string): Promise<string[]> {
  const base = basename(path);
  const names = await fs.readdir(dirname(path)).catch(() => [] as string[]);
  const nums = names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((k) => Number.isInteger(k) && k > 0);
  const files = nums.sort((a, b) => b - a).map((k) => `${path}.${k}`);
  const live = `${path}.live`;
  const [current, held] = await Promise.all([path, live].map((f) => fs.stat(f).catch(() => undefined)));
  if (held && held.size > 0 && held.ino !== current?.ino) files.push(live);
  return files;
}

/**
 * The rotated files of a log (`rotatedLogs`), opened: a set that stays whole while the rotator
 * moves them. Read one by one by name, a file the rotator renamed meanwhile was read twice or
 * not at all (`docker logs` right after a rotation lacked a file's lines, 1506-1691 of 2000).
 * The names are listed, opened, then listed and looked up again; a set that moved meanwhile is
 * opened anew (a few times at most: the rotator's moves take moments). The caller closes them.
 */
export async function openRotatedLogs(path: string): Promise<FileHandle[]> {
  for (let attempt = 1; ; attempt++) {
    const names = await rotatedLogs(path);
    const handles: FileHandle[] = [];
    const inodes: number[] = [];
    for (const n of names) {
      const h = await fs.open(n, 'r').catch(() => undefined);
      if (!h) continue;
      handles.push(h);
      inodes.push((await h.stat()).ino);
    }
    const now = await rotatedLogs(path);
    const still = await Promise.all(
      now.map((n) =>
        fs.stat(n).then(
          (st) => st.ino,
          () => -1,
        ),
      ),
    );
    if (attempt >= 5 || (now.join('\n') === names.join('\n') && still.join() === inodes.join())) return handles;
    await Promise.all(handles.map((h) => h.close()));
  }
}
