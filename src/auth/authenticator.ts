import { createHash, timingSafeEqual } from "node:crypto";
import type { AccessTokens } from "./access-tokens.js";
import type { Principal } from "./principal.js";

/** Turns an `Authorization` header into a {@link Principal}. */
export interface Authenticator {
  authenticate(authorization: string | null | undefined): Promise<Principal>;
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  tokens: AccessTokens;
  /** ADMIN_TOKEN; undefined means no request is ever an admin. */
  adminToken: string | undefined;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Shared by the REST routes and the Connect interceptor so both transports accept
 * exactly the same credentials. The admin token is compared in constant time.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const adminDigest = options.adminToken === undefined ? undefined : digest(options.adminToken);
  return {
    async authenticate(authorization) {
      if (!authorization) return { kind: "anonymous" };
      const match = /^Bearer +(\S+) *$/i.exec(authorization);
      if (match === null) return { kind: "invalid" };
      const token = match[1]!;
      if (adminDigest !== undefined && timingSafeEqual(digest(token), adminDigest)) return { kind: "admin" };
      try {
        return { kind: "player", userId: await options.tokens.verify(token) };
      } catch {
        return { kind: "invalid" };
      }
    },
  };
}
