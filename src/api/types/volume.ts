/** Volumes on the wire: inspect and list, create (moby's `api/types/volume`). */
import type { Labels } from './container.ts';

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Labels | null;
  Options: Record<string, string> | null;
  Scope: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Labels;
}
