/** config (the resolved model as compose-spec YAML or JSON) and version. */
import { stringify } from 'yaml';
import { COMPOSE_VERSION, imageName, type Project } from '../../compose/index.ts';
import type { ComposeCommand } from './command.ts';

/** The model as compose-spec YAML: what `config` prints. */
export function projectYaml(project: Project): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const [n, s] of Object.entries(project.services)) {
    const { name: _n, ...rest } = s;
    services[n] = rest;
  }
  return {
    name: project.name,
    services,
    ...(Object.keys(project.networks).length ? { networks: project.networks } : {}),
    ...(Object.keys(project.volumes).length ? { volumes: project.volumes } : {}),
  };
}

export const config: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Parse, resolve and render compose file in canonical format',
    flags: [
      { long: 'quiet', short: 'q', type: 'bool', help: "Only validate the configuration, don't print anything" },
      { long: 'services', type: 'bool', help: 'Print the service names, one per line' },
      { long: 'volumes', type: 'bool', help: 'Print the volume names, one per line' },
      { long: 'networks', type: 'bool', help: 'Print the network names, one per line' },
      { long: 'images', type: 'bool', help: 'Print the image names, one per line' },
      { long: 'profiles', type: 'bool', help: 'Print the profile names, one per line' },
      { long: 'format', type: 'string', default: 'yaml', help: 'Format the output. Values: [yaml | json]' },
      { long: 'output', short: 'o', type: 'string', help: 'Save to file (default to stdout)' },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project(args);
    if (f.bool('quiet')) return;
    const lines = (xs: string[]) => ctx.cli.out(xs.map((x) => `${x}\n`).join(''));
    if (f.bool('services')) return void lines(Object.keys(project.services));
    if (f.bool('volumes')) return void lines(Object.keys(project.volumes));
    if (f.bool('networks')) return void lines(Object.keys(project.networks));
    if (f.bool('images')) return void lines(Object.values(project.services).map((s) => imageName(project, s)));
    if (f.bool('profiles'))
      return void lines([...new Set(Object.values(project.services).flatMap((s) => s.profiles ?? []))].sort());
    const model = projectYaml(project);
    const text =
      f.str('format') === 'json'
        ? JSON.stringify(model, null, 2) + '\n'
        : stringify(model, { lineWidth: 0, aliasDuplicateObjects: false });
    if (f.str('output')) (await import('node:fs')).writeFileSync(f.str('output')!, text);
    else ctx.cli.out(text);
  },
};

export const version: ComposeCommand = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Show the Docker Compose version information',
    args: { max: 0 },
    flags: [
      { long: 'short', type: 'bool', help: "Shows only Compose's version number" },
      { long: 'format', short: 'f', type: 'string', help: 'Format the output. Values: [pretty | json]' },
    ],
  },
  async run(ctx, f) {
    if (f.bool('short')) ctx.cli.out(`${COMPOSE_VERSION}\n`);
    else if (f.str('format') === 'json') ctx.cli.out(JSON.stringify({ version: `v${COMPOSE_VERSION}` }) + '\n');
    else ctx.cli.out(`Berth Compose version v${COMPOSE_VERSION}\n`);
  },
};
