/**
 * What a failed runtime command's stderr means to Berth's callers: runc, crun, runsc and the
 * VM shim word the same conditions (an unknown container, one in the wrong state) in their own
 * ways, and the API answers each with its category (404, 409, 500), as dockerd does.
 */
import { conflict, internal, notFound } from '../errdefs/index.ts';
import { runtimeError } from './conmon.ts';

/** How runc (`container does not exist`) and crun (`cannot open directory <state>`) say a container is unknown. */
const GONE = /does not exist|not found|cannot open directory/i;

/** Does the runtime's stderr say the container is unknown to it (already deleted)? */
export const saysGone = (stderr: string): boolean => GONE.test(stderr);

export function runcFailure(op: string, id: string, stderr: string) {
  const why = runtimeError(stderr);
  if (GONE.test(why)) return notFound(`${op} container "${id}": no such container`);
  if (
    /not running|not paused|already running|has stopped|not stopped|is paused|cannot start|cannot pause|cannot resume/i.test(
      why,
    )
  ) {
    return conflict(`${op} container "${id}": ${why}`);
  }
  return internal(`${op} container "${id}": ${why}`);
}
