/**
 * CNI, the Container Network Interface, as a CRI runtime uses it for pod networking: which
 * network the configuration directory names, what running its plugins for a pod means
 * (binaries, environment, stdin, order) and what they answer — planned as pure data — and
 * `CniNetwork`, which runs them through src/host and keeps each sandbox's ADD result on disk
 * for its DEL. Engine layer, beside network/.
 */
export {
  CNI_VERSIONS,
  DEFAULT_NETWORK_FILE,
  DEFAULT_POD_SUBNET,
  defaultNetworkConfig,
  networkNotReady,
  parseNetworkFile,
  selectNetwork,
  type NetworkConfList,
  type PluginConf,
  type Selection,
  type Skipped,
} from './config.ts';
export {
  cniArgs,
  DEFAULT_IFNAME,
  loopbackCalls,
  missingPlugins,
  planCalls,
  runtimeConfig,
  stdinFor,
  type CniCommand,
  type PluginCall,
  type PodNetwork,
  type PortMapping,
} from './plan.ts';
export { parseResult, podIps, pluginFailure, type CniInterface, type CniIp, type CniResult } from './result.ts';
export { CniNetwork, type CniNetworkOptions } from './network.ts';
export type {
  NetworkStatus,
  PodNetworking,
  SandboxNetwork,
  SandboxNetworkIds,
  SandboxNetworkRequest,
} from './networking.ts';
export {
  DEFAULT_CNI_BIN_DIRS,
  DEFAULT_CNI_CONF_DIR,
  installDefaultNetwork,
  listPlugins,
  loadCni,
  type CniState,
} from './load.ts';
