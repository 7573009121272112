/**
 * Waiting on streams without leaking listeners: a socket's back-pressure (resolves when a socket
 * whose write returned false takes writes again, or is gone) and a writable's end (resolves
 * once everything is written, or the stream is gone).
 */
import type { EventEmitter } from 'node:events';
import type { Duplex, Writable } from 'node:stream';

export function drained(socket: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Ends a writable (after `last`, if given) and resolves once all of it is written, or it is gone. */
export function endStream(w: Writable, last?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (w.destroyed) return resolve();
    const e: EventEmitter = w;
    const done = () => {
      e.off('finish', done);
      e.off('close', done);
      e.off('error', done);
      resolve();
    };
    e.on('finish', done);
    e.on('close', done);
    e.on('error', done);
    if (last) w.end(last);
    else w.end();
  });
}
