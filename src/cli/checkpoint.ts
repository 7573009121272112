/**
 * `berth container checkpoint` and `berth container restore` (Podman's): a checkpoint of a
 * running container, optionally exported with the container's file system changes to one
 * file (`--export`), and a restore — from one of the container's checkpoints, or from such a
 * file into this daemon (`--import`), which makes the container here and starts it from the
 * checkpoint. `docker checkpoint` and `docker start --checkpoint` reach the same API.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { StatusError, type Command } from './cli.ts';

const checkpoint: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER [CHECKPOINT]',
    description: 'Checkpoint a running container (and export it with --export)',
    aliases: ['berth container checkpoint'],
    args: { min: 1, max: 2 },
    flags: [
      {
        long: 'export',
        short: 'e',
        type: 'string',
        help: 'Export the checkpoint and the file system changes to a tar file',
      },
      { long: 'leave-running', short: 'R', type: 'bool', help: 'Leave the container running after the checkpoint' },
    ],
  },
  async run(cli, f, args) {
    const [id, given] = args as [string, string | undefined];
    const name = given ?? `checkpoint-${Date.now().toString(36)}`;
    await cli.client.checkpointCreate(id, name, { exit: !f.bool('leave-running') });
    const file = f.str('export');
    if (file) await pipeline(await cli.client.checkpointExport(id, name), createWriteStream(file));
    cli.out(`${given ?? id}\n`);
  },
};

const restore: Command = {
  spec: {
    usage: '[OPTIONS] [CONTAINER CHECKPOINT]',
    description: 'Restore a container from a checkpoint, or from an exported one with --import',
    aliases: ['berth container restore'],
    args: { min: 0, max: 2 },
    flags: [
      { long: 'import', short: 'i', type: 'string', help: 'Make the container from an exported checkpoint file' },
      { long: 'name', short: 'n', type: 'string', help: 'Name of the imported container' },
    ],
  },
  async run(cli, f, args) {
    const file = f.str('import');
    if (file) {
      if (args.length) throw new StatusError(1, '"berth container restore --import" takes no container');
      const { Id, Checkpoint } = await cli.client.checkpointImport(createReadStream(file), { name: f.str('name') });
      await cli.client.containerStartFromCheckpoint(Id, Checkpoint);
      cli.out(`${Id}\n`);
      return;
    }
    if (args.length !== 2)
      throw new StatusError(1, '"berth container restore" requires a container and a checkpoint, or --import');
    await cli.client.containerStartFromCheckpoint(args[0]!, args[1]!);
    cli.out(`${args[0]}\n`);
  },
};

/** Commands of `berth container`. */
export const checkpointCommands: Record<string, Command> = { checkpoint, restore };
