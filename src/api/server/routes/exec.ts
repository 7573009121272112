/** `docker exec`: POST /containers/{id}/exec, POST /exec/{id}/start|resize, GET /exec/{id}/json. */
import type { Router } from '../router.ts';
import { execStartFailure, type ExecService } from '../../../services/exec/index.ts';
import type { ExecConfig, ExecInspect, ExecStartConfig, IdResponse } from '../../../api/types/index.ts';
import { pump, terminalSize } from './container-streams.ts';

export function registerExec(r: Router, execs: ExecService): void {
  r.post('/containers/{id}/exec', async (req, res) => {
    res.json(201, execs.create(req.params.id!, await req.json<ExecConfig>()) satisfies IdResponse);
  });

  r.post('/exec/{id}/start', async (req, res) => {
    const body = (await req.json<ExecStartConfig | null>().catch(() => null)) ?? {};
    const e = execs.get(req.params.id!);
    if (body.Detach) {
      await execs.start(e.ID, { consoleSize: body.ConsoleSize });
      res.empty(200);
      return;
    }
    // The framing follows the start body (the process's terminal follows the create config): a
    // TTY exec started with Tty false is multiplexed, all of it on stdout, as dockerd sends it.
    const tty = body.Tty ?? !!e.config.Tty;
    // Errors before the process runs are still plain HTTP errors; after the hijack they are
    // written on the stream (the CLI prints them) and the exec's exit code tells the rest.
    const sock = res.hijack(tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
    try {
      await execs.start(e.ID, { consoleSize: body.ConsoleSize });
    } catch (err) {
      const msg = `${execStartFailure(err as Error)}\r\n`;
      if (tty) sock.write(msg);
      else {
        const head = Buffer.alloc(8);
        head[0] = 2;
        head.writeUInt32BE(Buffer.byteLength(msg), 4);
        sock.write(Buffer.concat([head, Buffer.from(msg)]));
      }
      sock.end();
      return;
    }
    const ac = new AbortController();
    sock.on('close', () => ac.abort());
    sock.on('error', () => ac.abort());
    if (e.config.AttachStdin) {
      void execs.attachStdin(e, sock).then((how) => {
        if (how === 'detached') ac.abort();
      });
    }
    await pump(execs.output(e, ac.signal), sock, {
      stdout: e.config.AttachStdout !== false,
      stderr: e.config.AttachStderr !== false,
      tty,
      timestamps: false,
    });
    // The CLI reads the exit code (GET /exec/{id}/json) once the stream closes: have it first.
    if (!ac.signal.aborted) await e.exit;
    sock.end();
  });

  r.post('/exec/{id}/resize', async (req, res) => {
    const { h, w } = terminalSize(req.query);
    await execs.resize(req.params.id!, h, w);
    res.empty(200);
  });

  r.get('/exec/{id}/json', (req, res) => {
    res.json(200, execs.inspect(req.params.id!) satisfies ExecInspect);
  });
}
