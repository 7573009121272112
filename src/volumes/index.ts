/**
 * volumes: volume drivers (engine layer). Only `local` exists: a directory per volume under
 * `<data-root>/volumes`, optionally a tmpfs or a host directory mounted on it.
 */
export {
  LocalDriver,
  validVolumeName,
  volumeNameError,
  anonymousVolumeName,
  rfc3339,
  VOLUME_NAME,
  ANONYMOUS_LABEL,
  type VolumeRecord,
} from './local.ts';
