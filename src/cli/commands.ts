/**
 * Where each `berth` command is implemented, by name, without loading it: a process loads only
 * the module of the command it runs (a chunk of its own in the bundle), not every command's —
 * every command imported all of them, 418 kB of the bundle in 11 files, where `run` and `pod
 * create` now read ~160 kB. The names are written here by hand; commands.test.ts checks them
 * against what each module exports, so a command added there and not here fails a test.
 */
import type { Command } from './cli.ts';

/** A module's table of commands, and the names in it. */
export interface Source {
  readonly names: readonly string[];
  load(): Promise<Record<string, Command>>;
}

const source = (names: string, load: () => Promise<Record<string, Command>>): Source => ({
  names: names.split(' '),
  load,
});

// `run`, `create`, `start`, `attach`, `exec` apart from the other container commands: the
// commands a script runs most, and the ones that do not need the listing, formatting, copying
// and image code of the others.
const run = source('run create start attach exec', async () => (await import('./run.ts')).runCommands);
const containerShortcuts = source(
  'run create start attach exec ps stop restart kill pause unpause wait rm logs rename top port diff commit export stats cp update',
  async () => (await import('./containers.ts')).containerShortcuts,
);
const containerGroup = source(
  'run create start attach exec ls list ps stop restart kill pause unpause wait rm remove logs rename top port diff commit export stats prune cp update checkpoint restore inspect',
  async () => (await import('./containers.ts')).containerGroup,
);
const imageShortcuts = source(
  'images pull push tag rmi history import load save',
  async () => (await import('./images.ts')).imageShortcuts,
);
const imageGroup = source(
  'ls list pull push tag rm remove prune history inspect import load save bootstrap pack',
  async () => (await import('./images.ts')).imageGroup,
);
const build = source('build', async () => (await import('./build.ts')).buildCommands);
const trust = source('sign verify generate-key-pair', async () => (await import('./trust.ts')).trustCommands);
const networks = source(
  'create ls list inspect rm remove prune connect disconnect',
  async () => (await import('./networks.ts')).networkGroup,
);
const volumes = source(
  'create ls list inspect rm remove prune',
  async () => (await import('./volumes.ts')).volumeGroup,
);
const pods = source(
  'create ps ls list inspect start stop restart kill pause unpause rm prune top stats logs exists',
  async () => (await import('./pods.ts')).podGroup,
);
const systemCommands = source(
  'version info events login logout',
  async () => (await import('./system.ts')).systemCommands,
);
const systemGroup = source('info events', async () => (await import('./system.ts')).systemGroup);
const systemDisk = source('df prune', async () => (await import('./diskusage.ts')).systemDiskCommands);
const builder = source('prune', async () => (await import('./diskusage.ts')).builderCommands);
const dashboard = source('dashboard', async () => (await import('./dashboard.ts')).dashboardCommands);
const inspect = source('inspect', async () => ({ inspect: (await import('./inspect.ts')).inspect }));

/** The top-level commands; a name is looked up in the first source that lists it. */
export const TOP: readonly Source[] = [
  run,
  containerShortcuts,
  imageShortcuts,
  build,
  systemCommands,
  dashboard,
  inspect,
];

/** The management commands (`berth pod create`), each group's sources merged in this order. */
export const GROUPS: Record<string, { description: string; sources: readonly Source[] }> = {
  container: { description: 'Manage containers', sources: [run, containerGroup] },
  image: { description: 'Manage images', sources: [imageGroup, build, trust] },
  network: { description: 'Manage networks', sources: [networks] },
  volume: { description: 'Manage volumes', sources: [volumes] },
  pod: { description: 'Manage pods', sources: [pods] },
  system: { description: 'Manage Berth', sources: [systemGroup, systemDisk] },
  builder: { description: 'Manage builds', sources: [build, builder] },
};

/** The command `name` of these sources, loading only the module that has it; undefined: none has. */
export async function findCommand(sources: readonly Source[], name: string): Promise<Command | undefined> {
  const s = sources.find((s) => s.names.includes(name));
  return s ? (await s.load())[name] : undefined;
}

/** Every command of these sources, as the help lists them (loads each module). */
export async function allCommands(sources: readonly Source[]): Promise<Record<string, Command>> {
  const all: Record<string, Command> = {};
  for (const s of sources) Object.assign(all, await s.load());
  return all;
}
