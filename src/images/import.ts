/**
 * `docker import`: a root file system tarball becomes a one-layer image, with Dockerfile-style
 * `changes` (CMD, ENV, ...) applied to its config.
 */
import type { Readable } from 'node:stream';
import { invalidArgument } from '../errdefs/index.ts';
import { hostPlatform, type ImageConfig, type ImageRunConfig } from '../spec/index.ts';
import type { ImageStore, Image } from './store.ts';

/** Applies `CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`, `USER`, `VOLUME`, `WORKDIR`, `STOPSIGNAL`, `ONBUILD` lines. */
export function applyChanges(cfg: ImageRunConfig, changes: readonly string[]): ImageRunConfig {
  const out: ImageRunConfig = { ...cfg };
  for (const raw of changes) {
    const line = raw.trim();
    if (!line) continue;
    const m = line.match(/^(\S+)\s*(.*)$/s)!;
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    const bad = (why: string) => invalidArgument(`invalid change "${line}": ${why}`);
    const cmdForm = (): string[] => {
      if (rest.startsWith('[')) {
        try {
          const v = JSON.parse(rest) as unknown;
          if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
        } catch {
          // fall back to the shell form, as Docker does for malformed JSON
        }
      }
      return ['/bin/sh', '-c', rest];
    };
    switch (instr) {
      case 'CMD': out.Cmd = cmdForm(); break;
      case 'ENTRYPOINT': out.Entrypoint = cmdForm(); break;
      case 'ENV': {
        const env = [...(out.Env ?? [])];
        const set = (k: string, v: string) => {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        };
        if (!rest) throw bad('ENV needs a name');
        if (!rest.split(/\s+/)[0]!.includes('=')) {
          const [k, ...v] = rest.split(/\s+/);
          set(k!, v.join(' '));
        } else {
          for (const pair of rest.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []) {
            const eq = pair.indexOf('=');
            if (eq <= 0) throw bad(`"${pair}" is not NAME=VALUE`);
            set(pair.slice(0, eq), pair.slice(eq + 1).replace(/^"(.*)"$|^'(.*)'$/, '$1$2'));
          }
        }
        out.Env = env;
        break;
      }
      case 'EXPOSE':
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of rest.split(/\s+/).filter(Boolean)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(p)) throw bad(`invalid port "${p}"`);
          out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        }
        break;
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}) };
        for (const pair of rest.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw bad(`"${pair}" is not KEY=VALUE`);
          out.Labels[pair.slice(0, eq).replace(/^"|"$/g, '')] = pair.slice(eq + 1).replace(/^"(.*)"$|^'(.*)'$/, '$1$2');
        }
        break;
      case 'USER': out.User = rest; break;
      case 'WORKDIR': out.WorkingDir = rest; break;
      case 'STOPSIGNAL': out.StopSignal = rest; break;
      case 'VOLUME': {
        out.Volumes = { ...(out.Volumes ?? {}) };
        const list = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
        for (const v of list) out.Volumes[v] = {};
        break;
      }
      case 'ONBUILD': out.OnBuild = [...(out.OnBuild ?? []), rest]; break;
      default:
        throw bad(`${instr} is not a valid change command`);
    }
  }
  return out;
}

export interface ImportOptions {
  changes: readonly string[];
  message?: string;
  /** Called with the uncompressed bytes read so far. */
  onBytes?: (n: number) => void;
}

export async function importImage(store: ImageStore, tar: Readable, opts: ImportOptions): Promise<Image> {
  // Parse the changes first: a bad one must fail before any work is done.
  const runConfig = applyChanges({}, opts.changes);
  const layer = await store.snapshots.addLayer(null, tar, { onBytes: opts.onBytes });
  const now = new Date().toISOString();
  const { architecture, os } = hostPlatform();
  const config: ImageConfig = {
    architecture,
    os,
    created: now,
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: now, created_by: '', comment: opts.message || 'Imported from -' }],
    ...(opts.message ? { comment: opts.message } : {}),
  };
  return store.create(Buffer.from(JSON.stringify(config)));
}
