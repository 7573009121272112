/**
 * How the image service shows an image: the summary `GET /images/json` and `system df` list,
 * the run config with the keys Docker always sends, and the label and reference filters. Pure
 * functions, apart from service.ts so that the service's file is its operations.
 */
import type { Image } from '../../images/index.ts';
import type { ImageRunConfig } from '../../spec/index.ts';
import type { ContainerConfig, ImageSummary } from '../../api/types/index.ts';

/** An image as `GET /images/json` and `GET /system/df` list it (-1: not computed). */
export function imageSummary(i: Image, extra: { SharedSize?: number; Containers?: number } = {}): ImageSummary {
  return {
    Id: i.id,
    ParentId: i.parent ?? '',
    RepoTags: i.tags,
    RepoDigests: i.digests,
    Created: Math.floor(Date.parse(i.created) / 1000),
    Size: i.size,
    SharedSize: extra.SharedSize ?? -1,
    VirtualSize: i.size,
    Labels: i.config.config?.Labels ?? {},
    Containers: extra.Containers ?? -1,
  };
}

/** `key` or `key=value` against a label map. */
export function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** `docker images REPOSITORY[:TAG]`'s pattern (`*`, `?`) against a tag. */
export function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '.') +
      '$',
  );
  return re.test(s) || re.test(s.replace(/:[^:]*$/, '') + ':' + s.split(':').pop());
}

/** Docker always sends these keys in an image's Config, null when unset. */
export function normaliseRunConfig(c: ImageRunConfig): ContainerConfig {
  return {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: c.ExposedPorts ?? undefined,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    Healthcheck: c.Healthcheck ?? undefined,
    ArgsEscaped: c.ArgsEscaped ?? undefined,
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
    StopSignal: c.StopSignal ?? undefined,
    Shell: c.Shell ?? undefined,
  };
}
