/** berthd: parse flags, start the daemon, stop it cleanly on SIGINT/SIGTERM. */
import { parseFlags, USAGE } from './config.ts';
import { Daemon } from './daemon.ts';
import { BERTH_VERSION } from '../api/server/index.ts';

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = parseFlags(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(125);
  }
  if (cfg.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (cfg.version) {
    process.stdout.write(`Berth version ${BERTH_VERSION}\n`);
    return;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd needs to be started with root privileges (rootless mode is not supported yet)\n');
    process.exit(1);
  }
  const daemon = new Daemon(cfg);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    daemon.log.info(`received ${sig}, shutting down`);
    try {
      await daemon.shutdown();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('uncaughtException', (e) => daemon.log.error(`uncaught exception: ${e.stack ?? e}`));
  process.on('unhandledRejection', (e) => daemon.log.error(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  try {
    await daemon.start();
  } catch (e) {
    daemon.log.error(`failed to start daemon: ${(e as Error).message}`);
    process.exit(1);
  }
}

void main();
