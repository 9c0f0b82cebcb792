import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../gen/playsmart/auth/v1/auth_pb.js";
import type { Accounts, TokenPair } from "../auth/accounts.js";
import { requestInfoKey } from "./request-info.js";

/** A token pair in the wire shape shared by the RPCs and the REST routes. */
export function tokenPairMessage(pair: TokenPair) {
  return {
    userId: pair.userId,
    accessToken: pair.accessToken,
    tokenType: "Bearer",
    expiresIn: pair.expiresIn,
    refreshToken: pair.refreshToken,
  };
}

/**
 * `playsmart.auth.v1.AuthService`: public RPCs, no token needed. Its answers,
 * errors included, get `Cache-Control: no-store` from the RPC adapter.
 */
export function createAuthService(accounts: Accounts): ServiceImpl<typeof AuthService> {
  return {
    async register(req, ctx) {
      return tokenPairMessage(await accounts.register(req.email, req.password, ctx.values.get(requestInfoKey)?.clientIp));
    },
    async login(req, ctx) {
      return tokenPairMessage(await accounts.login(req.email, req.password, ctx.values.get(requestInfoKey)?.clientIp));
    },
    async refresh(req) {
      return tokenPairMessage(await accounts.refresh(req.refreshToken));
    },
  };
}
