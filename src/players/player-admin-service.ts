import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Pool } from "mysql2/promise";
import type { ExportPlayerResponseSchema, PlayerAdminService } from "../../gen/playsmart/admin/v1/players_pb.js";
import { principalOf, requireAdmin } from "../auth/principal.js";
import { toEventMessage } from "./event-admin-service.js";
import type { PlayerErasure } from "./player-erasure.js";
import { exportPlayer, type ExportRecord } from "./player-export.js";

/** Options of {@link createPlayerAdminService}. */
export interface PlayerAdminServiceOptions {
  pool: Pool;
  erasure: PlayerErasure;
}

/**
 * `playsmart.admin.v1.PlayerAdminService`, for the admin token only. The export
 * is a server stream: one message per record, read from MySQL as the client
 * takes them.
 */
export function createPlayerAdminService(options: PlayerAdminServiceOptions): ServiceImpl<typeof PlayerAdminService> {
  const { pool, erasure } = options;
  return {
    async *exportPlayer(req, ctx) {
      requireAdmin(principalOf(ctx));
      for await (const record of exportPlayer(req.userId, { pool })) yield toExportMessage(record);
    },

    async deletePlayer(req, ctx) {
      requireAdmin(principalOf(ctx));
      const result = await erasure.erase(req.userId);
      const rowsDeleted: Record<string, bigint> = {};
      for (const [table, n] of Object.entries(result.rowsDeleted)) rowsDeleted[table] = BigInt(n);
      return { rowsDeleted, requestedAt: result.requestedAt };
    },
  };
}

/** One export record as a `playsmart.admin.v1.ExportPlayerResponse` init shape. */
export function toExportMessage(r: ExportRecord): MessageInitShape<typeof ExportPlayerResponseSchema> {
  switch (r.kind) {
    case "account":
      return {
        record: {
          case: "account",
          value: { userId: r.account.userId, email: r.account.email ?? "", hasPassword: r.account.hasPassword, createdAt: r.account.createdAt },
        },
      };
    case "device":
      return { record: { case: "device", value: r.device } };
    case "event":
      return { record: { case: "event", value: toEventMessage(r.event) } };
    case "coinAward": {
      const { eventId, gameId, amount, batchId, createdAt } = r.award;
      return { record: { case: "coinAward", value: { eventId, gameId, amount, batchId, createdAt } } };
    }
    case "wallet":
      return { record: { case: "wallet", value: r.wallet } };
  }
}
