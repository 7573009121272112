/**
 * The edge of the CNI module: reads the configuration directory and lists the plugin
 * directories, then leaves the deciding to config.ts. A plugin type is found in the first
 * bin dir holding an executable of that name (CNI_PATH's order). Missing directories are
 * empty, not errors: a node may simply have no CNI yet.
 */
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  CONF_EXTENSIONS,
  DEFAULT_NETWORK_FILE,
  defaultNetworkConfig,
  selectNetwork,
  type Selection,
} from './config.ts';
import { missingPlugins } from './plan.ts';

/** Debian's containernetworking-plugins install into /usr/lib/cni; upstream's into /opt/cni/bin. */
export const DEFAULT_CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';

export interface CniState extends Selection {
  confDir: string;
  binDirs: string[];
  /** Plugin type → its binary. */
  available: Map<string, string>;
  /** Types the chosen network needs that no bin dir has. */
  missing: string[];
}

async function readConfFiles(dir: string): Promise<Array<{ name: string; text: string }>> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out = [];
  for (const name of names.filter((n) => CONF_EXTENSIONS.some((e) => n.endsWith(e)))) {
    try {
      out.push({ name, text: await fs.readFile(join(dir, name), 'utf8') });
    } catch {
      // A directory named x.conf, or a file that went away: not a configuration.
    }
  }
  return out;
}

export async function listPlugins(binDirs: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const dir of binDirs) {
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (found.has(n)) continue;
      const p = join(dir, n);
      const ok = await fs.access(p, constants.X_OK).then(
        async () => (await fs.stat(p)).isFile(),
        () => false,
      );
      if (ok) found.set(n, p);
    }
  }
  return found;
}

export async function loadCni(confDir: string, binDirs: readonly string[]): Promise<CniState> {
  const sel = selectNetwork(await readConfFiles(confDir));
  const available = await listPlugins(binDirs);
  return {
    ...sel,
    confDir,
    binDirs: [...binDirs],
    available,
    missing: sel.network ? missingPlugins(sel.network, available) : [],
  };
}

/**
 * `berthd --cni-default-network`: writes Berth's default network into the directory when it
 * holds no valid one, and answers the file written (undefined when a network was there). A
 * directory shared with other runtimes is only ever added to, never changed.
 */
export async function installDefaultNetwork(confDir: string): Promise<string | undefined> {
  if (selectNetwork(await readConfFiles(confDir)).network) return undefined;
  await fs.mkdir(confDir, { recursive: true, mode: 0o755 });
  const path = join(confDir, DEFAULT_NETWORK_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  // The .tmp name is not a configuration's: a reader never sees half a file.
  await fs.writeFile(tmp, `${JSON.stringify(defaultNetworkConfig(), null, 2)}\n`, { mode: 0o644 });
  await fs.rename(tmp, path);
  return path;
}
