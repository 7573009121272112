/**
 * The RUN step: a container of the container service on the stage's image (the default
 * network or `--network`, the build's host config), its output streamed into the build's,
 * killed when the build is cancelled; its overlay upper directory becomes the layer.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import { diffOverlayUpper, lowerStat, resolveInRoot } from '../../archive/index.ts';
import type { Instruction, RunMount } from '../../dockerfile/index.ts';
import { shortId } from '../../spec/index.ts';
import { BuildCache } from './cache.ts';
import { finish, useCache } from './commit.ts';
import { StepError, type PreparedBuild, type StageState, type StepContext } from './step.ts';

export async function runStep(
  ctx: StepContext,
  b: PreparedBuild,
  st: StageState,
  ins: Extract<Instruction, { kind: 'RUN' }>,
  shell: readonly string[],
  out: (s: string) => void,
): Promise<void> {
  const cmd = runCommand(ins, shell);
  const argEnv = argEnvOf(st);
  const createdBy = (argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ` : '') + cmd.join(' ');
  const mountSpec = ins.mounts.map((m) => JSON.stringify(m)).join(' ');
  const key = BuildCache.key(st.image?.id ?? null, createdBy + (mountSpec ? ` ${mountSpec}` : ''), ins.network ?? '');
  if (await useCache(ctx, b, st, key, createdBy, out)) return;
  if (!st.image) throw new StepError('failed to run: no image to run from: RUN in a stage FROM scratch has no shell');
  const network = ins.network ?? b.opts.networkMode ?? 'default';
  const c = st.config;
  const created = await ctx.containers.create({
    Image: st.image.id,
    Cmd: cmd,
    Entrypoint: [],
    Env: [...(c.Env ?? []), ...argEnv],
    User: c.User ?? '',
    WorkingDir: c.WorkingDir ?? '',
    Labels: {},
    HostConfig: {
      ...(b.opts.runHostConfig ?? {}),
      NetworkMode: network === 'default' ? 'default' : network,
      ...(await mountsFor(ctx, b, ins.mounts)),
    },
  } as never);
  const id = created.Id;
  out(` ---> Running in ${shortId(id)}\n`);
  // Whether the container stays: dockerd's legacy builder leaves the container of a RUN that
  // exited non-zero (`docker ps -a` shows it, `docker logs`/`commit` can inspect it) unless
  // --force-rm. One whose RUN had --mount is removed all the same: its mounts are the build's
  // scratch directories, gone when the build ends.
  let keep = false;
  let removed = false;
  try {
    const exit = ctx.containers.nextExit(id);
    const kill = () => void ctx.containers.kill(id, 'SIGKILL').catch(() => {});
    b.signal?.addEventListener('abort', kill);
    void exit.finally(() => b.signal?.removeEventListener('abort', kill));
    if (b.signal?.aborted) throw new StepError('build cancelled');
    await ctx.containers.start(id);
    // cancelled while it was starting: the kill then found nothing running yet
    if (b.signal?.aborted) kill();
    const rec = ctx.containers.store.get(id);
    for await (const entry of ctx.containers.logs(rec, { follow: true, untilExit: exit })) {
      // stderr in red, as dockerd's legacy builder marks it
      out(
        entry.stream === 'stderr' ? `\u001b[91m${entry.data.toString('utf8')}\u001b[0m` : entry.data.toString('utf8'),
      );
    }
    const code = await exit;
    if (b.signal?.aborted) throw new StepError('build cancelled');
    if (code !== 0) {
      keep = !b.opts.forceRm && ins.mounts.length === 0;
      throw new StepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    // The exit is reported before the rootfs is unmounted: the upper is complete either way,
    // and once unmounted it becomes the layer's directory as it is (no second unpack).
    const cdir = ctx.containers.dir(id);
    const upper = join(cdir, 'upper');
    if (ins.mounts.length)
      await removeMountStubs(
        upper,
        ctx.snapshots.lowerDirs(st.image.topChain),
        ins.mounts.map((m) => m.target),
      );
    let adopt = false;
    for (let i = 0; i < 100; i++) {
      if (!(await ctx.snapshots.isMounted(cdir))) {
        adopt = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const img = await ctx.images.commit({
      parent: st.image,
      layer: diffOverlayUpper(upper, { host: ctx.host, idMap: ctx.snapshots.idMap }),
      config: st.config,
      createdBy,
      author: st.author,
      containerId: id,
      ...(adopt ? { adoptDir: upper } : {}),
    });
    await ctx.containers.remove(id, { force: true, volumes: true });
    removed = true;
    out(`Removing intermediate container ${shortId(id)}\n`);
    await finish(ctx, st, img, key, out);
  } finally {
    if (!removed && !keep) await ctx.containers.remove(id, { force: true, volumes: true }).catch(() => {});
  }
}

/**
 * The command a RUN runs: exec form as written, shell form under the shell; a heredoc is the
 * script (one with a `#!` line runs as a file with its interpreter, as BuildKit runs it).
 */
