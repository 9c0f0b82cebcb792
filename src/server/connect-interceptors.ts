import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "../auth/authenticator.js";
import { principalKey } from "../auth/principal.js";
import type { Logger } from "../logger.js";
import { isUnexpected, toConnectError } from "./error-map.js";
import { requestInfoKey } from "./request-info.js";

/** `invalid_argument` for Code.InvalidArgument: the spelling of the Connect protocol. */
export function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i > 0 ? "_" : "") + c.toLowerCase());
}

/**
 * Establishes the caller from the `Authorization` header for every RPC and puts
 * it in the request's context values. It refuses nothing itself: each handler
 * says what it needs (`requirePlayer`, `requireAdmin`), so public RPCs stay public.
 */
export function createAuthInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    const principal = await authenticator.authenticate(req.header.get("authorization"));
    req.contextValues.set(principalKey, principal);
    const info = req.contextValues.get(requestInfoKey);
    if (info && principal.kind === "player") info.userId = principal.userId;
    return next(req);
  };
}

/**
 * Maps domain errors to Connect codes in one place (`error-map.ts`); unexpected
 * errors are logged here with their cause and reach the client as `internal`.
 */
export function createErrorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    const info = req.contextValues.get(requestInfoKey);
    const map = (err: unknown): ConnectError => {
      if (isUnexpected(err)) log.error({ err, procedure: req.url, reqId: info?.id }, "unexpected error in RPC");
      const mapped: ConnectError = toConnectError(err);
      if (info) info.code = codeName(mapped.code);
      return mapped;
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        if (info) info.code = "ok";
        return res;
      }
      // A server stream's handler runs as its messages are read, after this
      // returned: its errors are mapped as they come out of the stream.
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
            if (info) info.code = "ok";
          } catch (err) {
            throw map(err);
          }
        })(),
      };
    } catch (err) {
      throw map(err);
    }
  };
}
