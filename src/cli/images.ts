/** Image commands: images/ls, pull, push, tag, rmi, prune, history, inspect, import, load, save, bootstrap. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { familiarName, parseReference, type Reference } from '../spec/index.ts';
import { isNotFound, type ImageSummary, type HistoryItem, type JsonMessage } from '../client/index.ts';
import { type Cli, type Command, StatusError, describeError, parseFilterFlags } from './cli.ts';
import { ago, ellipsis, goTimeString, humanSize, rfc3339, shortId } from './format.ts';
import { displayJsonMessages, type ProgressOut } from './progress.ts';
import { printRows, rowContext, type Row } from './table.ts';
import { credentialsFor } from './config.ts';
import { inspectCommand } from './inspect.ts';
import { TABLE_FORMAT_FLAG, filterFlag, pruneFlags } from './commonflags.ts';
import { confirmPrune, deletedList, imageDeletions, reclaimedLine } from './prune.ts';
import { parseImageRef } from './imageref.ts';

export { parseImageRef };

/** `docker.io/library/busybox:latest`: what `pull` prints last. */
export function fullName(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

export function progressOut(stream: NodeJS.WriteStream): ProgressOut {
  return { write: (s: string) => stream.write(s), isTTY: !!stream.isTTY, columns: stream.columns };
}

const discard: ProgressOut = { write: () => true, isTTY: false };

/** Pulls an image, drawing the progress on `out` (stdout for pull, stderr for run). */
export async function pullImage(
  cli: Cli,
  ref: Reference,
  out: NodeJS.WriteStream | null,
  opts: { platform?: string; allTags?: boolean } = {},
): Promise<void> {
  const fromImage = familiarName(ref);
  const tag = opts.allTags ? undefined : (ref.digest ?? ref.tag);
  const stream = await cli.client.imagePull(fromImage, {
    tag,
    platform: opts.platform,
    auth: credentialsFor(ref.domain),
  });
  await displayJsonMessages(stream, out ? progressOut(out) : discard);
}

// ------------------------------------------------------------------ images

function isDangling(i: ImageSummary): boolean {
  const tags = i.RepoTags ?? [];
  const digests = i.RepoDigests ?? [];
  if (!tags.length && !digests.length) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

interface ImageRow {
  repo: string;
  tag: string;
  digest: string;
}

/** docker's imageFormatTaggedAndDigest: one row per repository:tag, digests folded in. */
export function imageRows(i: ImageSummary, showDigests: boolean): ImageRow[] {
  if (isDangling(i)) return [{ repo: '<none>', tag: '<none>', digest: '<none>' }];
  const repoTags = new Map<string, string[]>();
  const repoDigests = new Map<string, string[]>();
  for (const t of i.RepoTags ?? []) {
    try {
      const r = parseReference(t);
      if (r.tag !== undefined && !r.digest) {
        const name = familiarName(r);
        repoTags.set(name, [...(repoTags.get(name) ?? []), r.tag]);
      }
    } catch {
      // not a reference: skip it as docker does
    }
  }
  for (const d of i.RepoDigests ?? []) {
    try {
      const r = parseReference(d);
      if (r.digest) {
        const name = familiarName(r);
        repoDigests.set(name, [...(repoDigests.get(name) ?? []), r.digest]);
      }
    } catch {
      // skip
    }
  }
  const rows: ImageRow[] = [];
  for (const [repo, tags] of repoTags) {
    const digests = showDigests ? (repoDigests.get(repo) ?? []) : [];
    repoDigests.delete(repo);
    for (const tag of tags) {
      if (!digests.length) rows.push({ repo, tag, digest: '<none>' });
      else for (const d of digests) rows.push({ repo, tag, digest: d });
    }
  }
  for (const [repo, digests] of repoDigests) {
    if (showDigests) for (const d of digests) rows.push({ repo, tag: '<none>', digest: d });
    else rows.push({ repo, tag: '<none>', digest: '' });
  }
  return rows;
}

export function imageContext(i: ImageSummary, r: ImageRow, trunc: boolean, now = Date.now()): Row {
  const f = {
    ID: trunc ? shortId(i.Id) : i.Id,
    Repository: r.repo,
    Tag: r.tag,
    Digest: r.digest,
    CreatedSince: ago(i.Created, now),
    CreatedAt: goTimeString(i.Created),
    Size: humanSize(i.Size, 3),
    Containers: i.Containers === -1 || i.Containers === undefined ? 'N/A' : String(i.Containers),
    VirtualSize: humanSize(i.VirtualSize ?? i.Size, 4),
    SharedSize: i.SharedSize === -1 || i.SharedSize === undefined ? 'N/A' : humanSize(i.SharedSize, 3),
    UniqueSize: i.SharedSize === -1 || i.SharedSize === undefined ? 'N/A' : humanSize(i.Size - i.SharedSize, 3),
  };
  return rowContext(f, () => ({ ...f }));
}

export const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

const images: Command = {
  spec: {
    usage: '[OPTIONS] [REPOSITORY[:TAG]]',
    description: 'List images',
    aliases: ['berth image ls', 'berth image list', 'berth images'],
    args: { max: 1 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Show all images (default hides intermediate images)' },
      { long: 'digests', type: 'bool', help: 'Show digests' },
      filterFlag(),
      TABLE_FORMAT_FLAG,
      { long: 'no-trunc', type: 'bool', help: "Don't truncate output" },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
      { long: 'tree', type: 'bool', hidden: true },
    ],
  },
  async run(cli, f, args) {
    const filters = parseFilterFlags(f.list('filter'));
    if (args[0]) (filters.reference ??= []).push(args[0]);
    const list = await cli.client.imageList({ all: f.bool('all'), filters, digests: f.bool('digests') });
    const trunc = !f.bool('no-trunc');
    // a custom format that shows digests gets rows per digest, as with --digests
    const digests = f.bool('digests') || /\.Digest\b/.test(f.str('format') ?? '');
    const rows: Row[] = [];
    const now = Date.now();
    for (const i of list) for (const r of imageRows(i, digests)) rows.push(imageContext(i, r, trunc, now));
    printRows(cli, rows, {
      format: f.str('format') ?? '',
      defaultTable: f.bool('digests')
        ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
        : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
      headers: IMAGE_HEADERS,
      quiet: '{{.ID}}',
      isQuiet: f.bool('quiet'),
    });
  },
};

// ------------------------------------------------------------------ pull / push

const pull: Command = {
  spec: {
    usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
    description: 'Download an image from a registry',
    aliases: ['berth image pull', 'berth pull'],
    args: { min: 1, max: 1 },
    flags: [
      { long: 'all-tags', short: 'a', type: 'bool', help: 'Download all tagged images in the repository' },
      { long: 'disable-content-trust', type: 'bool', default: true, hidden: true },
      { long: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
    ],
  },
  async run(cli, f, args) {
    const given = args[0]!;
    let ref = parseImageRef(given);
    const all = f.bool('all-tags');
    const explicitTag = /:[^/]+$/.test(given.split('@')[0]!) || given.includes('@');
    if (all && explicitTag) throw new StatusError(1, "tag can't be used with --all-tags/-a");
    if (!all && !explicitTag && !f.bool('quiet')) cli.out('Using default tag: latest\n');
    if (all) ref = { ...ref, tag: undefined };
    await pullImage(cli, ref, f.bool('quiet') ? null : cli.stdout, { platform: f.str('platform'), allTags: all });
    cli.out(`${fullName(ref)}\n`);
  },
};

const push: Command = {
  spec: {
    usage: '[OPTIONS] NAME[:TAG]',
    description: 'Upload an image to a registry',
    aliases: ['berth image push', 'berth push'],
    args: { min: 1, max: 1 },
    flags: [
      { long: 'all-tags', short: 'a', type: 'bool', help: 'Push all tags of an image to the repository' },
      { long: 'disable-content-trust', type: 'bool', default: true, hidden: true },
      {
        long: 'platform',
        type: 'string',
        help: 'Push a platform-specific manifest as a single-platform image to the registry',
      },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
      {
        long: 'compression',
        type: 'string',
        help: 'Compression of layers the registry does not have yet: gzip (default) or zstd[:level]',
      },
    ],
  },
  async run(cli, f, args) {
    const ref = parseImageRef(args[0]!);
    const all = f.bool('all-tags');
    const explicitTag = /:[^/]+$/.test(args[0]!);
    if (all && explicitTag) throw new StatusError(1, 'tag does not exist');
    if (!all && !explicitTag && !f.bool('quiet')) cli.out('Using default tag: latest\n');
    const name = familiarName(ref);
    const stream = await cli.client.imagePush(name, {
      tag: all ? undefined : ref.tag,
      auth: credentialsFor(ref.domain),
      compression: f.str('compression'),
    });
    await displayJsonMessages(stream, f.bool('quiet') ? discard : progressOut(cli.stdout));
    if (f.bool('quiet')) cli.out(`${fullName(ref)}\n`);
  },
};

// ------------------------------------------------------------------ tag / rmi / prune

const tag: Command = {
  spec: {
    usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    aliases: ['berth image tag', 'berth tag'],
    args: { min: 2, max: 2 },
    flags: [],
  },
  async run(cli, _f, args) {
    const target = parseImageRef(args[1]!);
    await cli.client.imageTag(args[0]!, familiarName(target), target.tag);
  },
};

const rmi: Command = {
  spec: {
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Remove one or more images',
    aliases: ['berth image rm', 'berth image remove', 'berth rmi'],
    args: { min: 1 },
    flags: [
      { long: 'force', short: 'f', type: 'bool', help: 'Force removal of the image' },
      { long: 'no-prune', type: 'bool', help: 'Do not delete untagged parents' },
    ],
  },
  async run(cli, f, args) {
    const errors: string[] = [];
    for (const name of args) {
      try {
        const items = await cli.client.imageRemove(name, { force: f.bool('force'), noprune: f.bool('no-prune') });
        for (const i of items ?? []) cli.out(i.Untagged ? `Untagged: ${i.Untagged}\n` : `Deleted: ${i.Deleted}\n`);
      } catch (e) {
        // with -f a missing image is reported but does not fail the command
        if (f.bool('force') && isNotFound(e)) cli.err(`${describeError(e)}\n`);
        else errors.push(describeError(e));
      }
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};

const imagePrune: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Remove unused images',
    args: { max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Remove all unused images, not just dangling ones' },
      ...pruneFlags('until=<timestamp>'),
    ],
  },
  async run(cli, f) {
    const all = f.bool('all');
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!(await confirmPrune(cli, f, warning))) return 0;
    const filters = parseFilterFlags(f.list('filter'));
    filters.dangling = [all ? 'false' : 'true'];
    const r = await cli.client.imagePrune(filters);
    cli.out(deletedList('Deleted Images', imageDeletions(r.ImagesDeleted)) + reclaimedLine(r.SpaceReclaimed ?? 0));
  },
};

// ------------------------------------------------------------------ history

export function historyContext(h: HistoryItem, trunc: boolean, human: boolean, now = Date.now()): Row {
  const createdBy = h.CreatedBy.replace(/\t/g, ' ');
  const f = {
    ID: trunc ? shortId(h.Id) : h.Id,
    CreatedSince: human ? ago(h.Created, now) : rfc3339(h.Created),
    CreatedAt: rfc3339(h.Created),
    CreatedBy: trunc ? ellipsis(createdBy, 45) : createdBy,
    Size: human ? humanSize(h.Size, 3) : String(h.Size),
    Comment: h.Comment,
  };
  return rowContext(f, () => ({ ...f }));
}

const history: Command = {
  spec: {
    usage: '[OPTIONS] IMAGE',
    description: 'Show the history of an image',
    aliases: ['berth image history', 'berth history'],
    args: { min: 1, max: 1 },
    flags: [
      TABLE_FORMAT_FLAG,
      {
        long: 'human',
        short: 'H',
        type: 'bool',
        default: true,
        help: 'Print sizes and dates in human readable format',
      },
      { long: 'no-trunc', type: 'bool', help: "Don't truncate output" },
      { long: 'platform', type: 'string', help: 'Show history for the given platform' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
    ],
  },
  async run(cli, f, args) {
    const items = await cli.client.imageHistory(args[0]!);
    const human = f.bool('human');
    const now = Date.now();
    printRows(
      cli,
      items.map((h) => historyContext(h, !f.bool('no-trunc'), human, now)),
      {
        format: f.str('format') ?? '',
        defaultTable: human
          ? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}'
          : 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
        headers: {
          ID: 'IMAGE',
          CreatedSince: 'CREATED',
          CreatedAt: 'CREATED AT',
          CreatedBy: 'CREATED BY',
          Size: 'SIZE',
          Comment: 'COMMENT',
        },
        quiet: '{{.ID}}',
        isQuiet: f.bool('quiet'),
      },
    );
  },
};

// ------------------------------------------------------------------ import / load / save

const importCmd: Command = {
  spec: {
    usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
    description: 'Import the contents from a tarball to create a filesystem image',
    aliases: ['berth image import', 'berth import'],
    args: { min: 1, max: 2 },
    flags: [
      { long: 'change', short: 'c', type: 'list', help: 'Apply Dockerfile instruction to the created image' },
      { long: 'message', short: 'm', type: 'string', help: 'Set commit message for imported image' },
      { long: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
    ],
  },
  async run(cli, f, args) {
    const [src, target] = args as [string, string | undefined];
    let repo: string | undefined;
    let tagName: string | undefined;
    if (target) {
      const r = parseImageRef(target);
      repo = familiarName(r);
      tagName = /:[^/]+$/.test(target) ? r.tag : undefined;
    }
    const isUrl = /^https?:\/\//.test(src);
    let body: Readable | undefined;
    if (src === '-') body = cli.stdin;
    else if (!isUrl) body = await openFile(src);
    const stream = await cli.client.imageImport(body, {
      fromSrc: isUrl ? src : '-',
      repo,
      tag: tagName,
      message: f.str('message'),
      changes: f.list('change'),
      platform: f.str('platform'),
    });
    await displayJsonMessages(stream, progressOut(cli.stdout));
  },
};

/** Opens a file for streaming, with docker's wording when it cannot be read. */
export async function openFile(path: string): Promise<Readable> {
  const s = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    s.once('open', () => resolve());
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new StatusError(
          1,
          `open ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EISDIR' ? 'is a directory' : e.message}`,
        ),
      ),
    );
  });
  return s;
}

