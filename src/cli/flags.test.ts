import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgsError, FlagError, helpText, parseArgs, type CommandSpec } from './flags.ts';

const spec: CommandSpec = {
  usage: 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  interspersed: false,
  args: { min: 1 },
  flags: [
    { long: 'detach', short: 'd', type: 'bool' },
    { long: 'interactive', short: 'i', type: 'bool' },
    { long: 'tty', short: 't', type: 'bool' },
    { long: 'rm', type: 'bool' },
    { long: 'sig-proxy', type: 'bool', default: true },
    { long: 'name', type: 'string' },
    { long: 'env', short: 'e', type: 'list' },
    { long: 'publish', short: 'p', type: 'list' },
    { long: 'last', short: 'n', type: 'int', default: -1 },
    { long: 'tail', type: 'string', default: 'all' },
  ],
};

test('long and short forms, values inline or next', () => {
  const p = parseArgs(
    ['--name', 'web', '-e', 'A=1', '-eB=2', '-e=C=3', '--env=D', '-p8080:80', '--rm', 'busybox'],
    spec,
  );
  assert.equal(p.flags.str('name'), 'web');
  assert.deepEqual(p.flags.list('env'), ['A=1', 'B=2', 'C=3', 'D']);
  assert.deepEqual(p.flags.list('publish'), ['8080:80']);
  assert.equal(p.flags.bool('rm'), true);
  assert.deepEqual(p.args, ['busybox']);
});

test('bundled short booleans and a trailing value flag', () => {
  const p = parseArgs(['-itd', 'busybox'], spec);
  assert.equal(p.flags.bool('interactive') && p.flags.bool('tty') && p.flags.bool('detach'), true);
  const q = parseArgs(['-ie', 'X=1', 'busybox'], spec);
  assert.deepEqual(q.flags.list('env'), ['X=1']);
});

test('booleans take =false, defaults apply, has() tells what was given', () => {
  const p = parseArgs(['--sig-proxy=false', '--rm=true', 'img'], spec);
  assert.equal(p.flags.bool('sig-proxy'), false);
  assert.equal(p.flags.bool('rm'), true);
  assert.equal(p.flags.str('tail'), 'all');
  assert.equal(p.flags.int('last'), -1);
  assert.equal(p.flags.has('tail'), false);
  assert.equal(p.flags.has('rm'), true);
});

test('a program keeps its own flags after the image (no interspersing)', () => {
  const p = parseArgs(['--rm', 'busybox', 'sh', '-c', 'echo --name', '-d'], spec);
  assert.deepEqual(p.args, ['busybox', 'sh', '-c', 'echo --name', '-d']);
  assert.equal(p.flags.bool('detach'), false);
});

test('interspersed commands take flags after positionals; -- ends flags; - is positional', () => {
  const s: CommandSpec = {
    usage: 'berth rm [OPTIONS] CONTAINER [CONTAINER...]',
    description: '',
    flags: [{ long: 'force', short: 'f', type: 'bool' }],
    args: { min: 1 },
  };
  assert.deepEqual(parseArgs(['a', '-f', 'b'], s).args, ['a', 'b']);
  assert.deepEqual(parseArgs(['a', '--', '-f'], s).args, ['a', '-f']);
  assert.deepEqual(parseArgs(['-'], s).args, ['-']);
});

test('docker wording for bad flags', () => {
  assert.throws(
    () => parseArgs(['--bogus', 'x'], spec),
    (e: unknown) => e instanceof FlagError && e.message === 'unknown flag: --bogus' && e.command === 'berth run',
  );
  assert.throws(() => parseArgs(['-z'], spec), { message: "unknown shorthand flag: 'z' in -z" });
  assert.throws(() => parseArgs(['--name'], spec), { message: 'flag needs an argument: --name' });
  assert.throws(() => parseArgs(['-n'], spec), { message: "flag needs an argument: 'n' in -n" });
  assert.throws(() => parseArgs(['-n', 'x', 'img'], spec), {
    message: 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax',
  });
  assert.throws(() => parseArgs(['--rm=maybe', 'img'], spec), /strconv.ParseBool/);
});

test('argument counts as docker words them', () => {
  assert.throws(
    () => parseArgs([], spec),
    (e: unknown) => e instanceof ArgsError && e.message === "'berth run' requires at least 1 argument",
  );
  const two: CommandSpec = {
    usage: 'berth rename CONTAINER NEW_NAME',
    description: '',
    flags: [],
    args: { min: 2, max: 2 },
  };
  assert.throws(() => parseArgs(['a'], two), { message: "'berth rename' requires 2 arguments" });
  const none: CommandSpec = { usage: 'berth ps [OPTIONS]', description: '', flags: [], args: { max: 0 } };
  assert.throws(() => parseArgs(['x'], none), { message: "'berth ps' accepts no arguments" });
});

test('--help skips argument checks and lays out options', () => {
  assert.equal(parseArgs(['--help'], spec).help, true);
  assert.equal(parseArgs(['-h'], spec).help, true);
  const text = helpText({
    usage: 'berth logs [OPTIONS] CONTAINER',
    description: 'Fetch the logs of a container',
    aliases: ['berth container logs', 'berth logs'],
    flags: [
      { long: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
      { long: 'tail', short: 'n', type: 'string', default: 'all', help: 'Number of lines' },
      { long: 'details', type: 'bool', help: 'Show extra details' },
    ],
  });
  assert.equal(
    text,
    [
      'Usage:  berth logs [OPTIONS] CONTAINER',
      '',
      'Fetch the logs of a container',
      '',
      'Aliases:',
      '  berth container logs, berth logs',
      '',
      'Options:',
      '      --details       Show extra details',
      '  -f, --follow        Follow log output',
      '  -n, --tail string   Number of lines (default "all")',
      '',
    ].join('\n'),
  );
});
