import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// main.js in a tree of its own: an app.ts and a bundled app.js that say which of them ran
function tree() {
  const root = mkdtempSync(join(tmpdir(), 'berth-main-'));
  mkdirSync(join(root, 'src/cli'), { recursive: true });
  mkdirSync(join(root, 'build/cli'), { recursive: true });
  copyFileSync(join(import.meta.dirname, 'main.js'), join(root, 'src/cli/main.js'));
  copyFileSync(join(import.meta.dirname, '../bundles.js'), join(root, 'src/bundles.js'));
  const app = (who: string) => `export function runProcess(args) { console.log('${who}', args.join(' ')); }\n`;
  writeFileSync(join(root, 'src/cli/app.ts'), app('sources'));
  writeFileSync(join(root, 'build/cli/app.js'), app('bundle'));
  const builtAt = Date.now();
  writeFileSync(join(root, 'build/cli/inputs.json'), JSON.stringify({ builtAt, inputs: ['src/cli/app.ts'] }));
  const past = new Date(builtAt - 60_000);
  utimesSync(join(root, 'src/cli/app.ts'), past, past);
  const run = () =>
    execFileSync(process.execPath, [join(root, 'src/cli/main.js'), 'ps', '-a'], { encoding: 'utf8' }).trim();
  return { root, run };
}

test('berth runs the bundle while no file it was built from has changed since', (t) => {
  const { root, run } = tree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(run(), 'bundle ps -a');
});

test('berth runs the sources once one of the files the bundle was built from is newer than it', (t) => {
  const { root, run } = tree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, 'src/cli/app.ts'), later, later);
  assert.equal(run(), 'sources ps -a');
});

test('berth runs the sources when there is no bundle, or it lists a file that is gone', (t) => {
  const { root, run } = tree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'build/cli/inputs.json'), JSON.stringify({ builtAt: Date.now(), inputs: ['src/gone.ts'] }));
  assert.equal(run(), 'sources ps -a');
  rmSync(join(root, 'build/cli'), { recursive: true });
  assert.equal(run(), 'sources ps -a');
});

test('the bundled berth loads none of the Node modules of TLS, child processes, workers or UDP to print its version', (t) => {
  const app = join(import.meta.dirname, '../../build/cli/app.js');
  if (!existsSync(app)) return t.skip('no bundle: npm run build makes it');
  const script = `import(${JSON.stringify(app)}).then((m) => { m.runProcess(['--version']); process.on('exit', () => console.error(process.moduleLoadList.join('\\n'))); });`;
  const { stdout, stderr } = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.match(stdout, /^Berth version /);
  const loaded = stderr
    .split('\n')
    .filter((m) => /^NativeModule (tls|https|child_process|worker_threads|dgram)$/.test(m));
  assert.deepEqual(loaded, []);
});

test('the bundled berth, its input a file, loads neither zlib nor file streams for a command that reads no input', (t) => {
  const app = join(import.meta.dirname, '../../build/cli/app.js');
  if (!existsSync(app)) return t.skip('no bundle: npm run build makes it');
  // A daemon that is not there: the command gets as far as its request, and fails.
  const args = ['-H', 'unix:///nonexistent/berth.sock', 'ps'];
  const script = `import(${JSON.stringify(app)}).then((m) => { m.runProcess(${JSON.stringify(args)}); process.on('exit', () => console.error(process.moduleLoadList.join('\\n'))); });`;
  // stdin from /dev/null, as under hyperfine or a redirect: Node would make it a file's read stream.
  const { stderr } = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.match(stderr, /^NativeModule http$/m, 'it made its request');
  const loaded = stderr.split('\n').filter((m) => /^NativeModule (zlib|internal\/fs\/(streams|promises))$/.test(m));
  assert.deepEqual(loaded, []);
});

// The files of build/cli/ that a bundled berth process loads for a command line, and their size.
function bundleFilesLoaded(args: string[]): { files: string[]; bytes: number } {
  const app = join(import.meta.dirname, '../../build/cli/app.js');
  const script = `
    const loaded = [];
    require('node:module').registerHooks({
      load(url, context, next) {
        const r = next(url, context);
        if (url.includes('/build/cli/')) loaded.push([url.slice(url.lastIndexOf('/') + 1), r.source.length]);
        return r;
      },
    });
    import(${JSON.stringify(app)}).then((m) => {
      process.on('exit', () => console.error(JSON.stringify(loaded)));
      m.runProcess(${JSON.stringify(args)});
    });`;
  // A daemon that is not there: the command loads its code, gets as far as its request, and fails.
  const { stderr } = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const loaded = JSON.parse(stderr.trim().split('\n').pop()!) as [string, number][];
  return { files: loaded.map(([f]) => f), bytes: loaded.reduce((n, [, b]) => n + b, 0) };
}

