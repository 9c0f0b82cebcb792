import type { Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "../auth/authenticator.js";
import { principalKey } from "../auth/principal.js";
import type { Logger } from "../logger.js";
import { isUnexpected, toConnectError } from "./error-map.js";

/**
 * Establishes the caller from the `Authorization` header for every RPC and puts
 * it in the request's context values. It refuses nothing itself: each handler
 * says what it needs (`requirePlayer`, `requireAdmin`), so public RPCs stay public.
 */
export function createAuthInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(principalKey, await authenticator.authenticate(req.header.get("authorization")));
    return next(req);
  };
}

/**
 * Maps domain errors to Connect codes in one place (`error-map.ts`); unexpected
 * errors are logged here with their cause and reach the client as `internal`.
 */
export function createErrorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (isUnexpected(err)) log.error({ err, procedure: req.url }, "unexpected error in RPC");
      throw toConnectError(err);
    }
  };
}