const load: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Load an image from a tar archive or STDIN',
    aliases: ['berth image load', 'berth load'],
    args: { max: 0 },
    flags: [
      { long: 'input', short: 'i', type: 'string', help: 'Read from tar archive file, instead of STDIN' },
      { long: 'platform', type: 'list', help: 'Load only the given platform(s)' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Suppress the load output' },
    ],
  },
  async run(cli, f) {
    const input = f.str('input');
    if (!input && cli.inIsTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
    const body = input ? await openFile(input) : cli.stdin;
    const stream = await cli.client.imageLoad(body, { quiet: f.bool('quiet') || !cli.outIsTTY });
    await displayJsonMessages(stream, progressOut(cli.stdout));
  },
};

/** Refuses to write a tar to a terminal, as docker does. */
export function refuseTerminal(cli: Cli): void {
  if (cli.outIsTTY) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
}

/** Writes a stream to `-o file` or stdout. */
export async function writeOutput(cli: Cli, src: Readable, output: string | undefined): Promise<void> {
  if (output) {
    await pipeline(src, createWriteStream(output));
    return;
  }
  for await (const chunk of src as AsyncIterable<Buffer>) {
    if (!cli.stdout.write(chunk)) await new Promise<void>((r) => cli.stdout.once('drain', r));
  }
}

