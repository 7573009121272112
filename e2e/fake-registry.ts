/**
 * Runs the in-memory test registry of src/registry on 127.0.0.1 until SIGTERM; prints its
 * `host:port` on the first line. For tests in other languages (e2e/python) while a checkout has
 * no bin/berth-registry. `--auth user:password` turns on token auth.
 */
import { startFakeRegistry } from '../src/registry/index.ts';

const i = process.argv.indexOf('--auth');
const [username, password] = i > 0 ? (process.argv[i + 1] ?? ':').split(':') : [];
const reg = await startFakeRegistry(username ? { auth: { scheme: 'bearer', username, password: password ?? '' } } : {});
process.stdout.write(`${reg.host}\n`);
const stop = () => void reg.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
