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
  process.on('uncaughtException', (e) => daemon.log.error(`uncaught exception: ${e.stack ?? e}`));
  process.on('unhandledRejection', (e) => daemon.log.error(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  const started = daemon.start();
  // One shutdown, after start has finished or failed: a shutdown that ran beside a start
  // would close what start had yet to open, and start would then open it for nobody (the
  // crun bind and listeners outlived such a daemon).
  let stopped: Promise<void> | undefined;
  const shutdown = () => (stopped ??= started.catch(() => {}).then(() => daemon.shutdown()));
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals === 1) {
      daemon.log.info(`received ${sig}, shutting down`);
      void shutdown()
        .catch((e) => daemon.log.error(`shutdown: ${(e as Error).message}`))
        .finally(() => process.exit(0));
    } else if (signals >= 3) {
      // As dockerd: a daemon stuck in start or shutdown can still be made to go.
      daemon.log.warn(`forcing shutdown without cleanup: ${signals} signals received`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    await started;
  } catch (e) {
    daemon.log.error(`failed to start daemon: ${(e as Error).message}`);
    // Undo what start did before it failed (mounts, bridge, pidfile), then fail.
    await shutdown().catch((err) => daemon.log.error(`shutdown: ${(err as Error).message}`));
    process.exit(1);
  }
}

void main();
