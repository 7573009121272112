/**
 * The infra image: build/berth-pause (a static C program, services/pods/berth-pause.c) as a
 * one-file image, imported into the daemon's own image store the first time a pod needs it.
 * A pod never needs an image from the internet (Podman builds its `podman-pause` image
 * locally from catatonit the same way). The tag carries the program's digest, so a new
 * berth-pause gets a new image, and an image removed by `image prune -a` is imported again.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { unavailable } from '../../errdefs/index.ts';
import type { ImageService } from '../images/index.ts';

/** The path of the infra program inside its image. */
export const PAUSE_COMMAND = '/berth-pause';

export class InfraImage {
  private readonly images: ImageService;
  private readonly programPath: string;
  private pending: Promise<string> | undefined;

  constructor(images: ImageService, programPath: string) {
    this.images = images;
    this.programPath = programPath;
  }

  /** The infra image's reference, imported first if the store lacks it. */
  ensure(): Promise<string> {
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async load(): Promise<string> {
    const program = await fs.readFile(this.programPath).catch((e: Error) => {
      throw unavailable(`pod infra program ${this.programPath} is missing: run npm run setup`, e);
    });
    const ref = `localhost/berth-pause:${createHash('sha256').update(program).digest('hex').slice(0, 12)}`;
    if (this.images.store.find(ref)) return ref;
    const tar = pack();
    tar.entry({ name: PAUSE_COMMAND.slice(1), mode: 0o755, size: program.length, mtime: new Date(0) }, program);
    tar.finalize();
    const chunks: Buffer[] = [];
    for await (const c of tar as unknown as AsyncIterable<Buffer>) chunks.push(c);
    await this.images.import(Readable.from([Buffer.concat(chunks)]), {
      ref,
      changes: [`CMD ["${PAUSE_COMMAND}"]`],
      message: 'berth pod infra',
      progress: () => {},
    });
    return ref;
  }
}
