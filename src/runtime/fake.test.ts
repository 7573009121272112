/**
 * The fake runtime runs the runtime suite too: the services' unit tests rely on it behaving
 * as runc and crun do.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRuntime, runtimeSuite, taskId, type FakeProgram, type TaskShape } from './testing.ts';

/** Each shape as the arguments of a process the fake's program recognises. */
function argsOf(shape: TaskShape): string[] {
  switch (shape.kind) {
    case 'exits':
      return ['fake-exits', String(shape.code), ...(shape.lines ?? [])];
    case 'runs':
      return ['fake-runs'];
    case 'ignoresTerm':
      return ['fake-ignores-term'];
    case 'missing':
      return [shape.command];
  }
}

function program(args: string[]): FakeProgram {
  switch (args[0]) {
    case 'fake-exits':
      return { exitAfterMs: 0, exitCode: Number(args[1]), output: args.slice(2) };
    case 'fake-runs':
      return {};
    case 'fake-ignores-term':
      return { ignore: ['SIGTERM'] };
    default:
      return { createError: `exec: "${args[0]}": executable file not found in $PATH` };
  }
}

runtimeSuite('fake', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-fake-suite-'));
  const runtime = new FakeRuntime();
  runtime.program = program;
  let n = 0;
  return {
    runtime,
    async task(shape) {
      const id = taskId();
      const bundle = join(dir, id);
      await mkdir(bundle);
      return {
        id,
        bundle,
        logPath: join(bundle, 'ctr.log'),
        terminal: false,
        stdin: false,
        spec: { process: { args: argsOf(shape) } },
      };
    },
    async execProcess(_id, shape) {
      return { args: argsOf(shape) };
    },
    async execDir() {
      const d = join(dir, `exec-${n++}`);
      await mkdir(d);
      return d;
    },
    async close() {
      await rm(dir, { recursive: true, force: true });
    },
  };
});
