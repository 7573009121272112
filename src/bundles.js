/**
 * Whether a bundle under build/ (scripts/bundle.ts: `cli`, `berthd`) may run instead of the
 * sources: only while no file it was built from is newer than the build, or gone — so that the
 * sources stay the truth. Shared by the two entry points (src/cli/main.js, src/daemon/boot.js);
 * JavaScript, as they are, so that nothing is type-stripped before the bundle runs.
 */
// Node's module through getBuiltinModule, not an import: an ES import of node:fs builds its
// namespace by reading every export, and the getter of ReadStream loads fs's streams and the
// stream modules under them — a tenth of `berth --version`'s CPU, paid by every command.
const { readFileSync, statSync } = process.getBuiltinModule('node:fs');

// A path, not a URL: a URL per input (~250 of them) was a tenth of the check.
const ROOT = `${import.meta.dirname}/../`;

/**
 * The file of the bundle to run, or undefined when it is stale: the bundle of the command, when
 * it has one of its own (the CLI's, scripts/commandinputs.ts), with only that file's inputs
 * checked; else `entry`, with every input of the bundle checked.
 * @param {string} name the bundle's folder under build/
 * @param {string} entry its entry file
 * @param {string[]} [command] the command line's names for the command it runs, most precise
 *   first (cliCommand)
 * @returns {string | undefined} a path under build/<name>/
 */
export function freshBundle(name, entry, command = []) {
  try {
    const built = JSON.parse(readFileSync(`${ROOT}build/${name}/inputs.json`, 'utf8'));
    const { builtAt, inputs } = built;
    const key = built.commands && command.find((k) => Object.hasOwn(built.commands, k));
    if (key !== undefined) {
      const i = built.commands[key];
      for (const n of built.sets[i]) if (statSync(ROOT + inputs[n]).mtimeMs > builtAt) return undefined;
      return built.bundles[i];
    }
    for (const p of inputs) if (statSync(ROOT + p).mtimeMs > builtAt) return undefined;
    return entry;
  } catch {
    return undefined; // no bundle, or an input gone
  }
}

/** @param {string} name the bundle's folder under build/ */
export function bundleIsFresh(name) {
  return freshBundle(name, '') !== undefined;
}

// The global flags of `berth` (src/cli/app.ts's parseGlobal) that take the next word as their value
const VALUE_FLAGS = new Set([
  '-H',
  '--host',
  '-c',
  '--context',
  '--tlscacert',
  '--tlscert',
  '--tlskey',
  '-l',
  '--log-level',
  '--config',
]);
// and those that do not
const FLAGS = /^(-D|--debug|--tls(verify)?(=.*)?|--(host|context|tlscacert|tlscert|tlskey|log-level|config)=.*|-H.+)$/s;

/**
 * The names a `berth` command line may give the command it runs: `['pod create', 'pod']` for
 * `berth -H x pod create --name p`, `['--version']`; none (check everything) for the help or a
 * global flag this scan does not know. Its reading of the global flags must agree with app.ts's,
 * or a command would check another's inputs: bundles.test.ts holds them together.
 * @param {string[]} argv
 * @returns {string[]}
 */
export function cliCommand(argv) {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--') {
      i++;
      break;
    }
    if (a === '-v' || a === '--version') return ['--version'];
    if (VALUE_FLAGS.has(a)) i++;
    else if (!FLAGS.test(a)) return [];
  }
  const [first, second] = argv.slice(i, i + 2);
  if (first === undefined) return [];
  return second === undefined ? [first] : [`${first} ${second}`, first];
}
