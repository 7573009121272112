/**
 * Images on the wire: list rows, inspect, history, delete items, prune and distribution
 * inspect (moby's `api/types/image` and `api/types/registry`).
 */
import type { ContainerConfig, Labels } from './container.ts';

/** A row of `GET /images/json`, and of `GET /system/df`'s images (-1: not counted). */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Labels;
  Containers: number;
}

/**
 * `GET /images/{name}/json`. `Container` and `ContainerConfig` are sent for every API version
 * (Docker dropped them from 1.45): docker-compose 1.x reads them.
 */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  GraphDriver: {
    Name: string;
    Data: { LowerDir?: string; UpperDir?: string; MergedDir?: string; WorkDir?: string } | null;
  };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  Container: string;
  ContainerConfig: ContainerConfig;
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ImagePruneReport {
  ImagesDeleted: ImageDeleteItem[] | null;
  SpaceReclaimed: number;
}

/** `GET /distribution/{name}/json`: what the registry holds for a reference. */
export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Array<{ architecture: string; os: string; variant?: string }>;
}