test('the bundled berth loads only the code of the command it runs: under 200 kB of the bundle for run and pod create', (t) => {
  if (!existsSync(join(import.meta.dirname, '../../build/cli/app.js')))
    return t.skip('no bundle: npm run build makes it');
  const host = ['-H', 'unix:///nonexistent/berth.sock'];
  const run = bundleFilesLoaded([...host, 'run', '-d', '--pod', 'p', 'busybox', 'true']);
  const podCreate = bundleFilesLoaded([...host, 'pod', 'create', '--name', 'p']);
  const help = bundleFilesLoaded(['--help']);
  // the help lists every command, so it loads every command's module: what the others leave out
  assert.ok(help.bytes > 350_000, `--help loaded ${help.bytes} bytes`);
  for (const [what, l] of Object.entries({ run, podCreate })) {
    assert.ok(l.files.length <= 16, `${what} loaded ${l.files.length} files: ${l.files.join(' ')}`);
    assert.ok(l.bytes < 200_000, `${what} loaded ${l.bytes} bytes`);
  }
});

// A tree whose bundle has two commands' own: `pod create`'s built from a.ts, `ps`'s from a.ts and b.ts.
function treeByCommand() {
  const t = tree();
  const app = (who: string) => `export function runProcess(args) { console.log('${who}', args.join(' ')); }\n`;
  for (const f of ['a.ts', 'b.ts']) writeFileSync(join(t.root, 'src/cli', f), '');
  const builtAt = Date.now();
  const inputs = ['src/cli/app.ts', 'src/cli/a.ts', 'src/cli/b.ts'];
  const sets = [[0], [0, 1], [0, 1, 2]];
  const commands = { '--version': 0, 'pod create': 1, ps: 2 };
  const bundles = ['version.js', 'pods.js', 'ps.js'];
  for (const b of bundles) writeFileSync(join(t.root, 'build/cli', b), app(`bundle ${b}`));
  writeFileSync(join(t.root, 'build/cli/inputs.json'), JSON.stringify({ builtAt, inputs, sets, commands, bundles }));
  const past = new Date(builtAt - 60_000);
  for (const f of inputs) utimesSync(join(t.root, f), past, past);
  const run = (...args: string[]) =>
    execFileSync(process.execPath, [join(t.root, 'src/cli/main.js'), ...args], { encoding: 'utf8' }).trim();
  const touch = (f: string, when = new Date(Date.now() + 60_000)) => utimesSync(join(t.root, f), when, when);
  return { root: t.root, run, touch };
}

test("a command runs a bundle of its own, checked against that bundle's files: an edit elsewhere leaves it in use, one of its own does not", (t) => {
  const { root, run, touch } = treeByCommand();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  touch('src/cli/b.ts'); // in ps's bundle, not pod create's
  assert.equal(
    run('-H', 'unix:///x.sock', 'pod', 'create', '--name', 'p'),
    'bundle pods.js -H unix:///x.sock pod create --name p',
  );
  assert.equal(run('--version'), 'bundle version.js --version');
  assert.equal(run('ps', '-a'), 'sources ps -a');
  // a command line the table does not name (the help, an unknown word) runs the whole bundle, every input checked
  assert.equal(run('--help'), 'sources --help');
  assert.equal(run('pod'), 'sources pod');
  assert.equal(run('frobnicate'), 'sources frobnicate');
  touch('src/cli/a.ts');
  assert.equal(run('pod', 'create'), 'sources pod create');
  touch('src/cli/app.ts');
  assert.equal(run('--version'), 'sources --version');
  for (const f of ['src/cli/app.ts', 'src/cli/a.ts', 'src/cli/b.ts']) touch(f, new Date(0));
  assert.equal(run('--help'), 'bundle --help');
  assert.equal(run('ps'), 'bundle ps.js ps');
});

