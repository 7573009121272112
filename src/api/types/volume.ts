/** Volumes on the wire: inspect and list, create, prune (moby's `api/types/volume`). */
import type { Labels } from './container.ts';

/** `GET /volumes/{name}`, the rows of `GET /volumes`, and with `UsageData` those of `GET /system/df`. */
export interface Volume {
  CreatedAt: string;
  Driver: string;
  Labels: Labels | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

/** `POST /volumes/create`'s body. */
export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Labels | null;
}

export interface VolumeListResponse {
  Volumes: Volume[];
  Warnings: string[] | null;
}

export interface VolumePruneReport {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}
