import type { Pool } from "mysql2/promise";
import { ValidationError } from "../errors.js";
import { selectLedgerPage, type LedgerRecord } from "../store/ledger-repo.js";
import { decodePageToken, encodePageToken } from "../store/page-token.js";
import { selectBalance } from "../store/wallets-repo.js";

export type { LedgerRecord };

/** One page of a player's ledger. */
export interface LedgerPage {
  /** Awards, newest first. */
  entries: LedgerRecord[];
  /** Token of the next page; "" on the last page. */
  nextPageToken: string;
}

/** Options of {@link createWallets}. */
export interface WalletsOptions {
  pool: Pool;
}

/**
 * Reading players' coins: the domain behind WalletService and `GET /wallet`.
 * Only the worker writes coins, inside its ingest transaction.
 */
export interface Wallets {
  /** A player's balance across games; 0 for a player who never earned coins. */
  getBalance(userId: string): Promise<bigint>;
  /**
   * A player's awards, newest first. `pageSize` 0 means 20; larger than 100 is
   * read as 100.
   * @throws ValidationError (field `page_size` or `page_token`) for a negative
   *   size or a token this server did not issue.
   */
  listLedger(userId: string, request: { pageSize: number; pageToken: string }): Promise<LedgerPage>;
}

/** Largest page of {@link Wallets.listLedger}. */
export const maxLedgerPageSize = 100;
/** Page size of {@link Wallets.listLedger} when none is asked for. */
export const defaultLedgerPageSize = 20;

/** Wallets over MySQL. */
export function createWallets(options: WalletsOptions): Wallets {
  const { pool } = options;
  return {
    getBalance(userId) {
      return selectBalance(pool, userId);
    },

    async listLedger(userId, { pageSize, pageToken }) {
      if (!Number.isInteger(pageSize) || pageSize < 0) {
        throw new ValidationError([{ index: -1, field: "page_size", reason: "must be 0 (default) to 100" }]);
      }
      const size = pageSize === 0 ? defaultLedgerPageSize : Math.min(pageSize, maxLedgerPageSize);
      let before: bigint | undefined;
      if (pageToken !== "") {
        // The cursor is the last seq of the previous page.
        const cursor = decodePageToken(pageToken, (c) => /^[1-9][0-9]{0,18}$/.test(c));
        if (cursor === undefined) {
          throw new ValidationError([{ index: -1, field: "page_token", reason: "is not a token from a previous page" }]);
        }
        before = BigInt(cursor);
      }
      const rows = await selectLedgerPage(pool, userId, before, size + 1);
      const entries = rows.slice(0, size);
      const last = entries[entries.length - 1];
      return { entries, nextPageToken: rows.length > size && last ? encodePageToken(last.seq.toString()) : "" };
    },
  };
}
