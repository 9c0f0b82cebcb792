import type { RowDataPacket } from "mysql2/promise";
import { mysqlDatetimeToRfc3339, type Db } from "./sql-values.js";

/** A player's account as exported: never the password hash itself. */
export interface AccountRecord {
  userId: string;
  /** null for a guest. */
  email: string | null;
  hasPassword: boolean;
  /** RFC 3339, UTC. */
  createdAt: string;
}

/** A linked device, known by its hash. */
export interface DeviceRecord {
  /** Lower-case hex of the SHA-256 of the device id. */
  deviceHash: string;
  /** RFC 3339, UTC. */
  createdAt: string;
}

/** The account of a player, or undefined. */
export async function selectAccount(db: Db, userId: string): Promise<AccountRecord | undefined> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT user_id, email, password_hash IS NOT NULL AS has_password, created_at FROM users WHERE user_id = ?",
    [userId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    userId: r.user_id as string,
    email: (r.email as string | null) ?? null,
    hasPassword: Number(r.has_password) === 1,
    createdAt: mysqlDatetimeToRfc3339(r.created_at as string),
  };
}

/** A player's devices, oldest first (a player has a handful). */
export async function selectDevices(db: Db, userId: string): Promise<DeviceRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT LOWER(HEX(device_hash)) AS device_hash, created_at FROM devices WHERE user_id = ? ORDER BY created_at, device_hash",
    [userId],
  );
  return rows.map((r) => ({ deviceHash: r.device_hash as string, createdAt: mysqlDatetimeToRfc3339(r.created_at as string) }));
}

/** Whether a player has any event stored. */
export async function hasEvents(db: Db, userId: string): Promise<boolean> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT 1 FROM events WHERE user_id = ? LIMIT 1", [userId]);
  return rows.length > 0;
}
