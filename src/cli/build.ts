/** `build` on the legacy builder (POST /build): context packing, .dockerignore, progress. */
import { looksLikeArchive, packPath, peek, singleFileTar } from '../archive/index.ts';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve as resolvePath } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { StreamError, type JsonMessage } from '../client/index.ts';
import { type Cli, type Command, StatusError, parseKeyValues } from './cli.ts';
import { humanSize } from './format.ts';
import { displayJsonMessages } from './progress.ts';
import { IgnoreMatcher, readIgnoreFile } from '../archive/index.ts';
import { expandEnv, parseBytes, badValue } from './flagvalues.ts';
import { parseImageRef, progressOut } from './images.ts';

/** Does this prefix look like an archive (tar, gzip, bzip2, xz, zstd)? */
export const isArchive = (head: Buffer): boolean => looksLikeArchive(head);

/** A local context directory as a tar stream, .dockerignore applied (Dockerfile and .dockerignore always kept). */
export function contextTar(
  dir: string,
  relDockerfile: string | undefined,
  extra?: { name: string; data: Buffer },
): Readable {
  let patterns: string[] = [];
  const ignorePath = join(dir, '.dockerignore');
  if (existsSync(ignorePath)) patterns = readIgnoreFile(readFileSync(ignorePath, 'utf8'));
  const m0 = new IgnoreMatcher(patterns);
  if (m0.excluded('.dockerignore')) patterns.push('!.dockerignore');
  if (relDockerfile && m0.excluded(relDockerfile)) patterns.push(`!${relDockerfile}`);
  const m = new IgnoreMatcher(patterns);
  return packPath(dir, {
    rootName: '',
    include: (rel) => !m.excluded(rel),
    descend: () => m.hasExceptions,
    append: extra ? [extra] : undefined,
  });
}

async function readAllStdin(cli: Cli): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of cli.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

