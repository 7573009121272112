/**
 * The COPY and ADD step: the sources are found (in the context, in another stage's or an
 * image's root mounted for the step, inline heredocs, or URLs ADD downloads), hashed into the
 * history and cache key, and copied into the step's root with their owner and mode (copy.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import type { Instruction } from '../../dockerfile/index.ts';
import { messageOf } from '../../errdefs/index.ts';
import type { Image } from '../../images/index.ts';
import { resolveUser } from '../../oci/index.ts';
import { fileStep } from './commit.ts';
import { ADD_URL_MAX_BYTES, contentDigest, copyInto, download, matchSources, parseChmod, type Source } from './copy.ts';
import { stageNamed } from './stages.ts';
import { dockerSourceDigest } from './sourcehash.ts';
import { StepError, expand, shellOf, type PreparedBuild, type StageState, type StepContext } from './step.ts';

export async function copyStep(
  ctx: StepContext,
  b: PreparedBuild,
  st: StageState,
  ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>,
  env: Map<string, string>,
  results: Map<number, Image | null>,
  out: (s: string) => void,
): Promise<void> {
  const esc = b.df.escape;
  const x = (s: string) => expand(s, env, esc, ins.line);
  const written = x(ins.dest);
  const wd = st.config.WorkingDir || '/';
  let destRaw = posix.isAbsolute(written) ? written : posix.join(wd, written);
  if ((written.endsWith('/') || written === '.' || written.endsWith('/.')) && !destRaw.endsWith('/')) destRaw += '/';
  // where the sources come from: the context, another stage, or an image
  let srcRoot = b.contextDir;
  let fromWork: string | undefined;
  const fromMounted: string[] = [];
  try {
    if (ins.from !== undefined) {
      const from = x(ins.from);
      const stage = stageNamed(b.df, from);
      let img: Image | null | undefined;
      if (stage) {
        if (!results.has(stage.index))
          throw new StepError(`invalid from flag value ${from}: stage not built before this one`);
        img = results.get(stage.index);
      } else {
        img = ctx.images.store.find(from);
        if (!img)
          throw new StepError(
            `invalid from flag value ${from}: pull access denied for ${from}, repository does not exist or may require 'docker login'`,
          );
      }
      fromWork = join(ctx.mountsDir, `from-${randomBytes(4).toString('hex')}`);
      await fs.mkdir(fromWork, { recursive: true });
      srcRoot = await ctx.snapshots.mountRootfs(fromWork, (img?.topChain ?? null) as never);
      fromMounted.push(fromWork);
    }
    const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
    const sources: Source[] = [];
    const inline: Array<{ name: string; content: string }> = [];
    for (const raw of ins.sources) {
      const hm = /^<<-?["']?([^"']+)["']?$/.exec(raw);
      if (hm && heredocs.has(hm[1]!)) {
        const h = heredocs.get(hm[1]!)!;
        inline.push({ name: hm[1]!, content: h.quoted ? h.content : x(h.content) });
        continue;
      }
      const pattern = x(raw);
      if (/^https?:\/\//.test(pattern)) {
        if (ins.kind === 'COPY') throw new StepError("COPY failed: source can't be a URL for COPY");
        const got = await download(
          pattern,
          join(b.dir, `url-${randomBytes(4).toString('hex')}`),
          ADD_URL_MAX_BYTES,
          b.signal,
        ).catch((e) => {
          throw new StepError(messageOf(e));
        });
        if (ins.checksum) await verifyChecksum(got.abs, x(ins.checksum), pattern);
        sources.push(got);
        continue;
      }
      if (ins.checksum) throw new StepError("checksum can't be specified for non-HTTP(S) sources");
      const matched = await matchSources(srcRoot, pattern, ins.kind).catch((e) => {
        throw new StepError(messageOf(e));
      });
      sources.push(...matched);
    }
    if (sources.length === 0 && inline.length === 0)
      throw new StepError(`${ins.kind} failed: no source files were specified`);
    const inlineDigest = inline.map((f) => `${f.name}:${f.content}`).join('\0');
    const chmod = parseChmod(ins.chmod !== undefined ? x(ins.chmod) : undefined);
    const chown = ins.chown !== undefined ? x(ins.chown) : undefined;
    // Sources in the context or a stage: dockerd's own digest (sourcehash.ts). Downloads and
    // heredocs, which the legacy builder has no line for or names otherwise: Berth's.
    let source: string;
    if (inline.length === 0 && !sources.some((s) => s.remote)) source = await dockerSourceDigest(srcRoot, sources);
    else {
      const kind = sources.length === 1 && inline.length === 0 ? (sources[0]!.isDir ? 'dir' : 'file') : 'multi';
      source = `${kind}:${await contentDigest(sources)}`;
    }
    // history names the destination as written; the key has it resolved (WORKDIR may differ)
    const createdBy = `${shellOf(st.config).join(' ')} #(nop) ${ins.kind} ${source} in ${written} `;
    const extra = `${destRaw}\n${inlineDigest}\n${chown ?? ''}\n${chmod ?? ''}\n${ins.from ?? ''}`;
    await fileStep(ctx, b, st, createdBy, extra, out, async (rootfs, staging) => {
      let uid = 0;
      let gid = 0;
      if (chown) {
        try {
          const u = await resolveUser(chown.includes(':') ? chown : `${chown}:${chown}`, rootfs).catch(() =>
            resolveUser(chown, rootfs),
          );
          uid = u.uid;
          gid = chown.includes(':') ? u.gid : /^\d+$/.test(chown) ? u.uid : u.gid;
        } catch (e) {
          throw new StepError(`unable to convert uid/gid chown string to host mapping: ${messageOf(e)}`);
        }
      }
      await copyInto(
        rootfs,
        staging,
        {
          sources,
          inline,
          dest: destRaw,
          uid,
          gid,
          chmod,
          extract: ins.kind === 'ADD',
          chowned: chown !== undefined,
        },
        ctx.host,
        ins.kind,
        ctx.snapshots.idMap,
      ).catch((e) => {
        throw e instanceof StepError ? e : new StepError(`${ins.kind} failed: ${messageOf(e)}`);
      });
    });
  } finally {
    for (const w of fromMounted) {
      await ctx.snapshots.unmountRootfs(w).catch(() => {});
      await fs.rm(w, { recursive: true, force: true }).catch(() => {});
    }
  }
}

/** ADD --checksum: the download must have the digest given, or the step fails (BuildKit's words). */
async function verifyChecksum(file: string, want: string, url: string): Promise<void> {
  const [algo, hex] = want.split(':') as [string, string | undefined];
  if (!hex || !['sha256', 'sha384', 'sha512'].includes(algo)) throw new StepError('invalid checksum digest format');
  const h = createHash(algo);
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  const got = `${algo}:${h.digest('hex')}`;
  if (got !== want) throw new StepError(`digest mismatch ${want}: ${got} (${url})`);
}
