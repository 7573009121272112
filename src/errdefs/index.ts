/**
 * Typed errors by category. Every layer throws these (wrapping the original as `cause`);
 * exactly one function per front end maps a category to its status: `httpStatus` for the
 * Engine API, `grpcCode` for the CRI.
 *
 * Messages follow the convention: lower case, what failed, the object quoted, then `: ` and
 * the cause, e.g. `remove container "web": container is running: stop it first or use force`.
 */
export type Category =
  | 'NotFound'
  | 'InvalidArgument'
  | 'AlreadyExists'
  | 'Conflict'
  | 'FailedPrecondition'
  | 'Unauthorized'
  | 'Forbidden'
  | 'Unavailable'
  | 'NotImplemented'
  | 'NotModified'
  | 'DeadlineExceeded'
  | 'Internal';

export class BerthError extends Error {
  readonly category: Category;
  constructor(category: Category, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.category = category;
    this.name = `${category}Error`;
  }
}

const make = (category: Category) => (message: string, cause?: unknown) =>
  new BerthError(category, message, cause === undefined ? undefined : { cause });

export const notFound = make('NotFound');
export const invalidArgument = make('InvalidArgument');
export const alreadyExists = make('AlreadyExists');
export const conflict = make('Conflict');
export const failedPrecondition = make('FailedPrecondition');
export const unauthorized = make('Unauthorized');
export const forbidden = make('Forbidden');
export const unavailable = make('Unavailable');
export const notImplemented = make('NotImplemented');
export const notModified = make('NotModified');
export const internal = make('Internal');
/** A call's own time limit ran out (CRI ExecSync's timeout): not the system's fault, not retried as is. */
export const deadlineExceeded = make('DeadlineExceeded');

/**
 * The category of an error: that of the first typed error on its `cause` chain, so wrapping a
 * typed error in a plain `Error` (or in another library's error) keeps it; Internal when the
 * chain holds none. A typed wrapper decides for what it wraps.
 */
export function categoryOf(err: unknown): Category {
  // A bounded walk: a cause chain may loop back on itself.
  for (let e = err, depth = 0; e instanceof Error && depth < 32; e = e.cause, depth++) {
    if (e instanceof BerthError) return e.category;
  }
  return 'Internal';
}

export function is(err: unknown, category: Category): boolean {
  return categoryOf(err) === category;
}

/** The one mapping from category to HTTP status, as Docker's errdefs/http_helpers does it. */
export function httpStatus(err: unknown): number {
  switch (categoryOf(err)) {
    case 'NotFound':
      return 404;
    case 'InvalidArgument':
      return 400;
    case 'AlreadyExists':
      return 409;
    case 'Conflict':
      return 409;
    case 'FailedPrecondition':
      return 412;
    case 'Unauthorized':
      return 401;
    case 'Forbidden':
      return 403;
    case 'Unavailable':
      return 503;
    case 'NotImplemented':
      return 501;
    case 'NotModified':
      return 304;
    default:
      return 500;
  }
}

/** gRPC's status codes (grpc/doc/statuscodes.md), by the names its libraries give them. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * The one mapping from category to gRPC status code, as containerd's errdefs does it for its
 * CRI plugin. A conflict (a name in use, an object in the wrong state) and "not modified"
 * (already in the state asked for; HTTP's 304) are the system not being in the state the call
 * needs: FAILED_PRECONDITION, which kubelet reports and retries.
 */
export function grpcCode(err: unknown): number {
  switch (categoryOf(err)) {
    case 'NotFound':
      return GrpcCode.NOT_FOUND;
    case 'InvalidArgument':
      return GrpcCode.INVALID_ARGUMENT;
    case 'AlreadyExists':
      return GrpcCode.ALREADY_EXISTS;
    case 'Conflict':
    case 'FailedPrecondition':
    case 'NotModified':
      return GrpcCode.FAILED_PRECONDITION;
    case 'Unauthorized':
      return GrpcCode.UNAUTHENTICATED;
    case 'Forbidden':
      return GrpcCode.PERMISSION_DENIED;
    case 'Unavailable':
      return GrpcCode.UNAVAILABLE;
    case 'NotImplemented':
      return GrpcCode.UNIMPLEMENTED;
    case 'DeadlineExceeded':
      return GrpcCode.DEADLINE_EXCEEDED;
    default:
      return GrpcCode.INTERNAL;
  }
}

/** A message safe to show a client: the error's own, with its causes appended. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