const build: Command = {
  spec: {
    usage: '[OPTIONS] PATH | URL | -',
    description: 'Build an image from a Dockerfile',
    aliases: ['berth image build', 'berth build', 'berth builder build'],
    args: { min: 1, max: 1 },
    flags: [
      { long: 'add-host', type: 'list', help: 'Add a custom host-to-IP mapping ("host:ip")' },
      { long: 'build-arg', type: 'list', help: 'Set build-time variables' },
      { long: 'cache-from', type: 'list', valueName: 'strings', help: 'Images to consider as cache sources' },
      { long: 'compress', type: 'bool', help: 'Compress the build context using gzip' },
      { long: 'disable-content-trust', type: 'bool', default: true, hidden: true },
      { long: 'file', short: 'f', type: 'string', help: 'Name of the Dockerfile (Default is "PATH/Dockerfile")' },
      { long: 'force-rm', type: 'bool', help: 'Always remove intermediate containers' },
      { long: 'iidfile', type: 'string', help: 'Write the image ID to the file' },
      { long: 'label', type: 'list', help: 'Set metadata for an image' },
      { long: 'memory', short: 'm', type: 'string', valueName: 'bytes', help: 'Memory limit' },
      {
        long: 'network',
        type: 'string',
        default: 'default',
        help: 'Set the networking mode for the RUN instructions during build',
      },
      { long: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
      { long: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
      { long: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Suppress the build output and print image ID on success' },
      { long: 'rm', type: 'bool', default: true, help: 'Remove intermediate containers after a successful build' },
      {
        long: 'secret',
        type: 'list',
        valueName: 'stringArray',
        help: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")',
      },
      { long: 'shm-size', type: 'string', valueName: 'bytes', help: 'Size of "/dev/shm"' },
      { long: 'squash', type: 'bool', hidden: true },
      { long: 'tag', short: 't', type: 'list', help: 'Name and optionally a tag in the "name:tag" format' },
      { long: 'target', type: 'string', help: 'Set the target build stage to build.' },
    ],
  },
  async run(cli, f, args) {
    const specified = args[0]!;
    for (const t of f.list('tag')) {
      try {
        parseImageRef(t);
      } catch {
        throw badValue(t, '-t, --tag', 'invalid reference format');
      }
    }
    // Read before the context goes: a missing secret fails the build at once.
    const secrets = Object.fromEntries(
      f.list('secret').map((v) => {
        const { id, content } = readSecret(v, process.env);
        return [id, content.toString('base64')];
      }),
    );
    const dockerfileFlag = f.str('file');
    let body: AsyncIterable<Buffer> | undefined;
    let dockerfile: string | undefined;
    let remote: string | undefined;
    if (specified === '-') {
      if (dockerfileFlag === '-')
        throw new StatusError(1, "invalid argument: can't use stdin for both build context and dockerfile");
      const { head, stream } = await peek(cli.stdin as AsyncIterable<Buffer>, 512);
      if (isArchive(head)) {
        body = stream;
        dockerfile = dockerfileFlag;
      } else {
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c);
        body = Readable.from([await singleFileTar('Dockerfile', Buffer.concat(chunks))]);
        dockerfile = 'Dockerfile';
      }
    } else if (/^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(specified)) {
      remote = specified;
      dockerfile = dockerfileFlag;
    } else {
      const dir = resolvePath(specified);
      let st;
      try {
        st = statSync(dir);
      } catch {
        throw new StatusError(1, `unable to prepare context: path "${specified}" not found`);
      }
      if (st.isFile()) {
        // a local tarball as the context
        body = (await import('node:fs')).createReadStream(dir) as AsyncIterable<Buffer>;
        dockerfile = dockerfileFlag;
      } else {
        let extra: { name: string; data: Buffer } | undefined;
        if (dockerfileFlag === '-') {
          const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
          extra = { name, data: await readAllStdin(cli) };
          dockerfile = name;
        } else {
          let abs = dockerfileFlag ? resolvePath(dockerfileFlag) : join(dir, 'Dockerfile');
          if (!dockerfileFlag && !existsSync(abs) && existsSync(join(dir, 'dockerfile'))) abs = join(dir, 'dockerfile');
          if (!existsSync(abs)) {
            throw new StatusError(
              1,
              `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`,
            );
          }
          const rel = relative(dir, abs);
          if (rel.startsWith('..') || isAbsolute(rel)) {
            const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
            extra = { name, data: readFileSync(abs) };
            dockerfile = name;
          } else {
            dockerfile = rel.split('\\').join('/');
          }
        }
        body = contextTar(dir, extra ? undefined : dockerfile, extra);
      }
    }

    const quiet = f.bool('quiet');
    let sent = 0;
    let announced = false;
    let quietOut = '';
    const announce = () => {
      if (announced || remote) return;
      announced = true;
      const line = `Sending build context to Docker daemon ${humanSize(sent, 4).padStart(8)}\n`;
      // with -q the line joins the output shown only if the build fails
      if (quiet) quietOut += line;
      else cli.out(line);
    };
    const counted =
      body &&
      (async function* () {
        for await (const c of body) {
          sent += c.length;
          yield c;
        }
        announce();
      })();

    const buildArgs: Record<string, string | null> = {};
    for (const a of f.list('build-arg')) {
      const e = expandEnv(a);
      const eq = e.indexOf('=');
      buildArgs[eq < 0 ? e : e.slice(0, eq)] = eq < 0 ? null : e.slice(eq + 1);
    }
    const sizeFlag = (name: string) => {
      const v = f.str(name);
      if (!v) return undefined;
      try {
        return parseBytes(v);
      } catch (e) {
        throw badValue(v, name === 'memory' ? '-m, --memory' : `--${name}`, (e as Error).message);
      }
    };
    const stream = await cli.client.imageBuild(counted ? Readable.from(counted) : undefined, {
      tags: f.list('tag'),
      dockerfile,
      quiet,
      noCache: f.bool('no-cache'),
      remove: f.bool('rm'),
      forceRemove: f.bool('force-rm'),
      pull: f.bool('pull'),
      target: f.str('target'),
      platform: f.str('platform'),
      networkMode: f.str('network'),
      buildArgs,
      labels: parseKeyValues(f.list('label')),
      cacheFrom: f.list('cache-from'),
      extraHosts: f.list('add-host'),
      shmSize: sizeFlag('shm-size'),
      memory: sizeFlag('memory'),
      remote,
      secrets: Object.keys(secrets).length ? secrets : undefined,
    });
    announce();
    let imageId = '';
    let streamed = '';
    const out = quiet
      ? {
          write: (s: string) => {
            quietOut += s;
            streamed += s;
            return true;
          },
          isTTY: false,
        }
      : progressOut(cli.stdout);
    try {
      await displayJsonMessages(stream as AsyncIterable<JsonMessage>, out, (m) => {
        if (typeof m.aux?.ID === 'string') imageId = m.aux.ID;
      });
    } catch (e) {
      if (quiet && quietOut) cli.err(quietOut);
      if (e instanceof StreamError) throw new StatusError(e.code || 1, e.message);
      throw e;
    }
    if (quiet) cli.out(streamed.trim() ? streamed.replace(/\n?$/, '\n') : imageId ? `${imageId}\n` : '');
    const iid = f.str('iidfile');
    if (iid) {
      if (quiet && streamed.trim()) imageId = streamed.trim();
      if (!imageId) throw new StatusError(1, `Server did not provide an image ID. Cannot write ${iid}`);
      writeFileSync(iid, imageId);
    }
  },
};

export const buildCommands: Record<string, Command> = { build };

/**
 * A `--secret` value as buildx reads it: `id=ID,src=FILE` (or `source=`), `id=ID,env=VAR`,
 * `type=file|env` to say which, or `id=ID` alone (the variable ID if set, else the file ID).
 */
export function readSecret(value: string, env: NodeJS.ProcessEnv): { id: string; content: Buffer } {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw badValue(value, '--secret', `invalid field '${part}' must be a key=value pair`);
    const k = part.slice(0, eq).toLowerCase();
    if (!['id', 'src', 'source', 'env', 'type'].includes(k))
      throw badValue(value, '--secret', `unexpected key '${k}' in '${part}'`);
    fields.set(k, part.slice(eq + 1));
  }
  const id = fields.get('id');
  if (!id) throw badValue(value, '--secret', 'secret ID missing');
  const type = fields.get('type');
  const src = fields.get('src') ?? fields.get('source');
  const envName =
    fields.get('env') ?? (type === 'env' || (!src && type !== 'file' && env[id] !== undefined) ? id : undefined);
  if (envName !== undefined && type !== 'file') {
    const v = env[envName];
    if (v === undefined) throw new StatusError(1, `ERROR: secret ${id}: environment variable ${envName} is not set`);
    return { id, content: Buffer.from(v) };
  }
  const file = src ?? id;
  try {
    return { id, content: readFileSync(file) };
  } catch (e) {
    throw new StatusError(1, `ERROR: failed to read secret ${id} from ${file}: ${(e as Error).message}`);
  }
}
