/**
 * CNI network configurations, read as kubelet's CRI runtimes read `/etc/cni/net.d`: the files
 * ending in .conf, .conflist or .json, in the order of their names; the first one that is a
 * valid network is the pods' network. An invalid file is skipped with its reason (as CRI-O and
 * kubelet's dockershim did; containerd refuses to start networking instead), so one stray file
 * does not take a node's pods offline. A single-plugin `.conf` becomes a list of one, as libcni's
 * ConfListFromConf does. Pure: files come in as names and text (load.ts reads them).
 */
import { invalidArgument } from '../errdefs/index.ts';

/** The CNI spec versions Berth speaks, and Debian 12's plugins (1.1.1) understand. */
export const CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];
export const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'];

/** One plugin's configuration: `type` names its binary; the rest is the plugin's own. */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfList {
  /** The file it came from. */
  file: string;
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  plugins: PluginConf[];
}

export interface Skipped {
  file: string;
  reason: string;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkPlugin(p: unknown, where: string): PluginConf {
  if (!isObject(p)) throw invalidArgument(`${where}: a plugin is not an object`);
  if (typeof p.type !== 'string' || !p.type) throw invalidArgument(`${where}: missing 'type'`);
  if (p.type.includes('/') || p.type.startsWith('.'))
    throw invalidArgument(`${where}: type "${p.type}" is not a plugin name`);
  if (p.capabilities !== undefined && !isObject(p.capabilities))
    throw invalidArgument(`${where}: 'capabilities' is not an object`);
  return p as PluginConf;
}

function checkVersion(v: unknown, file: string): string {
  // libcni reads a missing version as 0.1.0, the first spec's.
  const version = v === undefined || v === '' ? '0.1.0' : v;
  if (typeof version !== 'string' || !CNI_VERSIONS.includes(version))
    throw invalidArgument(`${file}: cniVersion "${String(version)}" is not one of ${CNI_VERSIONS.join(', ')}`);
  return version;
}

/** One file's network, or an InvalidArgument saying what is wrong with it. */
export function parseNetworkFile(file: string, text: string): NetworkConfList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`${file}: not JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw invalidArgument(`${file}: not a JSON object`);
  const name = raw.name;
  if (typeof name !== 'string' || !name) throw invalidArgument(`${file}: no name`);
  if (!NAME.test(name)) throw invalidArgument(`${file}: name "${name}" has characters a network name cannot`);
  const cniVersion = checkVersion(raw.cniVersion, file);
  if (file.endsWith('.conflist')) {
    if (!Array.isArray(raw.plugins) || raw.plugins.length === 0) throw invalidArgument(`${file}: no plugins in list`);
    if (raw.disableCheck !== undefined && typeof raw.disableCheck !== 'boolean')
      throw invalidArgument(`${file}: 'disableCheck' is not a boolean`);
    return {
      file,
      name,
      cniVersion,
      disableCheck: raw.disableCheck === true,
      plugins: raw.plugins.map((p, i) => checkPlugin(p, `${file}: plugins[${i}]`)),
    };
  }
  // A .conf or .json file is one plugin; a list in one (no type) is refused, as libcni does.
  const { name: _n, cniVersion: _v, ...plugin } = raw;
  return { file, name, cniVersion, disableCheck: false, plugins: [checkPlugin(plugin, file)] };
}

export interface Selection {
  /** The pods' network: the first valid file by name; none when there is no valid file. */
  network?: NetworkConfList;
  /** Files passed over before it, and why. */
  skipped: Skipped[];
}

/** Picks the network from a directory's files (name and text), in the order of their names. */
export function selectNetwork(files: ReadonlyArray<{ name: string; text: string }>): Selection {
  const skipped: Skipped[] = [];
  const candidates = files
    .filter((f) => CONF_EXTENSIONS.some((ext) => f.name.endsWith(ext)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const f of candidates) {
    try {
      return { network: parseNetworkFile(f.name, f.text), skipped };
    } catch (e) {
      skipped.push({ file: f.name, reason: (e as Error).message });
    }
  }
  return { skipped };
}

/** Where CNI's state fits CRI's Status: a reason and message for NetworkReady=false, or none. */
export function networkNotReady(
  sel: Selection,
  confDir: string,
  missing: readonly string[],
): { reason: string; message: string } | undefined {
  if (!sel.network) {
    const why = sel.skipped.length ? `: ${sel.skipped.map((s) => s.reason).join('; ')}` : '';
    return {
      reason: 'NetworkPluginNotReady',
      message: `cni config uninitialized: no valid network in ${confDir}${why}`,
    };
  }
  if (missing.length)
    return {
      reason: 'NetworkPluginNotReady',
      message: `cni plugins not found for network "${sel.network.name}": ${missing.join(', ')}`,
    };
  return undefined;
}

/** The file `berthd --cni-default-network` writes: first by name, as containerd's 10-containerd-net. */
export const DEFAULT_NETWORK_FILE = '10-berth-cni0.conflist';
/**
 * 10.231/16: beside berth0's own candidates (10.229-230/16), outside dockerd's and Berth's
 * user-network pools (172.17-31/16, 192.168/16, 10.100-119/16), and off the 10.88/16 that
 * Podman's 87-podman-bridge and containerd's example use and CRI-O's 10.85/16.
 */
export const DEFAULT_POD_SUBNET = '10.231.0.0/16';

/**
 * The network `berthd --cni-default-network` writes when the directory holds none: a bridge of
 * its own (`berth-cni0`), masqueraded, host-local addresses, and portmap for hostPort. No
 * loopback entry: the runtime brings `lo` up in every sandbox itself, as containerd and CRI-O do.
 */
export function defaultNetworkConfig(subnet = DEFAULT_POD_SUBNET): object {
  return {
    cniVersion: '1.0.0',
    name: 'berth-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: 'berth-cni0',
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}
