import type { Pool } from "mysql2/promise";
import { NotFoundError, ValidationError } from "../errors.js";
import { selectCoinAwardsChunk, type CoinAwardRecord } from "../store/ledger-repo.js";
import { hasEvents, selectAccount, selectDevices, type AccountRecord, type DeviceRecord } from "../store/player-data-repo.js";
import { selectEventsChunk, type EventCursor } from "../store/player-events-repo.js";
import { selectWallet, type WalletRecord } from "../store/wallets-repo.js";
import { toStoredEventView, type StoredEventView } from "./stored-event.js";

/** One record of a player's export. */
export type ExportRecord =
  | { kind: "account"; account: AccountRecord }
  | { kind: "device"; device: DeviceRecord }
  | { kind: "event"; event: StoredEventView }
  | { kind: "coinAward"; award: CoinAwardRecord }
  | { kind: "wallet"; wallet: WalletRecord };

/** Options of {@link exportPlayer}. */
export interface ExportPlayerOptions {
  pool: Pool;
  /** Rows read per query; memory holds about this many at a time. @default 1000 */
  chunkRows?: number;
}

/**
 * Everything held about one player, as a stream of records: account, devices,
 * events (oldest first by receive time), coin awards (oldest first), wallet.
 * Rows are read `chunkRows` at a time by key, and the next chunk only when the
 * consumer has taken the last one, so memory stays flat however many events
 * the player has. Refresh tokens (hashes of secrets), daily coin totals (sums
 * of the awards) and dead letters (failed requests kept for operators) are not
 * exported; an erasure removes them all. The export is not one snapshot: a
 * player still playing may show an award newer than the wallet read first.
 *
 * @throws ValidationError for a missing user id; NotFoundError when nothing is held.
 */
export async function* exportPlayer(userId: string, options: ExportPlayerOptions): AsyncGenerator<ExportRecord> {
  const { pool } = options;
  const chunk = options.chunkRows ?? 1000;
  if (userId === "" || userId.length > 64) {
    throw new ValidationError([{ index: -1, field: "user_id", reason: userId === "" ? "is required" : "must be at most 64 characters" }]);
  }
  const account = await selectAccount(pool, userId);
  const wallet = await selectWallet(pool, userId);
  if (!account && !wallet && !(await hasEvents(pool, userId))) throw new NotFoundError(`no data is held about player ${userId}`);
  if (account) yield { kind: "account", account };
  for (const device of await selectDevices(pool, userId)) yield { kind: "device", device };
  let after: EventCursor | undefined;
  for (;;) {
    const rows = await selectEventsChunk(pool, userId, after, chunk);
    for (const r of rows) yield { kind: "event", event: toStoredEventView(r) };
    const last = rows[rows.length - 1];
    if (!last || rows.length < chunk) break;
    after = { time: last.receivedAt, seq: last.seq };
  }
  let afterSeq = 0n;
  for (;;) {
    const rows = await selectCoinAwardsChunk(pool, userId, afterSeq, chunk);
    for (const award of rows) yield { kind: "coinAward", award };
    const last = rows[rows.length - 1];
    if (!last || rows.length < chunk) break;
    afterSeq = last.seq;
  }
  if (wallet) yield { kind: "wallet", wallet };
}
