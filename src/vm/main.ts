/**
 * `berth-vm`, the micro-VM OCI runtime (bin/berth-vm): runc's command line over a qemu microvm
 * per container. See cli.ts for the commands and commands.ts for what each does.
 */
import { RealHost } from '../host/index.ts';
import { main } from './cli.ts';

const host = new RealHost();
const code = await main(process.argv.slice(2), host, {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
});
host.close();
process.exitCode = code;
