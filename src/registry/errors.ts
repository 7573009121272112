/**
 * The distribution spec's error codes and the HTTP status each is answered with.
 *
 * Registry clients branch on the `code` in `{"errors":[{code,message,detail}]}` (docker says
 * "Layer already exists" or retries an upload because of it), so the registry speaks these
 * codes rather than errdefs categories. Storage code throws `RegistryError`s; anything else
 * reaching the handler is answered as UNKNOWN 500.
 */

/** The distribution spec's codes (its "Error codes" table), with their usual status. */
const SPEC_CODES = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
} as const;

export const ErrorCodes = {
  ...SPEC_CODES,
  // A chunk that does not start where the upload ends: the server answers it with the upload's
  // Range header so the client can resume; on the wire it is the spec's BLOB_UPLOAD_INVALID.
  RANGE_INVALID: 416,
  // A server fault (5xx), as distribution names it.
  UNKNOWN: 500,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;
export type SpecErrorCode = keyof typeof SPEC_CODES;

/** The code a response body carries: a spec code for every 4xx, whatever the code inside. */
export function wireCode(code: ErrorCode): SpecErrorCode | 'UNKNOWN' {
  if (code === 'RANGE_INVALID') return 'BLOB_UPLOAD_INVALID';
  return code;
}

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  constructor(code: ErrorCode, message: string, options: { detail?: unknown; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? ErrorCodes[code];
    this.detail = options.detail;
  }

  /** The spec's error body. */
  body(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const entry: { code: string; message: string; detail?: unknown } = {
      code: wireCode(this.code),
      message: this.message,
    };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}

export function registryError(code: ErrorCode, message: string, detail?: unknown): RegistryError {
  return new RegistryError(code, message, { detail });
}
