/**
 * A user's image reference as the commands take it, apart from the image commands (images.ts):
 * `run` and `create` parse one on every call and need none of the rest.
 */
import { parseReference, type Reference } from '../spec/index.ts';
import { StatusError } from './cli.ts';

/** Parses a user's image reference; docker's message on failure. */
export function parseImageRef(s: string): Reference {
  try {
    return parseReference(s);
  } catch {
    throw new StatusError(
      1,
      `invalid reference format${s !== s.toLowerCase() ? `: repository name (${s.split(':')[0]}) must be lowercase` : ''}`,
    );
  }
}