test("the command names bundles.js reads from a command line are the ones app.ts's global flags leave", async () => {
  // JavaScript without declarations: its one function typed here
  const bundles: string = '../bundles.js';
  const { cliCommand } = (await import(bundles)) as { cliCommand(argv: string[]): string[] };
  const { parseGlobal } = await import('./app.ts');
  const lines = [
    ['pod', 'create', '--name', 'p'],
    ['-H', 'unix:///x.sock', 'run', '-d', 'busybox'],
    ['-H=unix:///x.sock', 'ps'],
    ['-Hunix:///x.sock', 'ps'],
    ['--host', 'tcp://h:1', 'kube', 'play', 'f.yaml'],
    ['--host=tcp://h:1', '--tls', '--tlsverify=false', 'images'],
    ['--tlscacert', 'ca.pem', '--tlscert=c.pem', '--tlskey', 'k.pem', 'info'],
    ['-c', 'ctx', 'pod', 'ls'],
    ['--context=ctx', '-D', '--debug', 'ps'],
    ['-l', 'debug', '--log-level=info', '--config', 'd', '--config=d', 'container', 'ls'],
    ['--', 'ps'],
    ['-', 'x'],
    ['ps'],
    ['-v'],
    ['--tls', '--version', 'ps'],
    ['-h', '-v'],
    ['--help'],
    [],
    ['--bogus', 'ps'],
    ['-cfoo', 'ps'],
    ['-H'],
  ];
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  for (const argv of lines) {
    process.stdout.write = process.stderr.write = () => true;
    let g;
    try {
      g = parseGlobal(argv);
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeErr;
    }
    const names = cliCommand(argv);
    if (g === 'help') assert.deepEqual(names, [], argv.join(' '));
    else if (typeof g === 'number') {
      // printed its version (0) or a usage error: app.ts's code alone, or everything checked
      if (names.length) assert.deepEqual(names, ['--version'], argv.join(' '));
    } else {
      const [first, second] = g.rest;
      const want = first === undefined ? [] : second === undefined ? [first] : [`${first} ${second}`, first];
      // every command app.ts runs is named; none for the help it prints without one
      assert.deepEqual(names, want, argv.join(' '));
    }
  }
});

test("a command's bundle is one file, and its inputs hold every source file that command loads when run from the sources", (t) => {
  const built = join(import.meta.dirname, '../../build/cli/inputs.json');
  if (!existsSync(built)) return t.skip('no bundle: npm run build makes it');
  const { inputs, sets, commands, bundles } = JSON.parse(readFileSync(built, 'utf8')) as {
    bundles: string[];
    inputs: string[];
    sets: number[][];
    commands: Record<string, number>;
  };
  const root = join(import.meta.dirname, '../../');
  const host = ['-H', 'unix:///nonexistent/berth.sock'];
  const lines: [string, string[]][] = [
    ['run', [...host, 'run', '-d', 'busybox', 'true']],
    ['pod create', [...host, 'pod', 'create', '--name', 'p']],
    ['ps', [...host, 'ps', '-a']],
    ['kube', [...host, 'kube', 'play', '/nonexistent.yaml']],
    ['--version', ['--version']],
  ];
  // the files a process loads (file: URLs) for a command line, running `entry`
  const mainScript = (args: string[], entry = join(root, 'src/cli/main.js')) => `
      const loaded = [];
      require('node:module').registerHooks({
        load(url, context, next) { if (url.startsWith('file:')) loaded.push(url); return next(url, context); },
      });
      process.on('exit', () => console.error(JSON.stringify(loaded)));
      process.argv.splice(1, Infinity, ${JSON.stringify(entry)}, ...${JSON.stringify(args)});
      import(${JSON.stringify(entry)});`;
  for (const [name, args] of lines) {
    const script = `
      const loaded = [];
      require('node:module').registerHooks({
        load(url, context, next) { if (url.startsWith('file:')) loaded.push(url); return next(url, context); },
      });
      process.on('exit', () => console.error(JSON.stringify(loaded)));
      import(${JSON.stringify(join(root, 'src/cli/app.ts'))}).then((m) => m.runProcess(${JSON.stringify(args)}));`;
    const { stderr } = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const loaded = (JSON.parse(stderr.trim().split('\n').pop()!) as string[]).map((u) =>
      fileURLToPath(u).slice(root.length),
    );
    const set = new Set(sets[commands[name]!]!.map((i) => inputs[i]));
    // and main.js runs that command's one file of build/cli
    const viaMain = spawnSync(process.execPath, ['-e', mainScript(args)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const files = (JSON.parse(viaMain.stderr.trim().split('\n').pop()!) as string[]).filter((u) =>
      u.includes('/build/cli/'),
    );
    assert.deepEqual(
      files.map((u) => u.slice(u.lastIndexOf('/') + 1)),
      [bundles[commands[name]!]],
      `${name}: its files of build/cli`,
    );
    assert.ok(loaded.includes('src/cli/app.ts'), `${name}: ran from the sources`);
    assert.deepEqual(
      loaded.filter((f) => !set.has(f)),
      [],
      `${name}: loads files its set leaves out`,
    );
  }
});
