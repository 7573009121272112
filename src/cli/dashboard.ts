/**
 * `berth dashboard`: serves the web dashboard (ui/) in the foreground for the daemon that -H or
 * DOCKER_HOST names, prints the URL with its access token, and stops on Ctrl-C or SIGTERM.
 * With --tls-cert/--tls-key it serves HTTPS, so it can be opened from other machines without
 * the token crossing the network in clear text.
 */
import { fileWarnings, loadServerTls, type ServerTls } from '../tls/index.ts';

import { type Command, StatusError } from './cli.ts';

const dashboard: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Serve the web dashboard',
    args: { max: 0 },
    flags: [
      {
        long: 'listen',
        type: 'string',
        valueName: 'address',
        default: '127.0.0.1:8088',
        help: 'Address to serve the dashboard on (HOST:PORT)',
      },
      { long: 'tls-cert', type: 'string', valueName: 'file', help: 'Serve HTTPS with this certificate (PEM)' },
      { long: 'tls-key', type: 'string', valueName: 'file', help: "The certificate's private key (PEM)" },
    ],
  },
  async run(cli, f) {
    // The dashboard's server loads only when it is asked for: every other command starts faster.
    const { isLoopback, parseListen, startDashboard } = await import('../ui/index.ts');
    let listen;
    try {
      listen = parseListen(f.str('listen') ?? '127.0.0.1:8088');
    } catch (e) {
      throw new StatusError(125, (e as Error).message);
    }
    const cert = f.str('tls-cert');
    const key = f.str('tls-key');
    if ((cert === undefined) !== (key === undefined))
      throw new StatusError(125, '--tls-cert and --tls-key go together');
    let tls: ServerTls | undefined;
    if (cert !== undefined) {
      try {
        tls = loadServerTls({ cert, key: key! });
      } catch (e) {
        throw new StatusError(125, `invalid TLS configuration: ${(e as Error).message}`);
      }
      for (const w of fileWarnings([
        { path: cert, kind: 'cert' },
        { path: key!, kind: 'key' },
      ]))
        cli.err(`warning: ${w}\n`);
    }
    // fail now, not on the first page load, when no daemon answers
    await cli.client.ping();
    const d = await startDashboard({ client: cli.client, listen, tls });
    cli.out(`Berth dashboard: ${d.url}\n`);
    if (!isLoopback(listen.host)) {
      cli.err(
        `warning: listening on ${listen.host}: anyone who can reach it and has the token controls the daemon (it runs as root)\n`,
      );
      if (!tls)
        cli.err('warning: without --tls-cert and --tls-key the token and its cookie cross the network in clear text\n');
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await d.close();
    return 0;
  },
};

export const dashboardCommands: Record<string, Command> = { dashboard };
