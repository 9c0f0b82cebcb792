import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { PermissionDeniedError, UnauthenticatedError } from "../errors.js";

/** Who is calling, as established from the bearer token. */
export type Principal =
  | { kind: "player"; userId: string }
  | { kind: "admin" }
  | { kind: "anonymous" }
  /** A token was sent but did not verify; every cause looks the same to the caller. */
  | { kind: "invalid" };

/**
 * Carries the caller from the auth interceptor to the handlers, per request
 * (Connect `contextValues`), never through globals.
 */
export const principalKey = createContextKey<Principal>({ kind: "anonymous" });

/**
 * The user id of a player caller.
 * @throws UnauthenticatedError without a valid player token, PermissionDeniedError for the admin token.
 */
export function requirePlayer(principal: Principal): string {
  if (principal.kind === "player") return principal.userId;
  if (principal.kind === "admin") throw new PermissionDeniedError("this call needs a player token, not the admin token");
  throw new UnauthenticatedError();
}

/**
 * The user id of a player caller, or undefined for a call without a token (an
 * RPC open to both, such as device sign-in).
 * @throws UnauthenticatedError for a token that does not verify, PermissionDeniedError for the admin token.
 */
export function optionalPlayer(principal: Principal): string | undefined {
  return principal.kind === "anonymous" ? undefined : requirePlayer(principal);
}

/**
 * Passes only for the admin token.
 * @throws UnauthenticatedError without a token, PermissionDeniedError for a player token.
 */
export function requireAdmin(principal: Principal): void {
  if (principal.kind === "admin") return;
  if (principal.kind === "player") throw new PermissionDeniedError("this call needs the admin token");
  throw new UnauthenticatedError("missing or invalid admin token");
}

/** The principal of a Connect handler's request. */
export function principalOf(ctx: HandlerContext): Principal {
  return ctx.values.get(principalKey);
}
