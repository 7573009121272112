/**
 * Errors the client raises. `ApiError` is a daemon's refusal (an HTTP status >= 400, or an
 * error message inside a progress stream); `ConnectionError` means no daemon answered.
 */

export class ApiError extends Error {
  /** HTTP status of the refusal (500 for an error inside a progress stream). */
  readonly status: number;
  /** For stream errors: the code the daemon attached (a build step's exit code), else 0. */
  readonly code: number;
  constructor(status: number, message: string, opts: { code?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.status = status;
    this.code = opts.code ?? 0;
  }
}

/** An error message inside a progress stream (pull, build, load): printed without a prefix. */
export class StreamError extends ApiError {
  constructor(message: string, code = 0) {
    super(500, message, { code });
    this.name = 'StreamError';
  }
}

export class ConnectionError extends Error {
  readonly host: string;
  constructor(host: string, cause: unknown, message?: string) {
    super(message ?? `Cannot connect to the Berth daemon at ${host}. Is the berth daemon running?`, { cause });
    this.name = 'ConnectionError';
    this.host = host;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;

/**
 * The message of a Docker error body: `{"message": "..."}`, else the text itself, else the
 * status line (dockerd answers some errors with plain text, proxies with HTML).
 */
export function errorMessage(status: number, body: string, statusText = ''): string {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const m = (JSON.parse(text) as { message?: unknown }).message;
      if (typeof m === 'string') return m;
    } catch {
      // not JSON after all: fall through to the text
    }
  }
  return text || `${status} ${statusText}`.trim();
}
