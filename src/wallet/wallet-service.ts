import type { ServiceImpl } from "@connectrpc/connect";
import type { WalletService } from "../../gen/playsmart/wallet/v1/wallet_pb.js";
import { principalOf, requirePlayer } from "../auth/principal.js";
import type { Wallets } from "./wallets.js";

/** Options of {@link createWalletService}. */
export interface WalletServiceOptions {
  wallets: Wallets;
}

/**
 * `playsmart.wallet.v1.WalletService`: every call reads the wallet of the
 * token's own player; the admin token is refused.
 *
 * @example
 * router.service(WalletService, createWalletService({ wallets: createWallets({ pool }) }));
 */
export function createWalletService(options: WalletServiceOptions): ServiceImpl<typeof WalletService> {
  const { wallets } = options;
  return {
    async getBalance(_req, ctx) {
      const userId = requirePlayer(principalOf(ctx));
      return { userId, balance: await wallets.getBalance(userId) };
    },

    async listLedger(req, ctx) {
      const userId = requirePlayer(principalOf(ctx));
      const page = await wallets.listLedger(userId, { pageSize: req.pageSize, pageToken: req.pageToken });
      return {
        entries: page.entries.map((e) => ({ eventId: e.eventId, gameId: e.gameId, amount: e.amount, createdAt: e.createdAt })),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}
