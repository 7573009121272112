/** The commands about the services' images: build, pull, images. */
import { ComposeEngine, nameOf, withDependencies } from '../../compose/index.ts';
import { humanSize, shortId, tabwrite } from '../format.ts';
import type { ComposeCommand } from './command.ts';
import { builder } from './output.ts';

export const build: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Build or rebuild services',
    flags: [
      { long: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
      { long: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
      { long: 'quiet', short: 'q', type: 'bool', help: "Don't print anything to STDOUT" },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project(args);
    const e = new ComposeEngine(ctx.cli.client, project, ctx.reporter, builder(ctx.cli, ctx.reporter, f.bool('quiet')));
    e.checkServices(args);
    await e.build(args.length ? args : Object.keys(project.services), {
      noCache: f.bool('no-cache'),
      pull: f.bool('pull'),
    });
  },
};

export const pull: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Pull service images',
    flags: [
      { long: 'ignore-pull-failures', type: 'bool', help: 'Pull what it can and ignores images with pull failures' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Pull without printing progress information' },
      { long: 'include-deps', type: 'bool', help: 'Also pull services declared as dependencies' },
    ],
  },
  async run(ctx, f, args) {
    const { project, e } = ctx.forServices(args, { enable: true });
    const targets = args.length
      ? f.bool('include-deps')
        ? withDependencies(project.services, args)
        : args
      : Object.keys(project.services);
    // services built here have no registry image to pull unless they also name one
    await e.pull(
      targets.filter((n) => project.services[n]!.image && !project.services[n]!.build),
      { ignoreFailures: f.bool('ignore-pull-failures') },
    );
  },
};

export const images: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List images used by the created containers',
    flags: [
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display IDs' },
      { long: 'format', type: 'string', default: 'table', help: 'Format the output. Values: [table | json]' },
    ],
  },
  async run(ctx, f, args) {
    const { e } = ctx.forServices(args);
    const rows: { c: string; repo: string; tag: string; id: string; size: number }[] = [];
    for (const c of await e.containers({ all: true, services: args })) {
      const img = await ctx.cli.client.imageInspect(c.ImageID || c.Image).catch(() => undefined);
      const ref = c.Image;
      const colon = ref.lastIndexOf(':');
      const [repo, tag] = colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
      rows.push({
        c: nameOf(c),
        repo,
        tag,
        id: img?.Id ?? c.ImageID,
        size: (img as { Size?: number } | undefined)?.Size ?? 0,
      });
    }
    if (f.bool('quiet')) return void ctx.cli.out([...new Set(rows.map((r) => r.id))].map((x) => `${x}\n`).join(''));
    if (f.str('format') === 'json')
      return void ctx.cli.out(
        JSON.stringify(
          rows.map((r) => ({ ContainerName: r.c, Repository: r.repo, Tag: r.tag, ID: r.id, Size: r.size })),
        ) + '\n',
      );
    ctx.cli.out(
      tabwrite(
        `CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE\n${rows.map((r) => `${r.c}\t${r.repo}\t${r.tag}\t${shortId(r.id)}\t${humanSize(r.size)}\n`).join('')}`,
        10,
        3,
      ),
    );
  },
};