const save: Command = {
  spec: {
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    aliases: ['berth image save', 'berth save'],
    args: { min: 1 },
    flags: [
      { long: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' },
      { long: 'platform', type: 'list', help: 'Save only the given platform(s)' },
      {
        long: 'compression',
        type: 'string',
        help: 'Write layers compressed: gzip or zstd[:level] (default: uncompressed tars, as docker save)',
      },
    ],
  },
  async run(cli, f, args) {
    const output = f.str('output');
    if (!output) refuseTerminal(cli);
    const res = await cli.client.imageSave(args, { compression: f.str('compression') });
    await writeOutput(cli, res, output);
  },
};

// ------------------------------------------------------------------ pack (Berth's own)

const pack: Command = {
  spec: {
    usage: '[OPTIONS] IMAGE',
    description: 'Write an image as one squashfs file (run it with berth run FILE, load it with berth load)',
    args: { min: 1, max: 1 },
    flags: [{ long: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' }],
  },
  async run(cli, f, args) {
    const output = f.str('output');
    if (!output) refuseTerminal(cli);
    await writeOutput(cli, await cli.client.imagePack(args[0]!), output);
  },
};

// ------------------------------------------------------------------ bootstrap (Berth's own)

const bootstrap: Command = {
  spec: {
    usage: '[OPTIONS] NAME',
    description: 'Make a base image offline (busybox, debian:<suite>) and print its ID',
    args: { min: 1, max: 1 },
    flags: [{ long: 'quiet', short: 'q', type: 'bool', help: 'Only print the image ID' }],
  },
  async run(cli, f, args) {
    let id = '';
    const stream = await cli.client.imageBootstrap(args[0]!);
    await displayJsonMessages(stream, f.bool('quiet') ? discard : progressOut(cli.stdout), (m: JsonMessage) => {
      if (typeof m.aux?.ID === 'string') id = m.aux.ID;
    });
    if (id) cli.out(`${id}\n`);
  },
};

const imageInspect = inspectCommand('image');

/** `berth image ...` */
export const imageGroup: Record<string, Command> = {
  ls: images,
  list: images,
  pull,
  push,
  tag,
  rm: rmi,
  remove: rmi,
  prune: imagePrune,
  history,
  inspect: imageInspect,
  import: importCmd,
  load,
  save,
  bootstrap,
  pack,
};

/** Top-level shortcuts. */
export const imageShortcuts: Record<string, Command> = {
  images,
  pull,
  push,
  tag,
  rmi,
  history,
  import: importCmd,
  load,
  save,
};
