import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../gen/playsmart/auth/v1/auth_pb.js";
import type { Accounts, TokenPair } from "../auth/accounts.js";
import type { GuestAccounts } from "../auth/guest-accounts.js";
import { optionalPlayer, principalOf, requirePlayer } from "../auth/principal.js";
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
 * `playsmart.auth.v1.AuthService`: public RPCs, no token needed, except
 * `LinkEmail` (a player's token) and `AuthenticateDevice` (a player's token
 * optional: it attaches the device). Its answers, errors included, get
 * `Cache-Control: no-store` from the RPC adapter.
 */
export function createAuthService(accounts: Accounts, guests: GuestAccounts): ServiceImpl<typeof AuthService> {
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
    async authenticateDevice(req, ctx) {
      const caller = optionalPlayer(principalOf(ctx));
      const signIn = await guests.authenticateDevice(req.deviceId, caller, ctx.values.get(requestInfoKey)?.clientIp);
      return { ...tokenPairMessage(signIn), created: signIn.created };
    },
    async linkEmail(req, ctx) {
      const userId = requirePlayer(principalOf(ctx));
      return guests.linkEmail(userId, req.email, req.password, ctx.values.get(requestInfoKey)?.clientIp);
    },
  };
}
