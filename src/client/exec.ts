/** Execs: create, start (detached or hijacked), inspect, resize. Methods of `EngineClient`. */
import { enc } from './wire.ts';
import type { EngineClient, HijackedStream } from './client.ts';
import type * as T from '../api/types/index.ts';

export const execCalls = {
  execCreate(this: EngineClient, container: string, config: T.ExecConfig): Promise<T.IdResponse> {
    return this.json('POST', `/containers/${enc(container)}/exec`, { json: config });
  },

  async execStartDetached(this: EngineClient, execId: string, tty = false): Promise<void> {
    const body: T.ExecStartConfig = { Detach: true, Tty: tty };
    await this.empty('POST', `/exec/${enc(execId)}/start`, { json: body });
  },

  execStart(
    this: EngineClient,
    execId: string,
    opts: { tty?: boolean; consoleSize?: [number, number] } = {},
  ): Promise<HijackedStream> {
    const body: T.ExecStartConfig = { Detach: false, Tty: !!opts.tty, ConsoleSize: opts.consoleSize };
    return this.hijack('POST', `/exec/${enc(execId)}/start`, { json: body });
  },

  execInspect(this: EngineClient, execId: string): Promise<T.ExecInspect> {
    return this.json('GET', `/exec/${enc(execId)}/json`);
  },

  async execResize(this: EngineClient, execId: string, height: number, width: number): Promise<void> {
    await this.empty('POST', `/exec/${enc(execId)}/resize`, { query: { h: height, w: width } });
  },
};
