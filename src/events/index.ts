/**
 * The event bus behind `docker events`: services publish, the API streams. A bounded ring of
 * recent events answers `--since` for the recent past.
 */
import { EventEmitter } from 'node:events';
import type { EventMessage } from '../api/types/index.ts';

export type EventFilter = (e: EventMessage) => boolean;

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly recent: EventMessage[] = [];
  private readonly keep: number;

  constructor(keep = 1024) {
    this.keep = keep;
    this.emitter.setMaxListeners(0);
  }

  publish(
    type: EventMessage['Type'],
    action: string,
    id: string,
    attributes: Record<string, string> = {},
  ): EventMessage {
    const nowNs = process.hrtime.bigint() - HR_START + START_NS;
    const e: EventMessage = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      e.status = action;
      e.id = id;
      if (attributes.image) e.from = attributes.image;
    }
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.shift();
    this.emitter.emit('event', e);
    return e;
  }

  /** Events already seen since `sinceNano` (inclusive), oldest first. */
  since(sinceNano: number): EventMessage[] {
    return this.recent.filter((e) => e.timeNano >= sinceNano);
  }

  subscribe(fn: (e: EventMessage) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}

const START_NS = BigInt(Date.now()) * 1_000_000n;
const HR_START = process.hrtime.bigint();
