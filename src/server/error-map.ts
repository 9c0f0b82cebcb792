import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "../../gen/playsmart/common/v1/errors_pb.js";
import { classifyMysqlError } from "../store/mysql-errors.js";
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
  type Violation,
} from "../errors.js";

/** The REST error body of the contract. */
export interface RestErrorBody {
  error: string;
  message: string;
  details?: Violation[];
}

/** A domain error as an HTTP answer for the REST routes. */
export interface HttpError {
  status: number;
  body: RestErrorBody;
  headers: Record<string, string>;
}

/** The challenge every 401 carries (RFC 6750). */
export const bearerChallenge = 'Bearer error="invalid_token"';

/**
 * Turns any thrown value into the REST answer. Domain errors keep their message;
 * anything else becomes a 500 whose body says nothing about the cause.
 */
export function toHttpError(raw: unknown): HttpError {
  const err = asDomainError(raw);
  if (err instanceof ValidationError) {
    return { status: 400, headers: {}, body: { error: "BAD_REQUEST", message: err.message, details: err.violations } };
  }
  if (err instanceof UnauthenticatedError) {
    return { status: 401, headers: { "www-authenticate": bearerChallenge }, body: { error: "UNAUTHORIZED", message: err.message } };
  }
  if (err instanceof PermissionDeniedError) {
    return { status: 403, headers: {}, body: { error: "FORBIDDEN", message: err.message } };
  }
  if (err instanceof NotFoundError) {
    return { status: 404, headers: {}, body: { error: "NOT_FOUND", message: err.message } };
  }
  if (err instanceof ConflictError) {
    return { status: 409, headers: {}, body: { error: "CONFLICT", message: err.message } };
  }
  if (err instanceof PayloadTooLargeError) {
    return { status: 413, headers: {}, body: { error: "PAYLOAD_TOO_LARGE", message: err.message } };
  }
  if (err instanceof UnsupportedMediaTypeError) {
    return { status: 415, headers: {}, body: { error: "UNSUPPORTED_MEDIA_TYPE", message: err.message } };
  }
  if (err instanceof RateLimitedError) {
    return {
      status: 429,
      headers: { "retry-after": String(err.retryAfterSeconds) },
      body: { error: "TOO_MANY_REQUESTS", message: err.message },
    };
  }
  if (err instanceof UnavailableError) {
    return {
      status: 503,
      headers: { "retry-after": String(err.retryAfterSeconds) },
      body: { error: "SERVICE_UNAVAILABLE", message: err.message },
    };
  }
  return { status: 500, headers: {}, body: { error: "INTERNAL", message: "internal error" } };
}

/**
 * Turns any thrown value into a ConnectError with typed details. A ConnectError
 * passes through; an unknown error becomes `internal` with no detail, its cause
 * kept only for the server's log.
 */
export function toConnectError(raw: unknown): ConnectError {
  if (raw instanceof ConnectError) return raw;
  const err = asDomainError(raw);
  if (err instanceof ValidationError) {
    return new ConnectError(err.message, Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: create(BadRequestSchema, { violations: err.violations }) },
    ]);
  }
  if (err instanceof UnauthenticatedError) {
    return new ConnectError(err.message, Code.Unauthenticated, { "www-authenticate": bearerChallenge });
  }
  if (err instanceof PermissionDeniedError) return new ConnectError(err.message, Code.PermissionDenied);
  if (err instanceof NotFoundError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof ConflictError) return new ConnectError(err.message, Code.AlreadyExists);
  if (err instanceof PayloadTooLargeError) return new ConnectError(err.message, Code.ResourceExhausted);
  if (err instanceof UnsupportedMediaTypeError) return new ConnectError(err.message, Code.InvalidArgument);
  if (err instanceof RateLimitedError || err instanceof UnavailableError) {
    const code = err instanceof RateLimitedError ? Code.ResourceExhausted : Code.Unavailable;
    return new ConnectError(err.message, code, { "retry-after": String(err.retryAfterSeconds) }, [
      { desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryAfterSeconds: err.retryAfterSeconds }) },
    ]);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/**
 * MySQL not answering (refused, lost connection, too many connections) is an
 * outage the client can wait out, like Redis down: 503 / UNAVAILABLE with a
 * Retry-After, not an internal error. Accounts and wallets need MySQL; ingest does not.
 */
function asDomainError(err: unknown): unknown {
  if (err instanceof Error && !(err instanceof UnavailableError) && classifyMysqlError(err) === "unavailable") {
    return new UnavailableError("the account store is unavailable, retry later", 2, { cause: err });
  }
  return err;
}

/** Whether an error is one the service did not expect (worth logging at error level). */
export function isUnexpected(err: unknown): boolean {
  return toHttpError(err).status === 500 && !(err instanceof ConnectError);
}
