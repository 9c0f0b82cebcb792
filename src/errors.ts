/**
 * Domain errors. Transports never build status codes themselves: they throw or
 * receive these, and `server/error-map.ts` turns them into Connect codes and HTTP
 * statuses in one place. Anything else that escapes becomes `internal`.
 */

/** One broken rule of a request. `index` is -1 for top-level fields. */
export interface Violation {
  index: number;
  field: string;
  reason: string;
}

/** The request breaks the contract; nothing was done. */
export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(
    readonly violations: Violation[],
    message = describeViolations(violations),
  ) {
    super(message);
  }
}

/** No usable credentials. Every cause gets the same answer, by design. */
export class UnauthenticatedError extends Error {
  override name = "UnauthenticatedError";
  constructor(message = "missing or invalid access token") {
    super(message);
  }
}

/** Valid credentials that may not do this. */
export class PermissionDeniedError extends Error {
  override name = "PermissionDeniedError";
}

/** Request body over the configured limit. */
export class PayloadTooLargeError extends Error {
  override name = "PayloadTooLargeError";
  constructor(readonly limitBytes: number) {
    super(`request body is larger than ${limitBytes} bytes`);
  }
}

/** The body is in an encoding (Content-Encoding) the route does not read. */
export class UnsupportedMediaTypeError extends Error {
  override name = "UnsupportedMediaTypeError";
}

/** The caller should slow down (rate limit or buffer high-water mark). */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A dependency (Redis, MySQL) does not answer; retrying later is safe. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The event buffer is over its bound: a form of unavailability the client can wait out. */
export class BufferFullError extends UnavailableError {
  override name = "BufferFullError";
}

/** The thing to create exists already (e.g. a taken email). */
export class ConflictError extends Error {
  override name = "ConflictError";
}

/** The thing asked for does not exist. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

function describeViolations(violations: Violation[]): string {
  const first = violations[0];
  if (!first) return "invalid request";
  const where = first.index >= 0 ? `events[${first.index}].${first.field}` : first.field;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return `${where}: ${first.reason}${more}`;
}
