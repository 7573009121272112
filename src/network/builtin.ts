/**
 * The IDs of the built-in `host` and `none` networks: fixed, so `docker network ls` shows the
 * same ones across restarts, and the container service's network events (a start on `none`
 * logs `network connect` for it, as dockerd's) name the network the networks API lists.
 */
import { createHash } from 'node:crypto';

export const BUILTIN_NETWORK_IDS: Readonly<Record<'host' | 'none', string>> = {
  host: createHash('sha256').update('berth network host').digest('hex'),
  none: createHash('sha256').update('berth network none').digest('hex'),
};
