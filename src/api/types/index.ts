/**
 * The Docker Engine API's request and response shapes (v1.44 and later), declared once: the
 * services' views return them, the API routes send them and the client re-exports them, so the
 * type checker sees both sides of the wire (moby's `api/types`). The field names are the JSON
 * keys exactly as dockerd sends them. This module sits at the bottom layer and imports nothing
 * but other types (its one function, `statsRow`, is a pure view of a stats sample that the CLI,
 * the dashboard and Libpod's pod stats share), so anything may use it.
 */
export type * from './container.ts';
export type * from './image.ts';
export type * from './network.ts';
export type * from './volume.ts';
export type * from './exec.ts';
export type * from './system.ts';
export type * from './jsonstream.ts';
export type * from './pod.ts';
export { statsRow, type StatsRow } from './stats.ts';
