/**
 * Signals by name and number, one table for the whole daemon: the API takes them as Docker
 * does (`9`, `KILL`, `sigkill`, `SIGRTMIN+3`), events report their numbers, and the runtime
 * driver sends them. The numbers are Linux's (the same on x86_64 and arm64).
 *
 * @example
 *   normaliseSignal('kill'); // 'SIGKILL'
 *   signalNumber('SIGTERM'); // 15
 */
import { invalidArgument } from '../errdefs/index.ts';

const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** The largest signal number Linux has (SIGRTMAX). */
const MAX_SIGNAL = 64;

/**
 * `9`, `KILL`, `sigkill`, `SIGKILL` → `SIGKILL`; a real-time signal stays a number (`40`) or
 * its name (`SIGRTMIN+3`). Throws InvalidArgument for anything else, with Docker's message.
 */
export function normaliseSignal(s: string): string {
  const up = s.trim().toUpperCase();
  if (/^\d+$/.test(up)) {
    const n = Number(up);
    const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
    if (name) return name;
    // 32 and 33 are glibc's own; SIGRTMIN is 34 for everyone else.
    if (n >= 34 && n <= MAX_SIGNAL) return String(n);
  } else {
    const name = up.startsWith('SIG') ? up : `SIG${up}`;
    if (name in SIGNALS) return name;
    if (/^SIGRTMIN(\+\d+)?$|^SIGRTMAX(-\d+)?$/.test(name)) return name;
  }
  throw invalidArgument(`Invalid signal: ${s}`);
}

/**
 * A signal's number, from a number or a name with or without `SIG`, in any case; undefined for
 * what the table does not name (the real-time names among them: the runtime resolves those).
 */
export function signalNumber(signal: string | number): number | undefined {
  if (typeof signal === 'number')
    return Number.isInteger(signal) && signal > 0 && signal <= MAX_SIGNAL ? signal : undefined;
  const s = signal.trim().toUpperCase();
  if (/^\d+$/.test(s)) return signalNumber(Number(s));
  return SIGNALS[s.startsWith('SIG') ? s : `SIG${s}`];
}
