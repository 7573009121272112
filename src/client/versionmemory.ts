/**
 * The API version a daemon on a unix socket named, remembered between `berth` processes, so
 * that a command's first request need not wait for a `_ping` (a round trip to the daemon, 2-6 ms
 * of each `berth` process, more on a loaded machine) to learn it.
 *
 * A memory is of one daemon: of the socket file as it is (its inode and modification time),
 * which a daemon's start makes anew; another daemon on the same path is another socket, and a
 * memory of the old one is not recalled. It is a hint, never the truth: EngineClient uses a
 * recalled version only for a request it can send again, and a daemon's refusal of the version
 * sends it back to a ping (client.ts). A memory that cannot be read or written is no memory.
 *
 * Kept in one small file, `$XDG_CACHE_HOME/berth/api-versions.json` (~/.cache by default), of the
 * last 32 sockets used; written (a temporary file renamed over it) only when it changes.
 *
 *   const m = socketVersionMemory('/run/berth/berth.sock');
 *   m.recall(); // '1.45', or undefined when this daemon was never asked
 *   m.remember('1.45');
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What one daemon said its API version is. */
export interface ApiVersionMemory {
  /** The daemon's version as remembered, or undefined. */
  recall(): string | undefined;
  /** Remember the daemon's version (its `Api-Version`). */
  remember(daemonVersion: string): void;
  /** The memory proved wrong: drop it. */
  forget(): void;
}

const KEEP = 32;

interface Entry {
  /** The socket's identity when the version was learnt: `inode:mtimeMs`. */
  id: string;
  version: string;
}

/** The default file of memories. */
export function versionMemoryFile(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'berth', 'api-versions.json');
}

/** The memory of the daemon listening on `socketPath`, kept in `file`. */
export function socketVersionMemory(socketPath: string, file = versionMemoryFile()): ApiVersionMemory {
  // The socket's identity, read once: a daemon restarted while this process runs is caught by
  // its refusal (or by nothing, when the new one speaks the version as well).
  let id: string | undefined | null = null;
  const identity = (): string | undefined => {
    if (id === null) {
      const st = statSync(socketPath, { throwIfNoEntry: false });
      id = st ? `${st.ino}:${st.mtimeMs}` : undefined;
    }
    return id;
  };
  const read = (): Record<string, Entry> => {
    try {
      const all = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return all && typeof all === 'object' && !Array.isArray(all) ? (all as Record<string, Entry>) : {};
    } catch {
      return {};
    }
  };
  const write = (all: Record<string, Entry>) => {
    try {
      mkdirSync(join(file, '..'), { recursive: true });
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(all));
      renameSync(tmp, file);
    } catch {
      // a read-only home: every process pings, as before
    }
  };
  return {
    recall() {
      const self = identity();
      if (!self) return undefined;
      const e = read()[socketPath];
      return e && e.id === self && typeof e.version === 'string' && /^\d+\.\d+$/.test(e.version)
        ? e.version
        : undefined;
    },
    remember(version) {
      const self = identity();
      if (!self) return;
      const all = read();
      const e = all[socketPath];
      if (e && e.id === self && e.version === version) return;
      delete all[socketPath]; // re-inserted last: the newest
      all[socketPath] = { id: self, version };
      const keys = Object.keys(all);
      for (const k of keys.slice(0, Math.max(0, keys.length - KEEP))) delete all[k];
      write(all);
    },
    forget() {
      const all = read();
      if (!(socketPath in all)) return;
      delete all[socketPath];
      write(all);
    },
  };
}
