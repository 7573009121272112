/**
 * Loads Berth's CRI definitions (api.proto beside this file) once, with the options every
 * handler relies on: field names as the .proto spells them (`pod_sandbox_id`), 64-bit integers
 * as decimal strings (nanosecond timestamps do not fit a double), enums by name, and unset
 * fields filled with their defaults so a handler never meets `undefined` for a scalar.
 */
import { join } from 'node:path';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

export const PROTO_FILE = join(import.meta.dirname, 'api.proto');
export const CRI_PACKAGE = 'runtime.v1';

let loaded: PackageDefinition | undefined;

export function criDefinitions(): PackageDefinition {
  loaded ??= loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return loaded;
}