export function runCommand(ins: Extract<Instruction, { kind: 'RUN' }>, shell: readonly string[]): string[] {
  let cmd: string[];
  if (ins.heredocs.length && ins.shellForm) {
    const line = ins.cmd[0] ?? '';
    const only = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/.exec(line.trim());
    if (only && ins.heredocs.length === 1 && ins.heredocs[0]!.content.startsWith('#!')) {
      const body = ins.heredocs[0]!.content;
      let end = 'BERTH_HEREDOC';
      while (body.includes(end)) end += '_';
      cmd = [
        ...shell,
        `f=/tmp/.berth-heredoc-$$; cat > "$f" <<'${end}'\n${body}${end}\nchmod +x "$f"; "$f"; rc=$?; rm -f "$f"; exit $rc`,
      ];
    } else if (only && ins.heredocs.length === 1) {
      cmd = [...shell, ins.heredocs[0]!.content];
    } else {
      let script = line;
      for (const h of ins.heredocs) script += `\n${h.content}${h.name}`;
      cmd = [...shell, script];
    }
  } else {
    cmd = ins.shellForm ? [...shell, ...ins.cmd] : ins.cmd;
  }
  return cmd;
}

/** The build args the command sees, `NAME=value` sorted (an ENV of the same name wins). */
export function argEnvOf(st: Pick<StageState, 'args' | 'config'>): string[] {
  const envNames = new Set((st.config.Env ?? []).map((e) => e.split('=')[0]));
  return [...st.args]
    .filter(([k]) => !envNames.has(k))
    .map(([k, v]) => `${k}=${v}`)
    .sort();
}

/**
 * RUN --mount as the container's binds and tmpfs: a cache is a directory of the daemon's own
 * per id (`<data-root>/builder/cache-mounts/`), there for every later build, never in a layer;
 * a bind is a path of this build's context, read-only (a writable one gets a copy, so writes go
 * nowhere, as in BuildKit); a secret is a read-only file of the build's own directory.
 */
async function mountsFor(
  ctx: StepContext,
  b: PreparedBuild,
  mounts: readonly RunMount[],
): Promise<{
  Mounts?: Array<{ Type: 'bind'; Source: string; Target: string; ReadOnly: boolean }>;
  Tmpfs?: Record<string, string>;
}> {
  if (!mounts.length) return {};
  const binds: Array<{ Type: 'bind'; Source: string; Target: string; ReadOnly: boolean }> = [];
  const tmpfs: Record<string, string> = {};
  for (const m of mounts) {
    if (m.type === 'tmpfs') tmpfs[m.target] = '';
    else if (m.type === 'secret') {
      const secret = b.opts.secrets?.get(m.id!);
      if (!secret) {
        // BuildKit's: an optional secret the client did not send is no mount at all.
        if (m.required) throw new StepError(`secret ${m.id}: not found`);
        continue;
      }
      // A file of this build's own, mode and owner as asked; it goes with the build's directory.
      const dir = join(b.dir, 'secrets');
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const path = join(dir, String(binds.length));
      await fs.writeFile(path, secret, { mode: 0o600 });
      await fs.chown(path, m.uid ?? 0, m.gid ?? 0);
      await fs.chmod(path, m.mode ?? 0o400);
      binds.push({ Type: 'bind', Source: path, Target: m.target, ReadOnly: true });
    } else if (m.type === 'cache') {
      const dir = join(
        ctx.mountsDir,
        '..',
        'cache-mounts',
        createHash('sha256').update(m.id!).digest('hex').slice(0, 32),
      );
      await fs.mkdir(dir, { recursive: true });
      binds.push({ Type: 'bind', Source: dir, Target: m.target, ReadOnly: m.readonly });
    } else {
      const src = await resolveInRoot(b.contextDir, m.source ?? '.');
      const stat = src ? await fs.stat(src).catch(() => undefined) : undefined;
      if (!src || !stat)
        throw new StepError(`failed to compute cache key: "${m.source}" not found in the build context`);
      // A writable bind gets a copy: its writes must reach neither the context nor the image.
      const copy = !m.readonly;
      let path = src;
      if (copy) {
        path = join(b.dir, 'bind-copies', String(binds.length));
        await fs.cp(src, path, { recursive: true });
      }
      binds.push({ Type: 'bind', Source: path, Target: m.target, ReadOnly: m.readonly && !copy });
    }
  }
  return { ...(binds.length ? { Mounts: binds } : {}), ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}) };
}

/**
 * The mount points the runtime made in the container's upper directory for RUN --mount targets
 * the image did not have: BuildKit leaves none of them in the layer. A target goes, and so do
 * the directories made only to hold it, when the image had no such path and it is empty.
 */
export async function removeMountStubs(upper: string, lowerDirs: readonly string[], targets: string[]): Promise<void> {
  for (const target of targets) {
    let rel = posix.normalize(`/${target}`).slice(1);
    while (rel && rel !== '.') {
      if (await lowerStat(lowerDirs, rel)) break;
      const path = join(upper, rel);
      const st = await fs.lstat(path).catch(() => undefined);
      if (st?.isDirectory() && !(await fs.readdir(path)).length) await fs.rmdir(path);
      else if (st?.isFile() && st.size === 0) await fs.rm(path);
      else break;
      rel = posix.dirname(rel);
    }
  }
}
