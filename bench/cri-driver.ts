/**
 * The CRI client of bench/cri.sh: drives several CRI runtimes (Berth, containerd) in one
 * process with the gRPC client built from Berth's CRI definitions (the same wire kubelet uses),
 * alternating between them so that the machine's load falls on both alike. crictl would do the
 * same calls, but its own start (~30 ms a call, seven calls a pod) would be most of what is timed.
 *
 *   bin/node bench/cri-driver.ts cycle <runs> <image> <logdir> <name>=<socket>...
 *       runs times, for each runtime in turn: RunPodSandbox, CreateContainer, StartContainer,
 *       StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox; one warm-up first.
 *       Prints one JSON line: per runtime, the median of each call and of the whole cycle (ms).
 *   bin/node bench/cri-driver.ts hold <count> <image> <logdir> <socket>
 *       starts <count> sandboxes, each with one running container, and leaves them running.
 *   bin/node bench/cri-driver.ts clear <socket>
 *       stops and removes every sandbox.
 *
 * BENCH_CRI_NETWORK=host puts the sandboxes in the host's network (no CNI); by default they get
 * the runtime's CNI network.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criDefinitions } from '../src/cri/index.ts';

const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;

function client(sock: string): grpc.Client {
  return new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': 'localhost',
  });
}

function call<T = any>(c: grpc.Client, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (c as any)[method](request, { deadline: Date.now() + 120_000 }, (err: grpc.ServiceError | null, res: T) =>
      err ? reject(new Error(`${method}: ${err.message}`)) : resolve(res),
    );
  });
}

const hostNetwork = process.env.BENCH_CRI_NETWORK === 'host';

function sandboxConfig(name: string, logdir: string) {
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'bench', attempt: 0 },
    hostname: hostNetwork ? '' : name,
    log_directory: join(logdir, name),
    linux: hostNetwork
      ? { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } }
      : {},
  };
}

const PHASES = [
  'RunPodSandbox',
  'CreateContainer',
  'StartContainer',
  'StopContainer',
  'RemoveContainer',
  'StopPodSandbox',
  'RemovePodSandbox',
] as const;

async function startPod(c: grpc.Client, name: string, image: string, logdir: string, times?: Record<string, number>) {
  const at = () => performance.now();
  const config = sandboxConfig(name, logdir);
  let t = at();
  const { pod_sandbox_id: pod } = await call(c, 'RunPodSandbox', { config });
  if (times) times.RunPodSandbox = at() - t;
  t = at();
  const { container_id: id } = await call(c, 'CreateContainer', {
    pod_sandbox_id: pod,
    config: {
      metadata: { name: 'app', attempt: 0 },
      image: { image },
      command: ['sleep', '3600'],
      log_path: 'app.log',
    },
    sandbox_config: config,
  });
  if (times) times.CreateContainer = at() - t;
  t = at();
  await call(c, 'StartContainer', { container_id: id });
  if (times) times.StartContainer = at() - t;
  return { pod, id };
}

async function cycle(c: grpc.Client, name: string, image: string, logdir: string): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  const start = performance.now();
  const { pod, id } = await startPod(c, name, image, logdir, times);
  const timed = async (method: (typeof PHASES)[number], req: object) => {
    const t = performance.now();
    await call(c, method, req);
    times[method] = performance.now() - t;
  };
  await timed('StopContainer', { container_id: id, timeout: 0 });
  await timed('RemoveContainer', { container_id: id });
  await timed('StopPodSandbox', { pod_sandbox_id: pod });
  await timed('RemovePodSandbox', { pod_sandbox_id: pod });
  times.total = performance.now() - start;
  return times;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const [mode, ...args] = process.argv.slice(2);
if (mode === 'cycle') {
  const [runs, image, logdir, ...targets] = args;
  const runtimes = targets.map((t) => {
    const [name, sock] = t.split('=') as [string, string];
    return { name, c: client(sock), samples: [] as Record<string, number>[] };
  });
  for (let i = 0; i <= Number(runs); i++)
    for (const r of runtimes) {
      const s = await cycle(r.c, `cycle-${r.name}-${i}`, image!, logdir!);
      if (i > 0) r.samples.push(s); // the first is the warm-up
    }
  const out: Record<string, Record<string, number>> = {};
  for (const r of runtimes) {
    out[r.name] = Object.fromEntries(
      [...PHASES, 'total'].map((p) => [p, Number(median(r.samples.map((s) => s[p]!)).toFixed(1))]),
    );
    r.c.close();
  }
  console.log(JSON.stringify(out));
} else if (mode === 'hold') {
  const [count, image, logdir, sock] = args;
  const c = client(sock!);
  for (let i = 0; i < Number(count); i++) await startPod(c, `held-${i}`, image!, logdir!);
  c.close();
} else if (mode === 'clear') {
  const c = client(args[0]!);
  const { items } = await call(c, 'ListPodSandbox', {});
  for (const s of items) {
    await call(c, 'StopPodSandbox', { pod_sandbox_id: s.id });
    await call(c, 'RemovePodSandbox', { pod_sandbox_id: s.id });
  }
  c.close();
} else {
  console.error('usage: cri-driver.ts cycle|hold|clear ...');
  process.exit(2);
}
